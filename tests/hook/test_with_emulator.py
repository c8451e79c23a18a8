"""The hook end to end against the Code Ocean emulator: real runs, result files, and injected faults."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_codeocean.errors import CodeOceanConnectionError, CodeOceanServerError
from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook
from airflow_provider_codeocean.models import DataAssetParams, RunParams
from airflow_provider_codeocean.models.params import ComputationSource
from airflow_provider_codeocean.testing import ECHO_CAPSULE_ID, FAILING_CAPSULE_ID


@pytest.fixture
def emulator(codeocean_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    # The plugin's connection, with fast retries so faults cost no time.
    monkeypatch.setenv(
        "AIRFLOW_CONN_CODEOCEAN_DEFAULT",
        json.dumps(
            {
                "conn_type": "codeocean",
                "host": codeocean_emulator.base_url,
                "password": codeocean_emulator.token,
                "extra": {"retry_backoff": 0.01, "retry_max_wait": 0.02, "retry_limit": 3},
            }
        ),
    )
    return codeocean_emulator


def test_run_wait_and_read_results(emulator: Any, tmp_path: Path) -> None:
    hook = CodeOceanHook()

    run = hook.run_computation(RunParams.build(capsule_id=ECHO_CAPSULE_ID, named_parameters={"message": "hi"}))
    done = hook.wait_for_computation(run.id, poll_interval=0.05, timeout=60)

    assert done.succeeded, done.describe()
    paths = sorted(f.path for f in hook.walk_results(run.id))
    assert {"summary.txt", "details/args.txt", "output"} <= set(paths)
    assert b"hi" in hook.read_result_file(run.id, "details/args.txt")
    assert hook.download_result_file(run.id, "summary.txt", tmp_path / "s.txt") == (tmp_path / "s.txt").stat().st_size
    assert [c.id for c in hook.list_computations(ECHO_CAPSULE_ID)] == [run.id]


def test_a_failing_run_is_failed(emulator: Any) -> None:
    hook = CodeOceanHook()

    run = hook.run_computation(RunParams.build(capsule_id=FAILING_CAPSULE_ID))
    done = hook.wait_for_computation(run.id, poll_interval=0.05, timeout=60)

    assert done.failed and done.exit_code == 3 and not done.succeeded


@pytest.mark.parametrize(
    ("kind", "error"), [("ambiguous:502", CodeOceanServerError), ("ambiguous:reset", CodeOceanConnectionError)]
)
def test_an_ambiguous_run_is_created_exactly_once(emulator: Any, kind: str, error: type[Exception]) -> None:
    # Created on the server, but the client got no answer: the hook must not send it again.
    emulator.add_fault(f"{kind} method=POST path=/api/v1/computations times=1")
    hook = CodeOceanHook()

    with pytest.raises(error):
        hook.run_computation(RunParams.build(capsule_id=ECHO_CAPSULE_ID))

    assert emulator.count_computations(ECHO_CAPSULE_ID) == 1
    # The caller can find what it created.
    assert len(hook.list_computations(ECHO_CAPSULE_ID)) == 1


def test_an_ambiguous_data_asset_is_created_exactly_once(emulator: Any) -> None:
    hook = CodeOceanHook()
    run = hook.run_computation(RunParams.build(capsule_id=ECHO_CAPSULE_ID))
    hook.wait_for_computation(run.id, poll_interval=0.05, timeout=60)
    before = emulator.count_data_assets()
    emulator.add_fault("ambiguous:502 method=POST path=/api/v1/data_assets times=1")

    with pytest.raises(CodeOceanServerError):
        hook.create_data_asset(
            DataAssetParams(name="captured", mount="captured", tags=["t"], source=ComputationSource(id=run.id))
        )

    assert emulator.count_data_assets() == before + 1
    (asset,) = [a for a in hook.search_data_assets("captured") if a.name == "captured"]
    ready = hook.wait_for_data_asset(asset.id, poll_interval=0.05, timeout=60)
    assert ready.ready and ready.tags == ["t"]


def test_gets_ride_out_429_and_5xx_faults(emulator: Any) -> None:
    hook = CodeOceanHook()
    run = hook.run_computation(RunParams.build(capsule_id=ECHO_CAPSULE_ID))
    emulator.add_fault("429 retry_after=0 method=GET path=/api/v1/computations/* times=1")
    emulator.add_fault("503 method=GET path=/api/v1/computations/* times=1")
    emulator.add_fault("reset method=GET path=/api/v1/computations/* times=1")

    assert hook.get_computation(run.id).id == run.id

    async def poll() -> str:
        emulator.add_fault("502-html method=GET path=/api/v1/computations/* times=2")
        async with CodeOceanHook() as async_hook:
            return (await async_hook.aget_computation(run.id)).id

    assert asyncio.run(poll()) == run.id
