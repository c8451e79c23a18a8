"""A trigger's deadlines hold against a server that answers one byte at a time.

The server's answer would take about 100 s to arrive, every byte well within any gap-between-bytes
timeout; only a total deadline per request lets the trigger reach its own deadline check.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from airflow_provider_codeocean.triggers.computation import CodeOceanComputationTrigger
from airflow_provider_codeocean.triggers.poller import active_pollers
from tests.hook.servers import RawServer
from tests.hook.util import set_connection

#: Far below the ~100 s the dripped answer takes, far above the 1 s deadline plus one request deadline.
BOUND = 20.0


async def only_event(trigger: CodeOceanComputationTrigger) -> dict[str, Any]:
    async def collect() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    events = await asyncio.wait_for(collect(), timeout=BOUND)
    assert len(events) == 1
    return events[0]


@pytest.mark.parametrize(("field", "deadline"), [("end_time", "wait"), ("execution_deadline", "execution")])
async def test_deadline_fires_while_the_server_drips(
    monkeypatch: pytest.MonkeyPatch, field: str, deadline: str
) -> None:
    with RawServer(default="drip") as server:
        set_connection(monkeypatch, server.url, request_timeout=1, connect_timeout=1, retry_limit=0)
        trigger = CodeOceanComputationTrigger(
            conn_id="codeocean_default",
            computation_id="c1",
            poll_interval=0.5,
            transient_grace=3600,
            **{field: time.time() + 1.0},
        )

        event = await only_event(trigger)
        # The poller closes its session in a task of its own once the last wait left.
        for _ in range(1000):
            if not active_pollers() and len(asyncio.all_tasks()) == 1:
                break
            await asyncio.sleep(0.01)

    assert event["status"] == "timeout"
    assert event["deadline"] == deadline
    assert event["computation_id"] == "c1"
    assert server.paths("GET") and set(server.paths("GET")) == {"/api/v1/computations/c1"}
