"""What a deferred task's log shows: the run's state changes and a line every few minutes while it runs,
and a fired event small enough to read (nothing about the run's owner)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from airflow_provider_codeocean.triggers.computation import CodeOceanComputationTrigger
from tests.hook.servers import RawServer, http_response
from tests.hook.util import set_connection
from tests.operators.test_computation_support import LONG, SIMULATED, TINY, make_context, make_operator, start_run

TRIGGER_LOG = "airflow_provider_codeocean.triggers.base"


async def only_event(trigger: CodeOceanComputationTrigger) -> dict[str, Any]:
    events = [event.payload async for event in trigger.run()]
    assert len(events) == 1
    payload: dict[str, Any] = events[0]
    return payload


async def test_state_changes_and_progress_lines_reach_the_log(
    emulator: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger=TRIGGER_LOG)
    monkeypatch.setattr(CodeOceanComputationTrigger, "progress_log_interval", 0.3)
    computation_id = start_run(LONG)
    trigger = CodeOceanComputationTrigger(
        conn_id="codeocean_default", computation_id=computation_id, poll_interval=TINY, end_time=time.time() + 2
    )

    event = await only_event(trigger)

    assert event["status"] == "timeout"
    lines = [r.getMessage() for r in caplog.records if r.name == TRIGGER_LOG]
    assert lines[0] == f"Waiting for Code Ocean computation {computation_id} (checked every {TINY:g} s)"
    states = [line for line in lines if line.startswith(f"Code Ocean computation {computation_id} state=")]
    assert states, lines
    # One line per state change, not one per poll (the trigger polled every 0.02 s for 2 s).
    assert len(states) == len(set(states)) <= 3
    progress = [line for line in lines if " still " in line]
    assert progress, lines
    last_state = states[-1].rsplit("state=", 1)[1]
    assert progress[-1].startswith(f"Code Ocean computation {computation_id} still {last_state} after ")
    assert all("has not answered" not in line for line in progress)


async def test_the_event_carries_what_the_operator_needs_and_nothing_about_people(emulator: Any) -> None:
    computation_id = start_run(SIMULATED)
    assert "owner" in emulator.computation(computation_id)

    event = await only_event(
        CodeOceanComputationTrigger(conn_id="codeocean_default", computation_id=computation_id, poll_interval=TINY)
    )

    assert event["status"] == "success"
    computation = event["computation"]
    assert set(computation) <= set(CodeOceanComputationTrigger.event_item_fields or ())
    assert {"id", "name", "state", "end_status", "exit_code"} <= set(computation)
    assert "owner" not in computation and "owner_email" not in computation


async def test_progress_lines_say_when_code_ocean_stopped_answering(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger=TRIGGER_LOG)
    monkeypatch.setattr(CodeOceanComputationTrigger, "progress_log_interval", 0.3)
    with RawServer(default=http_response(503, {"message": "maintenance"})) as server:
        set_connection(monkeypatch, server.url, retry_limit=0)
        trigger = CodeOceanComputationTrigger(
            conn_id="codeocean_default", computation_id="c1", poll_interval=0.1, end_time=time.time() + 2
        )

        event = await only_event(trigger)

    assert event["status"] == "timeout"
    progress = [r.getMessage() for r in caplog.records if r.name == TRIGGER_LOG and " still " in r.getMessage()]
    assert progress and "Code Ocean computation c1 still not seen yet after" in progress[-1]
    assert "; Code Ocean has not answered for " in progress[-1]


async def test_the_task_still_returns_the_whole_computation(emulator: Any) -> None:
    # The event is a summary; the resumed task reads the run once more for its XCom return value.
    computation_id = start_run(SIMULATED)
    event = await only_event(
        CodeOceanComputationTrigger(conn_id="codeocean_default", computation_id=computation_id, poll_interval=TINY)
    )

    result = make_operator(capsule_id=SIMULATED).execute_complete(make_context(), event)

    assert result == emulator.computation(computation_id)
    assert "owner" not in event["computation"] and "owner" in result
