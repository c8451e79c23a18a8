"""End to end with ``dag.test()``: the synchronous and the deferrable path against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dagtest import run_dag, task_states
from tests.operators.test_computation_support import ECHO, FAILING

MODES = ["computation_e2e_sync", "computation_e2e_deferrable"]


@pytest.mark.parametrize("dag_id", MODES)
def test_a_run_succeeds_end_to_end(dag_id: str, codeocean_emulator: Any, airflow_db: None) -> None:
    dag_run = run_dag(
        "computation_e2e",
        dag_id,
        {"capsule_id": ECHO, "named_parameters": {"message": "hello", "repeat": "2"}},
    )

    assert task_states(dag_run) == {"run": "success", "sense": "success", "check": "success"}
    runs = codeocean_emulator.computations(ECHO)
    assert len(runs) == 1
    assert runs[0]["end_status"] == "succeeded"
    assert runs[0]["name"].startswith(f"airflow:{dag_id}:")
    assert [p["value"] for p in runs[0]["parameters"]] == ["hello", "2"]
    assert codeocean_emulator.counts()["computations_created"] == 1


@pytest.mark.parametrize("dag_id", MODES)
def test_a_failed_run_fails_the_task(dag_id: str, codeocean_emulator: Any, airflow_db: None) -> None:
    dag_run = run_dag("computation_e2e", dag_id, {"capsule_id": FAILING})

    states = task_states(dag_run)
    assert states["run"] == "failed"
    assert states["sense"] == "upstream_failed"
    assert codeocean_emulator.counts()["computations_created"] == 1
