"""No duplicate runs: ambiguous submit failures, crashes between submit and wait, retries.

Every test ends by counting what the emulator created: the only proof that counts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_codeocean.errors import CodeOceanRunFailedError
from airflow_provider_codeocean.operators.computation import STATE_COMPUTATION_ID, STATE_SUBMIT_STARTED, run_marker
from tests.airflow_version import AIRFLOW_V_3_0_ONLY, ON_30_DAG_TEST
from tests.dagtest import run_dag
from tests.operators.test_computation_support import (
    ECHO,
    FAILING,
    LONG,
    SIMULATED,
    FakeStateStore,
    hook,
    make_context,
    make_operator,
    next_try,
    start_run,
)

REPO = Path(__file__).resolve().parents[2]


class WorkerDied(Exception):
    """Stands in for a worker that died at some point of execute()."""


def created(emulator: Any, capsule_id: str) -> int:
    return int(emulator.counts(capsule_id)["computations_created"])


def post_attempts(emulator: Any) -> int:
    return sum(1 for r in emulator.requests() if r["method"] == "POST" and r["path"] == "/api/v1/computations")


@pytest.mark.parametrize("fault", ["ambiguous:502", "ambiguous:reset", "ambiguous:504"])
def test_ambiguous_submit_failure_finds_the_run_instead_of_starting_another(emulator: Any, fault: str) -> None:
    emulator.add_fault(f"{fault} method=POST path=/api/v1/computations times=1")
    context = make_context()

    result = make_operator(capsule_id=ECHO, named_parameters={"message": "one", "repeat": "1"}).execute(context)

    assert created(emulator, ECHO) == 1
    assert post_attempts(emulator) == 1
    assert result["end_status"] == "succeeded"
    (run,) = emulator.computations(ECHO)
    assert run["id"] == result["id"]
    # The lineage of a first try with no retries: max_tries 0 - retries 0 + 1.
    assert run["name"].endswith(f"[{run_marker('computation_tests', 'manual__1', 'run', -1)}/1]")


def test_submit_that_failed_before_reaching_the_server_is_sent_again_once(emulator: Any) -> None:
    emulator.add_fault("503 method=POST path=/api/v1/computations times=1")
    op = make_operator(capsule_id=SIMULATED)
    op.reconcile_delays = (0.0, 0.01)

    result = op.execute(make_context())

    assert result["end_status"] == "succeeded"
    assert post_attempts(emulator) == 2
    assert created(emulator, SIMULATED) == 1


def test_submit_that_keeps_failing_gives_up_with_the_api_error(emulator: Any) -> None:
    from airflow_provider_codeocean.errors import CodeOceanServerError

    emulator.add_fault("503 method=POST path=/api/v1/computations")
    op = make_operator(capsule_id=SIMULATED)
    op.reconcile_delays = (0.0,)

    with pytest.raises(CodeOceanServerError):
        op.execute(make_context())

    assert post_attempts(emulator) == op.submit_attempts
    assert created(emulator, SIMULATED) == 0


def test_submit_is_not_sent_again_when_the_runs_cannot_be_listed(emulator: Any) -> None:
    # Nothing proves the failed request started nothing: sending it again could start a second run.
    from airflow_provider_codeocean.errors import CodeOceanServerError

    emulator.add_fault("ambiguous:502 method=POST path=/api/v1/computations times=1")
    emulator.add_fault(f"503 method=GET path=/api/v1/capsules/{SIMULATED}/computations")
    op = make_operator(capsule_id=SIMULATED)
    op.reconcile_delays = (0.0, 0.01)

    with pytest.raises(CodeOceanServerError):
        op.execute(make_context())

    assert post_attempts(emulator) == 1
    assert created(emulator, SIMULATED) == 1


def test_a_foreign_run_started_meanwhile_is_not_taken(emulator: Any) -> None:
    # Someone else's identical run, already named by its owner.
    foreign = start_run(ECHO, parameters=["same"])
    hook().rename_computation(foreign, "someone else's run")
    emulator.add_fault("ambiguous:502 method=POST path=/api/v1/computations times=1")

    result = make_operator(capsule_id=ECHO, parameters=["same"]).execute(make_context())

    assert result["id"] != foreign
    assert created(emulator, ECHO) == 2
    assert emulator.computation(foreign)["name"] == "someone else's run"


def test_a_run_with_other_parameters_is_not_taken(emulator: Any) -> None:
    other = start_run(ECHO, parameters=["different"])
    emulator.add_fault("ambiguous:502 method=POST path=/api/v1/computations times=1")

    result = make_operator(capsule_id=ECHO, parameters=["mine"]).execute(make_context())

    assert result["id"] != other
    assert emulator.computation(other)["name"].startswith("Run ")
    assert created(emulator, ECHO) == 2


def test_retry_after_a_crash_between_submit_and_wait_reattaches(emulator: Any) -> None:
    op = make_operator(capsule_id=LONG)
    op._wait = _die  # type: ignore[method-assign]
    first = make_context()
    with pytest.raises(WorkerDied):
        op.execute(first)
    (run,) = emulator.computations(LONG)

    # The retry runs in a "fresh process": a new operator object, the next try number.
    retry = make_operator(capsule_id=LONG)
    _finish_on_first_poll(retry, emulator)
    result = retry.execute(next_try(first))

    assert result["id"] == run["id"]
    assert result["end_status"] == "succeeded"
    assert created(emulator, LONG) == 1


def test_retry_reattaches_to_a_run_that_is_still_going_deferred(emulator: Any) -> None:
    from airflow.providers.common.compat.sdk import TaskDeferred

    op = make_operator(capsule_id=LONG, deferrable=True)
    op.hook.get_computation = _die  # type: ignore[method-assign]  # dies before deferring
    first = make_context()
    with pytest.raises(WorkerDied):
        op.execute(first)
    (run,) = emulator.computations(LONG)

    with pytest.raises(TaskDeferred) as deferred:
        make_operator(capsule_id=LONG, deferrable=True).execute(next_try(first))

    assert deferred.value.trigger.computation_id == run["id"]
    assert created(emulator, LONG) == 1


def test_a_worker_process_killed_after_submit_leaves_one_run(emulator: Any, tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(
        textwrap.dedent(
            """
            import os
            from tests.operators.test_computation_support import LONG, make_context, make_operator

            op = make_operator(capsule_id=LONG)
            op._wait = lambda *args, **kwargs: os._exit(17)  # the worker is killed while waiting
            op.execute(make_context())
            """
        )
    )
    worker = subprocess.run(
        [sys.executable, str(script)], check=False, cwd=REPO, env=dict(os.environ), capture_output=True
    )
    assert worker.returncode == 17, worker.stderr.decode()[-2000:]
    (run,) = emulator.computations(LONG)

    retry = make_operator(capsule_id=LONG)
    _finish_on_first_poll(retry, emulator)
    result = retry.execute(make_context(try_number=2))

    assert result["id"] == run["id"]
    assert created(emulator, LONG) == 1


def test_crash_before_the_run_was_named_is_recovered_through_the_task_state_store(emulator: Any) -> None:
    store = FakeStateStore()
    op = make_operator(capsule_id=SIMULATED, parameters=["p"])
    op._claim = _die  # type: ignore[method-assign]  # dies right after POST returned, before naming
    first = make_context(store=store)
    with pytest.raises(WorkerDied):
        op.execute(first)
    assert STATE_SUBMIT_STARTED in store.data
    (run,) = emulator.computations(SIMULATED)
    assert run["name"].startswith("Run ")

    result = make_operator(capsule_id=SIMULATED, parameters=["p"]).execute(next_try(first))

    assert result["id"] == run["id"]
    assert created(emulator, SIMULATED) == 1
    assert STATE_SUBMIT_STARTED not in store.data
    assert STATE_COMPUTATION_ID not in store.data  # delivered
    assert emulator.computation(run["id"])["name"].startswith("airflow:")


def test_stored_id_finds_a_run_that_succeeded_while_the_worker_was_dead(emulator: Any) -> None:
    store = FakeStateStore()
    op = make_operator(capsule_id=LONG)
    op._wait = _die  # type: ignore[method-assign]
    first = make_context(store=store)
    with pytest.raises(WorkerDied):
        op.execute(first)
    (run,) = emulator.computations(LONG)
    hook().rename_computation(run["id"], "renamed in the UI")
    emulator.complete_computation(run["id"])

    result = make_operator(capsule_id=LONG).execute(next_try(first))

    assert result["id"] == run["id"]
    assert created(emulator, LONG) == 1
    assert STATE_COMPUTATION_ID not in store.data  # delivered: a clear would start afresh


@pytest.mark.parametrize("with_store", [False, True])
@pytest.mark.skipif(AIRFLOW_V_3_0_ONLY, reason=ON_30_DAG_TEST)
def test_a_cleared_task_runs_again(codeocean_emulator: Any, airflow_db: None, with_store: bool) -> None:
    # A clear is Airflow's own clear_task_instances on a real task instance (it starts a new try
    # lineage), no longer just the next try number: a retry of the same lineage adopts the finished run.
    from tests.dags.computation_lineage import RETRIES
    from tests.operators.test_dead_worker import clear, lineage_context

    dag_run = run_dag("computation_lineage", "computation_lineage")
    (done,) = codeocean_emulator.computations(SIMULATED)
    cleared = clear(dag_run, "run")
    context = lineage_context(
        cleared.try_number + 1,
        cleared.max_tries,
        dag_id=dag_run.dag_id,
        run_id=dag_run.run_id,
        store=FakeStateStore() if with_store else None,
    )

    again = make_operator(capsule_id=SIMULATED, retries=RETRIES).execute(context)

    assert again["id"] != done["id"]
    assert created(codeocean_emulator, SIMULATED) == 2


def test_retry_after_a_failed_run_starts_a_new_one(emulator: Any) -> None:
    first = make_context()
    with pytest.raises(CodeOceanRunFailedError):
        make_operator(capsule_id=FAILING).execute(first)

    with pytest.raises(CodeOceanRunFailedError):
        make_operator(capsule_id=FAILING).execute(next_try(first))

    assert created(emulator, FAILING) == 2


def test_mapped_task_instances_never_take_each_others_runs(emulator: Any) -> None:
    for index in (0, 1):
        make_operator(capsule_id=LONG, wait_for_completion=False).execute(make_context(map_index=index))
    runs = {r["name"]: r["id"] for r in emulator.computations(LONG)}
    assert len(runs) == 2

    result = make_operator(capsule_id=LONG, wait_for_completion=False).execute(make_context(map_index=1, try_number=2))

    assert runs[result["name"]] == result["id"]
    assert result["name"].endswith(f"[{run_marker('computation_tests', 'manual__1', 'run', 1)}/1]")
    assert created(emulator, LONG) == 2


def test_a_users_name_keeps_the_marker(emulator: Any) -> None:
    result = make_operator(capsule_id=SIMULATED, name="nightly  QC", wait_for_completion=False).execute(make_context())

    assert result["id"]
    (run,) = emulator.computations(SIMULATED)
    assert run["name"] == f"nightly QC [{run_marker('computation_tests', 'manual__1', 'run', -1)}/1]"


def _finish_on_first_poll(op: Any, emulator: Any) -> None:
    """Complete the run in the emulator the first time the operator polls it (after it reattached)."""
    get = op.hook.get_computation

    def get_after_completing(computation_id: str) -> Any:
        if emulator.computation(computation_id)["state"] != "completed":
            emulator.complete_computation(computation_id)
        return get(computation_id)

    op.hook.get_computation = get_after_completing


def _die(*args: Any, **kwargs: Any) -> Any:
    raise WorkerDied("the worker died")
