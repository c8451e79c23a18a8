"""No second run after a dead worker, on every Airflow: a retry adopts the run of its try lineage.

The lineage is read from Airflow's own bookkeeping (``max_tries - retries``), so the clears here are
Airflow's real ``clear_task_instances`` on a real task instance in the test metadata database, and the
workers that die are real processes (``os._exit``), without a task state store (Airflow before 3.3).
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.airflow_version import AIRFLOW_V_3_0_ONLY, ON_30_DAG_TEST
from tests.dagtest import run_dag
from tests.operators.test_computation_support import LONG, make_context, make_operator

REPO = Path(__file__).resolve().parents[2]
RETRIES = 2


def lineage_context(try_number: int, max_tries: int, **kwargs: Any) -> dict[str, Any]:
    context = make_context(try_number=try_number, **kwargs)
    context["ti"].max_tries = max_tries
    return context


def die_while_waiting(tmp_path: Path, capsule_id: str, try_number: int, max_tries: int, **kwargs: Any) -> None:
    """A worker process that starts the run, then is killed while it waits (no task state store)."""
    script = tmp_path / f"worker_{try_number}.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os
            from tests.operators.test_computation_support import make_context, make_operator

            context = make_context(try_number={try_number}, **{kwargs!r})
            context["ti"].max_tries = {max_tries}
            op = make_operator(capsule_id={capsule_id!r}, retries={RETRIES})
            op._wait = lambda *args, **kwargs: os._exit(17)
            op.execute(context)
            """
        )
    )
    worker = subprocess.run(
        [sys.executable, str(script)], check=False, cwd=REPO, env=dict(os.environ), capture_output=True
    )
    assert worker.returncode == 17, worker.stderr.decode()[-2000:]


def test_a_retry_adopts_the_run_that_succeeded_while_the_worker_was_dead(emulator: Any, tmp_path: Path) -> None:
    die_while_waiting(tmp_path, LONG, try_number=1, max_tries=RETRIES)
    (run,) = emulator.computations(LONG)
    emulator.complete_computation(run["id"])

    result = make_operator(capsule_id=LONG, retries=RETRIES).execute(lineage_context(2, RETRIES))

    assert result["id"] == run["id"]
    assert result["end_status"] == "succeeded"
    assert emulator.counts(LONG)["computations_created"] == 1


def test_a_retry_reports_the_run_that_failed_while_the_worker_was_dead(emulator: Any, tmp_path: Path) -> None:
    from airflow.providers.common.compat.sdk import AirflowFailException

    from airflow_provider_codeocean.errors import CodeOceanRunFailedError

    die_while_waiting(tmp_path, LONG, try_number=1, max_tries=RETRIES)
    (run,) = emulator.computations(LONG)
    emulator.complete_computation(run["id"], end_status="failed", exit_code=2)

    op = make_operator(capsule_id=LONG, retries=RETRIES, retry_on_run_failure=False)
    with pytest.raises(CodeOceanRunFailedError, match="exit_code=2") as raised:
        op.execute(lineage_context(2, RETRIES))

    assert isinstance(raised.value, AirflowFailException)
    assert emulator.counts(LONG)["computations_created"] == 1


def clear(dag_run: Any, task_id: str) -> Any:
    """Airflow's own clear of one task instance; returns the task instance as the clear left it."""
    from airflow.models.taskinstance import TaskInstance, clear_task_instances
    from airflow.utils.session import create_session

    from tests.dagtest import load_dag

    with create_session() as session:
        ti = (
            session.query(TaskInstance)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, map_index=-1)
            .one()
        )
        kwargs: dict[str, Any] = {}
        if "dag" in inspect.signature(clear_task_instances).parameters:  # Airflow 2.11
            kwargs["dag"] = load_dag("computation_lineage", "computation_lineage")
        clear_task_instances([ti], session, **kwargs)
        session.flush()
        session.refresh(ti)
        session.expunge(ti)
        return ti


def finished_task_instance(dag_run: Any, task_id: str) -> Any:
    (ti,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == task_id]
    return ti


@pytest.mark.skipif(AIRFLOW_V_3_0_ONLY, reason=ON_30_DAG_TEST)
def test_a_real_clear_runs_again_and_its_retries_adopt_the_cleared_lineages_run(
    codeocean_emulator: Any, airflow_db: None, tmp_path: Path
) -> None:
    from tests.dags.computation_lineage import SIMULATED

    dag_run = run_dag("computation_lineage", "computation_lineage")
    done = finished_task_instance(dag_run, "run")
    assert str(done.state) == "success"
    assert (done.try_number, done.max_tries) == (1, RETRIES)  # first lineage: first try 1
    (first,) = codeocean_emulator.computations(SIMULATED)
    assert first["name"].endswith("/1]")  # the real task instance's max_tries - retries + 1
    where = {"dag_id": dag_run.dag_id, "run_id": dag_run.run_id}

    # A retry of the first lineage (a worker that died after the run finished) adopts its run.
    adopted = make_operator(capsule_id=SIMULATED, retries=RETRIES).execute(lineage_context(2, RETRIES, **where))
    assert adopted["id"] == first["id"]
    assert codeocean_emulator.counts(SIMULATED)["computations_created"] == 1

    cleared = clear(dag_run, "run")
    # What the lineage rule reads: a clear sets max_tries = try_number + retries.
    assert cleared.max_tries == cleared.try_number + RETRIES
    next_try = cleared.try_number + 1

    # The cleared task's first try runs again, and its worker dies after starting the run.
    die_while_waiting(tmp_path, SIMULATED, try_number=next_try, max_tries=cleared.max_tries, **where)
    assert codeocean_emulator.counts(SIMULATED)["computations_created"] == 2
    second = max(codeocean_emulator.computations(SIMULATED), key=lambda c: c["created"])
    assert second["name"].endswith(f"/{next_try}]")
    codeocean_emulator.wait_for_computation(second["id"])

    # Its retry adopts the cleared lineage's run, not the first lineage's, and starts nothing.
    retried = make_operator(capsule_id=SIMULATED, retries=RETRIES).execute(
        lineage_context(next_try + 1, cleared.max_tries, **where)
    )
    assert retried["id"] == second["id"] != first["id"]
    assert codeocean_emulator.counts(SIMULATED)["computations_created"] == 2
