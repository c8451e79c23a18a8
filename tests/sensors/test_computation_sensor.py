"""CodeOceanComputationSensor against the emulator: poke, reschedule and deferrable; soft_fail."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_codeocean.errors import CodeOceanNotFoundError, CodeOceanRunFailedError
from airflow_provider_codeocean.links import COMPUTATION_ID_KEY, COMPUTATION_URL_KEY
from airflow_provider_codeocean.sensors.computation import CodeOceanComputationSensor
from airflow_provider_codeocean.triggers.computation import CodeOceanComputationTrigger
from tests.operators.test_computation_support import FAILING, LONG, MISSING, SIMULATED, TINY, make_context, start_run


def sensor(computation_id: str, **kwargs: Any) -> CodeOceanComputationSensor:
    kwargs.setdefault("poke_interval", TINY)
    kwargs.setdefault("timeout", 60)
    return CodeOceanComputationSensor(task_id="sense", computation_id=computation_id, **kwargs)


def compat(name: str) -> Any:
    from airflow.providers.common.compat import sdk

    return getattr(sdk, name)


def test_poke_mode_returns_the_succeeded_computation(emulator: Any) -> None:
    computation_id = start_run(SIMULATED)
    context = make_context("sense")

    result = sensor(computation_id).execute(context)

    assert result["id"] == computation_id
    assert result["end_status"] == "succeeded"
    assert context["ti"].xcom[COMPUTATION_ID_KEY] == computation_id
    assert context["ti"].xcom[COMPUTATION_URL_KEY].endswith(computation_id)


def test_a_failed_run_fails_the_sensor_with_the_output_tail(emulator: Any) -> None:
    computation_id = start_run(FAILING)

    with pytest.raises(CodeOceanRunFailedError, match="something went wrong"):
        sensor(computation_id).execute(make_context("sense"))


@pytest.mark.parametrize("finish", ["fail", "stop"])
def test_soft_fail_skips_on_a_failed_or_stopped_run(emulator: Any, finish: str) -> None:
    computation_id = start_run(LONG)
    if finish == "fail":
        emulator.complete_computation(computation_id, "failed")
    else:
        emulator.stop_computation(computation_id)

    with pytest.raises(compat("AirflowSkipException")):
        sensor(computation_id, soft_fail=True).execute(make_context("sense"))


def test_reschedule_mode_frees_the_slot_while_the_run_goes_on(emulator: Any, airflow_db: None) -> None:
    from airflow.exceptions import AirflowRescheduleException

    computation_id = start_run(LONG)
    context = make_context("sense")
    context["ti"].get_first_reschedule_date = lambda context: None

    with pytest.raises(AirflowRescheduleException):
        sensor(computation_id, mode="reschedule").execute(context)

    assert emulator.count_computations(LONG) == 1  # the sensor never stops the run


def test_unknown_computation_fails_without_retries(emulator: Any) -> None:
    with pytest.raises(CodeOceanNotFoundError) as raised:
        sensor(MISSING).execute(make_context("sense"))

    assert isinstance(raised.value, compat("AirflowFailException"))


def test_malformed_id_is_a_config_error(emulator: Any) -> None:
    from airflow_provider_codeocean.errors import CodeOceanConfigError

    with pytest.raises(CodeOceanConfigError, match="computation_id"):
        sensor("").execute(make_context("sense"))
    assert emulator.requests() == []


def test_transient_errors_while_poking_mean_not_yet(emulator: Any) -> None:
    computation_id = start_run(SIMULATED)
    emulator.add_fault(f"503 method=GET path=/api/v1/computations/{computation_id} times=2")

    result = sensor(computation_id).execute(make_context("sense"))

    assert result["end_status"] == "succeeded"


def test_deferrable_defers_to_the_computation_trigger_and_never_cancels(emulator: Any) -> None:
    computation_id = start_run(LONG)
    context = make_context("sense")

    with pytest.raises(compat("TaskDeferred")) as deferred:
        sensor(computation_id, deferrable=True).execute(context)

    trigger = deferred.value.trigger
    assert isinstance(trigger, CodeOceanComputationTrigger)
    _, kwargs = trigger.serialize()
    assert kwargs["cancel_on_kill"] is False
    assert kwargs["end_time"] is not None
    assert context["ti"].xcom[COMPUTATION_URL_KEY].endswith(computation_id)

    emulator.complete_computation(computation_id)
    event = asyncio.run(_first(trigger))
    result = sensor(computation_id, deferrable=True).execute_complete(context, event)
    assert result["id"] == computation_id


def test_deferrable_sensor_on_a_finished_run_does_not_defer(emulator: Any) -> None:
    computation_id = start_run(SIMULATED)
    emulator.wait_for_computation(computation_id)

    result = sensor(computation_id, deferrable=True).execute(make_context("sense"))

    assert result["end_status"] == "succeeded"


@pytest.mark.parametrize(("soft_fail", "expected"), [(False, "AirflowSensorTimeout"), (True, "AirflowSkipException")])
def test_deferred_timeout(soft_fail: bool, expected: str) -> None:
    event = {"status": "timeout", "computation_id": "x", "message": "the wait timeout passed", "deadline": "wait"}

    with pytest.raises(compat(expected)):
        sensor("x", soft_fail=soft_fail).execute_complete(make_context("sense"), event)


def test_deferred_failed_event_with_soft_fail_skips(emulator: Any) -> None:
    computation_id = start_run(FAILING)
    computation = emulator.wait_for_computation(computation_id)
    event = {"status": "failed", "computation_id": computation_id, "message": "m", "computation": computation}

    with pytest.raises(compat("AirflowSkipException")):
        sensor(computation_id, soft_fail=True).execute_complete(make_context("sense"), event)


def test_poke_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="poke_interval"):
        sensor("x", poke_interval=0)


async def _first(trigger: CodeOceanComputationTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        payload: dict[str, Any] = event.payload
        return payload
    raise AssertionError("no event")
