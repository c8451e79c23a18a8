"""CodeOceanRunCapsuleOperator against the emulator: outcomes, deferral, deadlines, kill, bad input."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from airflow_provider_codeocean.errors import (
    CodeOceanConfigError,
    CodeOceanError,
    CodeOceanNotFoundError,
    CodeOceanPermissionError,
    CodeOceanRunFailedError,
    CodeOceanServerError,
    CodeOceanWaitTimeoutError,
)
from airflow_provider_codeocean.links import COMPUTATION_ID_KEY, COMPUTATION_URL_KEY
from airflow_provider_codeocean.triggers.computation import CodeOceanComputationTrigger
from tests.operators.test_computation_support import (
    ECHO,
    FAILING,
    LONG,
    MISSING,
    PIPELINE,
    SIMULATED,
    make_context,
    make_operator,
    start_run,
)


def _fail_exception() -> type[BaseException]:
    from airflow.providers.common.compat.sdk import AirflowFailException

    return AirflowFailException  # type: ignore[no-any-return]


def _task_deferred() -> type[BaseException]:
    from airflow.providers.common.compat.sdk import TaskDeferred

    return TaskDeferred  # type: ignore[no-any-return]


async def _run_trigger(trigger: CodeOceanComputationTrigger) -> dict[str, Any]:
    events = [e async for e in trigger.run()]
    payload: dict[str, Any] = events[0].payload
    return payload


# Synchronous path


def test_sync_run_returns_the_finished_computation_and_pushes_the_link(emulator: Any) -> None:
    context = make_context()

    result = make_operator(capsule_id=ECHO, parameters=["hi"]).execute(context)

    assert result["state"] == "completed"
    assert result["end_status"] == "succeeded"
    xcom = context["ti"].xcom
    assert xcom[COMPUTATION_ID_KEY] == result["id"]
    assert xcom[COMPUTATION_URL_KEY] == f"{emulator.base_url}/computations/{result['id']}"
    assert emulator.counts()["computations_created"] == 1


def test_link_follows_the_connections_url_template(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    conn = {
        "conn_type": "codeocean",
        "host": emulator.base_url,
        "password": emulator.token,
        "extra": {"computation_url_template": "https://ui.example.org/runs/{id}"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_CODEOCEAN_DEFAULT", json.dumps(conn))
    context = make_context()

    result = make_operator(capsule_id=SIMULATED).execute(context)

    assert context["ti"].xcom[COMPUTATION_URL_KEY] == f"https://ui.example.org/runs/{result['id']}"


def test_a_failed_run_raises_run_failed_with_details_and_the_output_tail(emulator: Any) -> None:
    context = make_context()

    with pytest.raises(CodeOceanRunFailedError) as raised:
        make_operator(capsule_id=FAILING).execute(context)

    message = str(raised.value)
    computation_id = context["ti"].xcom[COMPUTATION_ID_KEY]
    assert "state=completed" in message
    assert "end_status=failed" in message
    assert "exit_code=3" in message
    assert f"/computations/{computation_id}" in message
    assert "error: something went wrong" in message  # from the run's output file
    assert raised.value.computation is not None and raised.value.computation["exit_code"] == 3
    # A failed run is worth an Airflow retry; it is not an AirflowFailException.
    assert not isinstance(raised.value, _fail_exception())


def test_a_nonzero_exit_code_fails_even_if_the_end_status_says_succeeded(emulator: Any) -> None:
    op = make_operator(capsule_id=LONG)
    context = make_context()

    def finish_oddly() -> None:
        while not emulator.computations(LONG):
            time.sleep(0.01)
        emulator.complete_computation(emulator.computations(LONG)[0]["id"], "succeeded", exit_code=1)

    threading.Thread(target=finish_oddly, daemon=True).start()
    with pytest.raises(CodeOceanRunFailedError, match="exit_code=1"):
        op.execute(context)


def test_the_output_tail_is_left_out_when_it_cannot_be_read(emulator: Any) -> None:
    emulator.add_fault("500 path=/api/v1/computations/*/results/urls")

    with pytest.raises(CodeOceanRunFailedError, match="exit_code=3") as raised:
        make_operator(capsule_id=FAILING).execute(make_context())

    assert "Last lines" not in str(raised.value)


def test_a_stopped_run_fails_the_task(emulator: Any) -> None:
    op = make_operator(capsule_id=LONG)

    def stop_it() -> None:
        while not emulator.computations(LONG):
            time.sleep(0.01)
        emulator.stop_computation(emulator.computations(LONG)[0]["id"])

    threading.Thread(target=stop_it, daemon=True).start()
    with pytest.raises(CodeOceanRunFailedError, match="end_status=stopped"):
        op.execute(make_context())


def test_fire_and_forget_returns_the_started_run(emulator: Any) -> None:
    result = make_operator(capsule_id=LONG, wait_for_completion=False).execute(make_context())

    assert result["state"] != "completed"
    assert emulator.count_computations(LONG) == 1


def test_pipeline_operator_runs_a_pipeline_with_process_parameters(emulator: Any) -> None:
    from airflow_provider_codeocean.operators.computation import CodeOceanRunPipelineOperator

    op = CodeOceanRunPipelineOperator(
        task_id="pipe",
        pipeline_id=PIPELINE,
        processes=[
            {"name": "capsule_align_1", "named_parameters": {"k": "v"}},
            {"name": "capsule_summarize_2", "parameters": ["x"]},
        ],
        poll_interval=0.02,
    )

    result = op.execute(make_context("pipe"))

    assert result["end_status"] == "succeeded"
    values = {p["name"]: [v["value"] for v in p["parameters"]] for p in result["processes"]}
    assert values["capsule_align_1"] == ["v"]
    assert values["capsule_summarize_2"] == ["x"]


# Deadlines and kill


def test_sync_timeout_stops_the_run(emulator: Any) -> None:
    with pytest.raises(CodeOceanWaitTimeoutError, match="deleted with its results") as raised:
        make_operator(capsule_id=LONG, timeout=0.1).execute(make_context())

    assert raised.value.deadline == "wait"
    assert emulator.counts(LONG)["computations_created"] == 1
    assert emulator.count_computations(LONG) == 0  # DELETE: stopped and deleted


def test_sync_timeout_without_cancel_on_kill_leaves_the_run(emulator: Any) -> None:
    with pytest.raises(CodeOceanWaitTimeoutError):
        make_operator(capsule_id=LONG, timeout=0.1, cancel_on_kill=False).execute(make_context())

    assert emulator.count_computations(LONG) == 1


def test_on_kill_stops_the_run_the_worker_waits_for(emulator: Any) -> None:
    op = make_operator(capsule_id=LONG)
    get = op.hook.get_computation
    polls: list[str] = []

    def poll_then_get_killed(computation_id: str) -> Any:
        # Airflow calls on_kill from its SIGTERM handler while execute() is blocked in the wait loop.
        polls.append(computation_id)
        if len(polls) == 1:
            op.on_kill()
        return get(computation_id)

    op.hook.get_computation = poll_then_get_killed  # type: ignore[method-assign]
    with pytest.raises(CodeOceanNotFoundError):  # the run is gone
        op.execute(make_context())

    assert emulator.count_computations(LONG) == 0
    assert emulator.counts(LONG)["computations_created"] == 1
    assert any(r["method"] == "DELETE" and r["path"].endswith(polls[0]) for r in emulator.requests())


def test_on_kill_before_a_run_exists_does_nothing(emulator: Any) -> None:
    make_operator(capsule_id=LONG).on_kill()

    assert emulator.requests() == []


# Deferrable path


def test_deferrable_defers_with_primitive_kwargs_then_completes(emulator: Any) -> None:
    op = make_operator(capsule_id=LONG, deferrable=True, timeout=3600, execution_timeout=None)
    context = make_context()

    with pytest.raises(_task_deferred()) as deferred:
        op.execute(context)

    trigger = deferred.value.trigger
    assert isinstance(trigger, CodeOceanComputationTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout is None  # the trigger enforces the deadlines
    _, kwargs = trigger.serialize()
    computation_id = context["ti"].xcom[COMPUTATION_ID_KEY]  # pushed before deferring
    assert kwargs["computation_id"] == computation_id
    assert kwargs["cancel_on_kill"] is True
    assert kwargs["end_time"] > time.time()
    assert kwargs["execution_deadline"] is None

    emulator.complete_computation(computation_id)
    event = _run(trigger)
    result = make_operator(capsule_id=LONG, deferrable=True).execute_complete(context, event)

    assert result["id"] == computation_id
    assert result["end_status"] == "succeeded"


def test_deferrable_passes_execution_timeout_as_a_deadline(emulator: Any) -> None:
    from datetime import timedelta

    op = make_operator(capsule_id=LONG, deferrable=True, execution_timeout=timedelta(hours=1))

    with pytest.raises(_task_deferred()) as deferred:
        op.execute(make_context())

    _, kwargs = deferred.value.trigger.serialize()
    assert time.time() < kwargs["execution_deadline"] <= time.time() + 3600
    assert kwargs["end_time"] is None


def test_deferrable_run_that_finished_already_does_not_defer(emulator: Any) -> None:
    op = make_operator(capsule_id=SIMULATED, deferrable=True)
    op.hook.get_computation = _finished_after_submit(op.hook.get_computation, emulator)  # type: ignore[method-assign]

    result = op.execute(make_context())  # no TaskDeferred

    assert result["end_status"] == "succeeded"


def _finished_after_submit(get: Any, emulator: Any) -> Any:
    def get_when_done(computation_id: str) -> Any:
        emulator.wait_for_computation(computation_id)
        return get(computation_id)

    return get_when_done


def _run(trigger: CodeOceanComputationTrigger) -> dict[str, Any]:
    import asyncio

    return asyncio.run(_run_trigger(trigger))


def _event(status: str, computation_id: str, **extra: Any) -> dict[str, Any]:
    return {"status": status, "computation_id": computation_id, "message": "m", **extra}


def test_execute_complete_failed_event_raises_run_failed_with_the_tail(emulator: Any) -> None:
    computation_id = start_run(FAILING)
    computation = emulator.wait_for_computation(computation_id)

    with pytest.raises(CodeOceanRunFailedError, match="something went wrong"):
        make_operator(capsule_id=FAILING).execute_complete(
            make_context(), _event("failed", computation_id, computation=computation)
        )


@pytest.mark.parametrize("deadline", ["execution", "wait"])
def test_execute_complete_timeout_stops_the_run(emulator: Any, deadline: str) -> None:
    computation_id = start_run(LONG)

    with pytest.raises(CodeOceanWaitTimeoutError) as raised:
        make_operator(capsule_id=LONG).execute_complete(
            make_context(), _event("timeout", computation_id, deadline=deadline)
        )

    assert raised.value.deadline == deadline
    assert emulator.count_computations(LONG) == 0


def test_execute_complete_timeout_without_cancel_on_kill_leaves_the_run(emulator: Any) -> None:
    computation_id = start_run(LONG)

    with pytest.raises(CodeOceanWaitTimeoutError):
        make_operator(capsule_id=LONG, cancel_on_kill=False).execute_complete(
            make_context(), _event("timeout", computation_id, deadline="execution")
        )

    assert emulator.count_computations(LONG) == 1


def test_execute_complete_error_404_fails_without_retries(emulator: Any) -> None:
    event = _event(
        "error",
        MISSING,
        error_type="CodeOceanNotFoundError",
        status_code=404,
        method="GET",
        path=f"/api/v1/computations/{MISSING}",
        api_message="not found",
    )

    with pytest.raises(CodeOceanNotFoundError) as raised:
        make_operator(capsule_id=ECHO).execute_complete(make_context(), event)

    assert isinstance(raised.value, _fail_exception())
    assert raised.value.status_code == 404


def test_execute_complete_error_5xx_is_an_api_error_airflow_may_retry(emulator: Any) -> None:
    event = _event("error", MISSING, error_type="CodeOceanServerError", status_code=503, api_message="down")

    with pytest.raises(CodeOceanServerError) as raised:
        make_operator(capsule_id=ECHO).execute_complete(make_context(), event)

    assert not isinstance(raised.value, _fail_exception())
    assert not isinstance(raised.value, CodeOceanRunFailedError)


@pytest.mark.parametrize(
    "event",
    [
        None,
        {},
        {"status": "weird", "computation_id": "x"},
        {"status": "success"},
        {"status": "success", "computation_id": "x"},
    ],
)
def test_execute_complete_rejects_unusable_events(event: Any) -> None:
    with pytest.raises(CodeOceanError):
        make_operator(capsule_id=ECHO).execute_complete(make_context(), event)


# Bad input: a clear error before anything is sent


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({}, "exactly one of capsule_id or pipeline_id"),
        ({"capsule_id": ECHO, "pipeline_id": PIPELINE}, "exactly one of capsule_id or pipeline_id"),
        ({"capsule_id": ""}, "exactly one of capsule_id or pipeline_id"),
        ({"capsule_id": "not an id!"}, "capsule_id must be a Code Ocean id"),
        ({"capsule_id": ECHO, "data_assets": [{"id": SIMULATED}]}, "has no mount"),
        ({"capsule_id": ECHO, "data_assets": [{"id": "", "mount": "x"}]}, "data asset id must be"),
        ({"capsule_id": ECHO, "parameters": ["a", 3]}, "must be strings"),
        ({"capsule_id": ECHO, "named_parameters": {"n": 1}}, "must be a string"),
        ({"capsule_id": ECHO, "version": "latest"}, "version must be a whole number"),
        ({"capsule_id": ECHO, "name": 5}, "name must be a string"),
    ],
)
def test_bad_input_fails_before_any_request(emulator: Any, kwargs: dict[str, Any], fragment: str) -> None:
    # Given literally, it fails when the DAG file is parsed.
    with pytest.raises(CodeOceanConfigError, match=fragment):
        make_operator(**kwargs)
    # Rendered from a template, it fails in execute, without Airflow retries.
    op = make_operator(capsule_id="{{ params.capsule_id }}")
    for key, value in {"capsule_id": None, **kwargs}.items():
        setattr(op, key, value)
    with pytest.raises(CodeOceanConfigError, match=fragment) as raised:
        op.execute(make_context())

    assert isinstance(raised.value, _fail_exception())
    assert emulator.requests() == []


@pytest.mark.parametrize("value", [0, -1, "soon", None])
def test_bad_poll_interval_fails_at_parse_time(value: Any) -> None:
    with pytest.raises(ValueError, match="poll_interval"):
        make_operator(capsule_id=ECHO, poll_interval=value)


def test_unknown_capsule_fails_without_retries(emulator: Any) -> None:
    with pytest.raises(CodeOceanNotFoundError, match="check the id") as raised:
        make_operator(capsule_id=MISSING).execute(make_context())

    assert isinstance(raised.value, _fail_exception())
    assert emulator.counts()["computations_created"] == 0


def test_token_without_capsule_scope_says_so(emulator: Any) -> None:
    emulator.add_fault("403 method=POST path=/api/v1/computations")

    with pytest.raises(CodeOceanPermissionError, match="Capsule") as raised:
        make_operator(capsule_id=ECHO).execute(make_context())

    assert isinstance(raised.value, _fail_exception())
    assert emulator.counts()["computations_created"] == 0


def test_templated_fields_cover_every_run_setting() -> None:
    from airflow_provider_codeocean.operators.computation import CodeOceanRunCapsuleOperator

    assert set(CodeOceanRunCapsuleOperator.template_fields) == {
        "capsule_id",
        "pipeline_id",
        "version",
        "data_assets",
        "parameters",
        "named_parameters",
        "processes",
        "nextflow_profile",
        "resume_run_id",
        "name",
    }


def test_import_is_cheap() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from airflow.providers.common.compat.sdk import BaseOperator, BaseSensorOperator\n"
        "before = set(sys.modules)\n"
        "import airflow_provider_codeocean.operators.computation\n"
        "import airflow_provider_codeocean.sensors.computation\n"
        "import airflow_provider_codeocean.triggers.computation\n"
        "heavy = ('requests', 'httpx', 'tenacity', 'airflow_provider_codeocean.hooks', "
        "'airflow_provider_codeocean.api', 'airflow_provider_codeocean.models')\n"
        "print(sorted(m for m in set(sys.modules) - before if m.startswith(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
