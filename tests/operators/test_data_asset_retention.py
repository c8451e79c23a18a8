"""Archive, unarchive and delete data assets against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_codeocean.errors import CodeOceanConfigError, CodeOceanConflictError
from airflow_provider_codeocean.operators.data_asset import CodeOceanCreateDataAssetOperator
from airflow_provider_codeocean.operators.data_asset_retention import (
    CodeOceanArchiveDataAssetOperator,
    CodeOceanDeleteDataAssetOperator,
    CodeOceanUnarchiveDataAssetOperator,
)
from tests.operators.test_data_asset_support import TINY, make_context


def make_asset(name: str = "raw session") -> dict[str, Any]:
    return CodeOceanCreateDataAssetOperator(
        task_id="make", name=name, aws_source={"bucket": "raw-data"}, idempotent=False, poll_interval=TINY
    ).execute(make_context())


def archived(emulator: Any, asset_id: str) -> bool:
    with emulator.app.store.lock:
        return bool(emulator.app.store.data_asset(asset_id).archived)


def test_archive_and_unarchive(codeocean_emulator: Any) -> None:
    asset = make_asset()
    assert CodeOceanArchiveDataAssetOperator(task_id="a", data_asset_id=asset).execute(make_context()) == asset["id"]
    assert archived(codeocean_emulator, asset["id"])
    # Twice is harmless.
    CodeOceanArchiveDataAssetOperator(task_id="a", data_asset_id=asset["id"]).execute(make_context())
    assert archived(codeocean_emulator, asset["id"])
    CodeOceanUnarchiveDataAssetOperator(task_id="u", data_asset_id=asset["id"]).execute(make_context())
    assert not archived(codeocean_emulator, asset["id"])


@pytest.mark.parametrize("confirm", [False, "yes", 1, None])
def test_delete_needs_an_explicit_confirm_true_at_parse_time(confirm: Any) -> None:
    with pytest.raises(CodeOceanConfigError, match="confirm=True"):
        CodeOceanDeleteDataAssetOperator(task_id="d", data_asset_id="x", confirm=confirm)


def test_delete_is_idempotent(
    codeocean_emulator: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    asset = make_asset()
    op = CodeOceanDeleteDataAssetOperator(task_id="d", data_asset_id=asset, confirm=True)
    assert op.execute(make_context()) == asset["id"]
    assert codeocean_emulator.count_data_assets() == 0
    # A retry, or a second DAG run, finds it gone and succeeds.
    capsys.readouterr()
    with caplog.at_level("INFO"):
        assert op.execute(make_context()) == asset["id"]
    # Airflow 3 logs through structlog (stdout), Airflow 2 through logging.
    assert f"Data asset {asset['id']} is already gone" in caplog.text + capsys.readouterr().out


def test_delete_answered_ambiguously_succeeds_on_retry(codeocean_emulator: Any) -> None:
    asset = make_asset()
    codeocean_emulator.add_fault("ambiguous:502 times=1 method=DELETE path=/api/v1/data_assets/*")
    op = CodeOceanDeleteDataAssetOperator(task_id="d", data_asset_id=asset["id"], confirm=True)
    # The server deleted the asset but the answer was lost: the resent DELETE sees 404, which is success.
    assert op.execute(make_context()) == asset["id"]
    assert codeocean_emulator.count_data_assets() == 0


def test_delete_refused_while_in_use_says_why(codeocean_emulator: Any) -> None:
    asset = make_asset()
    codeocean_emulator.add_fault("409 times=1 method=DELETE path=/api/v1/data_assets/*")
    op = CodeOceanDeleteDataAssetOperator(task_id="d", data_asset_id=asset["id"], confirm=True)
    with pytest.raises(CodeOceanConflictError, match="in use"):
        op.execute(make_context())
    assert codeocean_emulator.count_data_assets() == 1
