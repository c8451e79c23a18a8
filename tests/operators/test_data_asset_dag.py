"""End to end with ``dag.test()``: data assets (sync and deferrable) and a run → capture → download chain."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.dagtest import run_dag, task_states
from tests.operators.test_data_asset_support import ECHO, NESTED, run_capsule

MODES = ["data_asset_e2e_sync", "data_asset_e2e_deferrable"]


@pytest.mark.parametrize("dag_id", MODES)
def test_capture_sense_update_search_end_to_end(dag_id: str, codeocean_emulator: Any, airflow_db: None) -> None:
    computation = run_capsule(codeocean_emulator, ECHO, ["hello"])
    name = f"captured-{dag_id}"

    dag_run = run_dag(
        "data_asset_e2e",
        dag_id,
        {"name": name, "computation_id": computation["id"], "tags": ["e2e"], "custom_metadata": {"project": "p"}},
    )

    assert task_states(dag_run) == dict.fromkeys(["capture", "sense", "update", "search", "check"], "success")
    assets = list(codeocean_emulator.app.store.data_assets.values())
    assert len(assets) == 1
    assert assets[0].name == name
    assert assets[0].custom_metadata == {"project": "p", "modality": "imaging"}
    assert {"e2e", "reviewed"} <= set(assets[0].tags)


@pytest.mark.parametrize("dag_id", MODES)
def test_a_failed_asset_fails_the_capture_task(dag_id: str, codeocean_emulator: Any, airflow_db: None) -> None:
    dag_run = run_dag("data_asset_e2e", dag_id, {"name": "broken", "aws_source": {"bucket": "no-such-bucket"}})

    states = task_states(dag_run)
    assert states["capture"] == "failed"
    assert states["sense"] == "upstream_failed"
    assert codeocean_emulator.count_data_assets() == 1


@pytest.mark.parametrize("dag_id", MODES)
def test_capturing_a_failed_run_fails_before_creating(dag_id: str, codeocean_emulator: Any, airflow_db: None) -> None:
    from tests.operators.test_data_asset_support import FAILING

    computation = run_capsule(codeocean_emulator, FAILING)
    dag_run = run_dag("data_asset_e2e", dag_id, {"name": "nope", "computation_id": computation["id"]})

    assert task_states(dag_run)["capture"] == "failed"
    assert codeocean_emulator.count_data_assets() == 0


@pytest.mark.parametrize("dag_id", MODES)
def test_an_ambiguous_create_still_gives_one_asset(dag_id: str, codeocean_emulator: Any, airflow_db: None) -> None:
    codeocean_emulator.add_fault("ambiguous:502 method=POST path=/api/v1/data_assets times=1")
    dag_run = run_dag("data_asset_e2e", dag_id, {"name": "once", "aws_source": {"bucket": "raw-data"}})

    assert task_states(dag_run)["check"] == "success"
    assert codeocean_emulator.count_data_assets() == 1


def test_run_capture_download_read_chain(codeocean_emulator: Any, airflow_db: None, tmp_path: Path) -> None:
    destination = tmp_path / "out"
    dag_run = run_dag("data_asset_e2e", "data_asset_chain", {"capsule_id": NESTED, "destination": str(destination)})

    assert set(task_states(dag_run).values()) == {"success"}
    (computation,) = codeocean_emulator.computations(NESTED)
    results = codeocean_emulator.run_dir(computation["id"]) / "results"
    expected = {p.relative_to(results).as_posix(): _sha256(p) for p in results.rglob("*") if p.is_file()}
    written = {p.relative_to(destination).as_posix(): _sha256(p) for p in destination.rglob("*") if p.is_file()}
    assert "a/b/c/blob.bin" in written
    assert written == expected
    assert codeocean_emulator.count_data_assets() == 1


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
