"""CodeOceanComputationTrigger against the emulator over real HTTP: every event, kill, serialisation."""

from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_provider_codeocean.triggers.computation import CodeOceanComputationTrigger
from tests.operators.test_computation_support import FAILING, LONG, MISSING, SIMULATED, TINY, start_run


def trigger(computation_id: str, **kwargs: Any) -> CodeOceanComputationTrigger:
    kwargs.setdefault("poll_interval", TINY)
    return CodeOceanComputationTrigger(conn_id="codeocean_default", computation_id=computation_id, **kwargs)


async def first_event(t: CodeOceanComputationTrigger) -> dict[str, Any]:
    events = [event async for event in t.run()]
    assert len(events) == 1
    payload: dict[str, Any] = events[0].payload
    return payload


async def test_success_event_carries_the_computation(emulator: Any) -> None:
    computation_id = start_run(SIMULATED)

    event = await first_event(trigger(computation_id))

    assert event["status"] == "success"
    assert event["computation_id"] == computation_id
    assert event["computation"]["end_status"] == "succeeded"
    assert event["computation"]["exit_code"] == 0


async def test_failed_event(emulator: Any) -> None:
    computation_id = start_run(FAILING)

    event = await first_event(trigger(computation_id))

    assert event["status"] == "failed"
    assert event["computation"]["exit_code"] == 3
    assert "exit_code=3" in event["message"]


async def test_completed_with_a_nonzero_exit_code_is_failed(emulator: Any) -> None:
    computation_id = start_run(LONG)
    emulator.complete_computation(computation_id, "succeeded", exit_code=2)

    event = await first_event(trigger(computation_id))

    assert event["status"] == "failed"


async def test_stopped_event(emulator: Any) -> None:
    computation_id = start_run(LONG)
    emulator.stop_computation(computation_id)

    event = await first_event(trigger(computation_id))

    assert event["status"] == "stopped"
    assert event["computation"]["end_status"] == "stopped"


@pytest.mark.parametrize(("field", "deadline"), [("end_time", "wait"), ("execution_deadline", "execution")])
async def test_timeout_events_name_their_deadline(emulator: Any, field: str, deadline: str) -> None:
    computation_id = start_run(LONG)

    event = await first_event(trigger(computation_id, **{field: time.time()}))

    assert event["status"] == "timeout"
    assert event["deadline"] == deadline
    # The trigger only reports; stopping the run is the operator's decision.
    assert emulator.computation(computation_id)["state"] != "completed"


async def test_execution_deadline_wins_over_the_wait_deadline(emulator: Any) -> None:
    computation_id = start_run(LONG)
    now = time.time()

    event = await first_event(trigger(computation_id, end_time=now, execution_deadline=now))

    assert event["deadline"] == "execution"


async def test_not_found_is_an_error_at_once(emulator: Any) -> None:
    event = await first_event(trigger(MISSING, transient_grace=3600))

    assert event["status"] == "error"
    assert event["error_type"] == "CodeOceanNotFoundError"
    assert event["status_code"] == 404
    assert event["path"].endswith(f"computations/{MISSING}")


async def test_transient_errors_are_tolerated_then_reported(emulator: Any) -> None:
    computation_id = start_run(LONG)
    emulator.add_fault(f"503 method=GET path=/api/v1/computations/{computation_id}")

    event = await first_event(trigger(computation_id, transient_grace=0.2))

    assert event["status"] == "error"
    assert event["error_type"] == "CodeOceanServerError"
    assert event["status_code"] == 503
    assert "unavailable" in event["message"]


async def test_a_blip_shorter_than_the_grace_period_is_ridden_out(emulator: Any) -> None:
    computation_id = start_run(SIMULATED)
    # Two polls fail (each with its one retry), then the API answers again.
    emulator.add_fault(f"503 method=GET path=/api/v1/computations/{computation_id} times=4")

    event = await first_event(trigger(computation_id, transient_grace=3600))

    assert event["status"] == "success"


def test_kwargs_are_primitives_without_the_token(emulator: Any) -> None:
    t = trigger("c0ffee00-0000-4000-8000-000000000001", end_time=1.5, execution_deadline=2.5, cancel_on_kill=True)

    classpath, kwargs = t.serialize()

    assert classpath == "airflow_provider_codeocean.triggers.computation.CodeOceanComputationTrigger"
    assert kwargs == {
        "conn_id": "codeocean_default",
        "computation_id": "c0ffee00-0000-4000-8000-000000000001",
        "poll_interval": TINY,
        "end_time": 1.5,
        "execution_deadline": 2.5,
        "transient_grace": 600.0,
        "cancel_on_kill": True,
        "capsule_id": None,
        "pipeline": False,
    }
    assert emulator.token not in repr(kwargs)


def test_kwargs_survive_airflows_serialisation_round_trip() -> None:
    import importlib

    t = trigger("c0ffee00-0000-4000-8000-000000000001", end_time=1.5, cancel_on_kill=True)
    classpath, kwargs = t.serialize()
    try:
        from airflow.sdk.serde import deserialize, serialize
    except ImportError:  # Airflow 2.x
        from airflow.serialization.serialized_objects import BaseSerialization

        restored_kwargs = BaseSerialization.deserialize(BaseSerialization.serialize(kwargs))
    else:
        restored_kwargs = deserialize(serialize(kwargs))

    module, _, name = classpath.rpartition(".")
    restored = getattr(importlib.import_module(module), name)(**restored_kwargs)

    assert restored.serialize() == (classpath, kwargs)


async def test_on_kill_stops_the_run(emulator: Any) -> None:
    computation_id = start_run(LONG)
    t = trigger(computation_id, cancel_on_kill=True)

    await t.on_kill()

    assert emulator.count_computations(LONG) == 0
    assert any(r["method"] == "DELETE" and r["path"].endswith(computation_id) for r in emulator.requests())


async def test_on_kill_leaves_the_run_without_cancel_on_kill(emulator: Any) -> None:
    computation_id = start_run(LONG)

    await trigger(computation_id, cancel_on_kill=False).on_kill()

    assert emulator.count_computations(LONG) == 1


async def test_on_kill_after_the_event_leaves_the_run(emulator: Any) -> None:
    computation_id = start_run(SIMULATED)
    t = trigger(computation_id, cancel_on_kill=True)
    await first_event(t)

    await t.on_kill()

    assert emulator.count_computations(SIMULATED) == 1


async def test_on_kill_of_a_run_already_gone_is_quiet(emulator: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="airflow_provider_codeocean.triggers.computation")

    await trigger(MISSING, cancel_on_kill=True).on_kill()

    deletes = [r for r in emulator.requests() if r["method"] == "DELETE"]
    assert [r["path"] for r in deletes] == [f"/api/v1/computations/{MISSING}"]  # one try: a 404 is final
    assert f"Computation {MISSING} was already gone" in caplog.text
