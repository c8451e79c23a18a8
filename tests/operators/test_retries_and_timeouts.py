"""What a retry re-runs (``retry_on_run_failure``, the Airflow 3.3 retry policy) and what a timeout deletes.

Every test counts what the emulator created or still holds.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, AirflowTaskTimeout

from airflow_provider_codeocean.errors import (
    CodeOceanConfigError,
    CodeOceanRunFailedError,
    CodeOceanRunStartFailedError,
    CodeOceanWaitTimeoutError,
)
from airflow_provider_codeocean.models import Computation
from tests.airflow_version import AIRFLOW_V_3_0_PLUS
from tests.operators.test_computation_support import (
    FAILING,
    LONG,
    make_context,
    make_operator,
    next_try,
    start_run,
)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Any:
    """Everything logged so far: Airflow 2 logs through logging, Airflow 3's task logger prints."""
    caplog.set_level(logging.INFO)
    return lambda: caplog.text + capsys.readouterr().out


def created(emulator: Any, capsule_id: str) -> int:
    return int(emulator.counts(capsule_id)["computations_created"])


# retry_on_run_failure


def test_a_run_whose_code_failed_fails_without_retries_when_asked(emulator: Any) -> None:
    op = make_operator(capsule_id=FAILING, retries=2, retry_on_run_failure=False)

    with pytest.raises(CodeOceanRunFailedError, match="exit_code=3") as raised:
        op.execute(make_context())

    assert isinstance(raised.value, AirflowFailException)
    assert "Not retried: retry_on_run_failure=False" in str(raised.value)
    assert created(emulator, FAILING) == 1


def test_exit_codes_not_listed_fail_without_retries(emulator: Any) -> None:
    with pytest.raises(CodeOceanRunFailedError) as raised:
        make_operator(capsule_id=FAILING, retry_on_run_failure=[137, 143]).execute(make_context())

    assert isinstance(raised.value, AirflowFailException)
    assert created(emulator, FAILING) == 1


def test_a_listed_exit_code_is_retried_and_the_retry_says_why(emulator: Any, logs: Any) -> None:
    op = make_operator(capsule_id=LONG, retry_on_run_failure=[143, 137])
    assert op.retry_on_run_failure == (137, 143)
    first = make_context()
    op.hook.get_computation = _completing(op, emulator, "failed", 137)
    with pytest.raises(CodeOceanRunFailedError) as raised:
        op.execute(first)
    assert not isinstance(raised.value, AirflowFailException)
    (failed,) = emulator.computations(LONG)

    retry = make_operator(capsule_id=LONG, retry_on_run_failure=[137, 143], wait_for_completion=False)
    retry.execute(next_try(first))

    assert created(emulator, LONG) == 2
    text = logs()
    assert (
        f"The previous try's run {failed['id']} failed; starting a new run because its exit code 137 is in "
        "retry_on_run_failure=[137, 143]"
    ) in text


def test_the_retry_of_a_failed_run_says_so(emulator: Any, logs: Any) -> None:
    first = make_context()
    with pytest.raises(CodeOceanRunFailedError):
        make_operator(capsule_id=FAILING).execute(first)
    (failed,) = emulator.computations(FAILING)

    with pytest.raises(CodeOceanRunFailedError):
        make_operator(capsule_id=FAILING).execute(next_try(first))

    assert created(emulator, FAILING) == 2
    text = logs()
    assert f"The previous try's run {failed['id']} failed; starting a new run because retry_on_run_failure=True" in text
    assert "No earlier run of this task to reattach to" not in text


def test_a_run_that_never_started_its_code_is_always_worth_a_new_run() -> None:
    from airflow_provider_codeocean._common.outcome import run_failed_error
    from airflow_provider_codeocean.retry_policy import rerun_reason

    never_ran = Computation.from_json({"id": "c1", "state": "failed"})
    ran = Computation.from_json({"id": "c2", "state": "completed", "end_status": "failed", "exit_code": 2})

    assert rerun_reason(False, never_ran) == "it failed before its code ran (state failed)"
    assert rerun_reason(False, ran) is None
    assert rerun_reason((2,), ran) is not None
    start_failed = run_failed_error("failed", never_ran, False)
    assert isinstance(start_failed, CodeOceanRunStartFailedError)
    assert not isinstance(start_failed, AirflowFailException)
    assert isinstance(run_failed_error("failed", ran, False), AirflowFailException)


@pytest.mark.parametrize("value", ["yes", [], [137.0], [True], {"137": 1}, None])
def test_retry_on_run_failure_is_checked_when_the_dag_is_parsed(value: Any) -> None:
    with pytest.raises(CodeOceanConfigError, match="retry_on_run_failure"):
        make_operator(capsule_id=FAILING, retry_on_run_failure=value)


def test_refusing_to_capture_a_failed_run_is_not_retried(codeocean_emulator: Any) -> None:
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook
    from airflow_provider_codeocean.operators.data_asset import CodeOceanCreateDataAssetOperator

    run_id = start_run(FAILING)
    codeocean_emulator.wait_for_computation(run_id)
    op = CodeOceanCreateDataAssetOperator(task_id="capture", name="bad", computation_id=run_id, retries=3)

    with pytest.raises(CodeOceanRunFailedError, match="capture_failed=True") as raised:
        op.execute(make_context("capture"))

    assert isinstance(raised.value, AirflowFailException)
    assert CodeOceanHook("codeocean_default").get_computation(run_id).id == run_id
    assert codeocean_emulator.count_data_assets() == 0


# The Airflow 3.3 retry policy


def test_the_retry_policy_maps_the_errors() -> None:
    pytest.importorskip("airflow.sdk.definitions.retry_policy")
    from airflow.sdk.definitions.retry_policy import ExceptionRetryPolicy, RetryAction

    from airflow_provider_codeocean import errors
    from airflow_provider_codeocean.retry_policy import codeocean_retry_policy

    def decide(policy: Any, exc: BaseException) -> RetryAction:
        return policy.evaluate(exc, try_number=1, max_tries=3).action

    api = {"method": "GET", "path": "computations/x"}
    policy = codeocean_retry_policy()
    assert decide(policy, errors.CodeOceanNotFoundError("gone", status_code=404, **api)) == RetryAction.FAIL
    assert decide(policy, errors.CodeOceanConfigError("bad")) == RetryAction.FAIL
    assert decide(policy, errors.CodeOceanServerError("down", status_code=503, **api)) == RetryAction.RETRY
    assert decide(policy, errors.CodeOceanRateLimitError("slow", status_code=429, **api)) == RetryAction.RETRY
    assert decide(policy, errors.CodeOceanConnectionError("reset", **api)) == RetryAction.RETRY
    assert decide(policy, errors.CodeOceanRunFailedError("exit 2")) == RetryAction.RETRY
    assert decide(policy, errors.CodeOceanWaitTimeoutError("late")) == RetryAction.DEFAULT

    strict = codeocean_retry_policy(retry_on_run_failure=False)
    assert decide(strict, errors.CodeOceanRunFailedError("exit 2")) == RetryAction.FAIL
    assert decide(strict, errors.CodeOceanRunStartFailedError("no capacity")) == RetryAction.RETRY

    # What the DAG processor and the worker see must be the same policy.
    again = ExceptionRetryPolicy.deserialize(strict.serialize())
    assert decide(again, errors.CodeOceanRunFailedError("exit 2")) == RetryAction.FAIL
    assert decide(again, errors.CodeOceanServerError("down", status_code=503, **api)) == RetryAction.RETRY


def test_a_dag_with_the_retry_policy_serializes() -> None:
    pytest.importorskip("airflow.sdk.definitions.retry_policy")
    from datetime import datetime

    from airflow.providers.common.compat.sdk import DAG
    from airflow.serialization.serialized_objects import DagSerialization

    from airflow_provider_codeocean.retry_policy import codeocean_retry_policy

    with DAG("policy", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
        make_operator(capsule_id=FAILING, retries=3, retry_policy=codeocean_retry_policy())

    serialized = DagSerialization.to_dict(dag)
    loaded = DagSerialization.from_dict(serialized)

    assert loaded.get_task("run").has_retry_policy


@pytest.mark.skipif(AIRFLOW_V_3_0_PLUS, reason="Airflow 3 may have retry policies")
def test_the_retry_policy_says_it_needs_airflow_3_3() -> None:
    from airflow_provider_codeocean.retry_policy import codeocean_retry_policy

    with pytest.raises(ImportError, match=r"Airflow 3\.3"):
        codeocean_retry_policy()


# Timeout is not kill


def test_a_timeout_keeps_the_run_with_cancel_on_timeout_false(emulator: Any) -> None:
    op = make_operator(capsule_id=LONG, timeout=0.1, cancel_on_timeout=False)
    assert op.cancel_on_kill is True

    with pytest.raises(CodeOceanWaitTimeoutError, match="left going"):
        op.execute(make_context())

    assert emulator.count_computations(LONG) == 1


def test_cancel_on_timeout_deletes_even_without_cancel_on_kill(emulator: Any, logs: Any) -> None:
    op = make_operator(capsule_id=LONG, timeout=0.1, cancel_on_kill=False, cancel_on_timeout=True)

    with pytest.raises(CodeOceanWaitTimeoutError, match="deleted with its results"):
        op.execute(make_context())

    assert emulator.count_computations(LONG) == 0
    text = logs()
    assert "with its results" in text
    assert "Code Ocean's only way to stop a run is to delete it" in text


def test_deferred_timeout_keeps_the_run_with_cancel_on_timeout_false(emulator: Any) -> None:
    computation_id = start_run(LONG)
    event = {"status": "timeout", "computation_id": computation_id, "message": "late", "deadline": "wait"}

    with pytest.raises(CodeOceanWaitTimeoutError, match="left going"):
        make_operator(capsule_id=LONG, deferrable=True, cancel_on_timeout=False).execute_complete(make_context(), event)

    assert emulator.count_computations(LONG) == 1


@pytest.mark.parametrize(("cancel_on_timeout", "left"), [(None, 0), (False, 1)])
def test_execution_timeout_on_the_worker_follows_cancel_on_timeout(
    emulator: Any, cancel_on_timeout: bool | None, left: int
) -> None:
    op = make_operator(capsule_id=LONG, cancel_on_timeout=cancel_on_timeout)

    def timed_out(computation_id: str) -> Any:
        # Airflow's execution_timeout raises AirflowTaskTimeout in the waiting worker, then calls on_kill.
        raise AirflowTaskTimeout("execution_timeout")

    op.hook.get_computation = timed_out  # type: ignore[method-assign]
    with pytest.raises(AirflowTaskTimeout):
        op.execute(make_context())
    op.on_kill()

    assert emulator.count_computations(LONG) == left
    assert created(emulator, LONG) == 1


def _completing(op: Any, emulator: Any, end_status: str, exit_code: int) -> Any:
    get = op.hook.get_computation

    def get_after_completing(computation_id: str) -> Any:
        if emulator.computation(computation_id)["state"] != "completed":
            emulator.complete_computation(computation_id, end_status=end_status, exit_code=exit_code)
        return get(computation_id)

    return get_after_completing


def test_without_waiting_a_retry_reports_the_failed_run_of_its_lineage(emulator: Any) -> None:
    # The first try started the run and its worker died before reporting; the run then failed.
    first = make_context()
    started = make_operator(capsule_id=LONG, wait_for_completion=False).execute(first)
    emulator.complete_computation(started["id"], "failed", exit_code=2)

    retry = make_operator(capsule_id=LONG, wait_for_completion=False, retry_on_run_failure=False)
    with pytest.raises(CodeOceanRunFailedError) as raised:
        retry.execute(next_try(first))

    assert isinstance(raised.value, AirflowFailException)
    assert created(emulator, LONG) == 1
