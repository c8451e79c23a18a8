"""CodeOceanDataAssetWatchTrigger against the emulator: one event per new matching ready data asset.

The cursor is a real Airflow Variable in the test's metadata database. A "restart" is what a triggerer
restart is to the trigger: the running one is cancelled, a new instance is built from the serialized
kwargs and reads the cursor back. The real triggerer (killed with SIGKILL and started again) is
exercised by scripts/event_driven_check.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from airflow_provider_codeocean.errors import CodeOceanConfigError
from airflow_provider_codeocean.triggers.data_asset_watch import EVENT_TRIGGERS, CodeOceanDataAssetWatchTrigger
from tests.airflow_version import AIRFLOW_V_3_3_PLUS
from tests.operators.test_data_asset_support import make_asset

pytestmark = pytest.mark.skipif(not EVENT_TRIGGERS, reason="AssetWatcher and event triggers are Airflow 3's")

TAGS = ["raw", "watch-test"]


def watch(**kwargs: Any) -> CodeOceanDataAssetWatchTrigger:
    kwargs.setdefault("tags", TAGS)
    kwargs.setdefault("poll_interval", 0.05)
    return CodeOceanDataAssetWatchTrigger(**kwargs)


def restarted(trigger: CodeOceanDataAssetWatchTrigger) -> CodeOceanDataAssetWatchTrigger:
    """A new instance from the serialized kwargs, as a triggerer builds it."""
    _, kwargs = trigger.serialize()
    return CodeOceanDataAssetWatchTrigger(**json.loads(json.dumps(kwargs)))


def stored_cursor(trigger: CodeOceanDataAssetWatchTrigger) -> dict[str, Any] | None:
    from airflow.models import Variable

    raw = Variable.get(trigger.cursor_key, default_var=None)
    return None if raw is None else dict(json.loads(raw))


class Running:
    """A trigger's event stream running as a task, as in the triggerer; events are collected as they come."""

    def __init__(self, stream: AsyncIterator[Any]) -> None:
        self.events: list[dict[str, Any]] = []
        self._stream = stream
        self.task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        async for event in self._stream:
            self.events.append(event.payload)

    async def until(self, count: int, timeout: float = 30) -> list[str]:
        end = time.monotonic() + timeout
        while len(self.events) < count:
            if self.task.done():
                self.task.result()
            assert time.monotonic() < end, f"only {len(self.events)} of {count} events: {self.events}"
            await asyncio.sleep(0.02)
        return [e["data_asset_id"] for e in self.events]

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def cursor_stored(trigger: CodeOceanDataAssetWatchTrigger) -> None:
    """Wait until the watch began: its cursor is stored."""
    end = time.monotonic() + 30
    while await asyncio.to_thread(stored_cursor, trigger) is None:
        assert time.monotonic() < end, "the watch stored no cursor"
        await asyncio.sleep(0.02)


async def started(trigger: CodeOceanDataAssetWatchTrigger) -> Running:
    """Run the trigger and wait until its watch began."""
    running = Running(trigger.run())
    await cursor_stored(trigger)
    return running


async def searches_done(emulator: Any, more: int) -> None:
    """Wait until the emulator answered ``more`` further searches (so absence of events means something)."""

    def count() -> int:
        return sum(1 for r in emulator.requests() if r["path"].endswith("/data_assets/search"))

    target = count() + more
    end = time.monotonic() + 30
    while count() < target:
        assert time.monotonic() < end
        await asyncio.sleep(0.02)


def test_one_event_per_new_ready_match_not_for_older_or_other_assets(codeocean_emulator: Any, airflow_db: None) -> None:
    before = make_asset("existed before the watch", TAGS)
    trigger = watch(tags=[*TAGS, "t1"])

    async def scenario() -> list[dict[str, Any]]:
        running = await started(trigger)
        codeocean_emulator.app.config.asset_ready_delay = 1.0
        draft = make_asset("draft first", [*TAGS, "t1"], wait=False)
        codeocean_emulator.app.config.asset_ready_delay = 0.05
        first = make_asset("ready", [*TAGS, "t1"])
        make_asset("other tags", ["raw"])
        got = await running.until(2)
        # A draft is announced once it is ready (which of the two becomes ready first depends on load).
        assert sorted(got) == sorted([first["id"], draft["id"]])
        assert all(event["state"] == "ready" for event in running.events)
        await searches_done(codeocean_emulator, 5)
        await running.stop()
        assert before["id"] not in got
        return running.events

    events = asyncio.run(scenario())
    assert len(events) == 2
    payload = next(event for event in events if event["name"] == "ready")
    assert payload["uri"] == f"codeocean://127.0.0.1:{codeocean_emulator.port}/data_assets/{payload['data_asset_id']}"
    assert payload["tags"] == [*TAGS, "t1"] and payload["state"] == "ready" and payload["name"] == "ready"
    assert payload["url"].endswith(payload["data_asset_id"])
    assert codeocean_emulator.token not in json.dumps(events)


def test_a_restart_announces_what_landed_meanwhile_and_nothing_twice(codeocean_emulator: Any, airflow_db: None) -> None:
    trigger = watch(tags=[*TAGS, "t2"])

    async def scenario() -> None:
        running = await started(trigger)
        a = make_asset("a", [*TAGS, "t2"])
        assert await running.until(1) == [a["id"]]
        await running.stop()  # the triggerer goes away

        b = make_asset("b, while no triggerer ran", [*TAGS, "t2"])
        again = Running(restarted(trigger).run())
        assert await again.until(1) == [b["id"]]
        await searches_done(codeocean_emulator, 5)
        await again.stop()
        assert [e["data_asset_id"] for e in again.events] == [b["id"]]

    asyncio.run(scenario())
    cursor = stored_cursor(trigger)
    assert cursor is not None and set(cursor) == {"since", "fired"}


def test_created_after_announces_existing_assets_on_first_start_only(codeocean_emulator: Any, airflow_db: None) -> None:
    since = time.time() - 1
    old = make_asset("existed, after created_after", [*TAGS, "t3"])
    trigger = watch(tags=[*TAGS, "t3"], created_after=since)

    async def scenario() -> None:
        running = await started(trigger)
        assert await running.until(1) == [old["id"]]
        await running.stop()
        again = Running(restarted(trigger).run())
        await searches_done(codeocean_emulator, 5)
        await again.stop()
        assert again.events == []

    asyncio.run(scenario())


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="ack-mode shared streams are Airflow 3.3's")
def test_ack_mode_moves_the_cursor_only_past_events_airflow_stored(codeocean_emulator: Any, airflow_db: None) -> None:
    from airflow.triggers.shared_stream import AdvanceItem, AdvanceOutcome

    trigger = watch(tags=[*TAGS, "t4"])
    _, kwargs = trigger.serialize()

    async def first(stream: AsyncIterator[Any]) -> tuple[dict[str, Any], Any]:
        return await asyncio.wait_for(stream.__anext__(), 30)

    async def scenario() -> None:
        producer = CodeOceanDataAssetWatchTrigger.create_shared_stream_producer(kwargs)
        stream = producer.open_stream()
        pending = asyncio.ensure_future(first(stream))
        await cursor_stored(trigger)
        a = make_asset("a", [*TAGS, "t4"])
        payload, key = await pending
        assert payload["data_asset_id"] == a["id"]
        # Not confirmed yet: a triggerer that dies now announces it again after its restart.
        assert a["id"] not in stored_cursor(trigger)["fired"]

        # Airflow did not store the event (e.g. the ack timed out): it is announced again.
        await producer.advance([AdvanceItem(key, AdvanceOutcome(acked=0, failed=1))])
        payload, key = await first(stream)
        assert payload["data_asset_id"] == a["id"]

        # Stored: the cursor moves past it, and a restarted producer does not announce it.
        await producer.advance([AdvanceItem(key, AdvanceOutcome(acked=1, failed=0))])
        assert a["id"] in stored_cursor(trigger)["fired"]
        await stream.aclose()

        again = CodeOceanDataAssetWatchTrigger.create_shared_stream_producer(kwargs)
        again_stream = again.open_stream()
        pending = asyncio.ensure_future(first(again_stream))
        await searches_done(codeocean_emulator, 5)
        assert not pending.done()
        b = make_asset("b", [*TAGS, "t4"])
        payload, _ = await pending
        assert payload["data_asset_id"] == b["id"]
        await again_stream.aclose()

    asyncio.run(scenario())


def test_kwargs_are_stable_json_without_the_token(codeocean_emulator: Any) -> None:
    trigger = watch(tags=["raw", "ephys"], type="dataset", custom_metadata={"subject": "mouse-7"})
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_codeocean.triggers.data_asset_watch.CodeOceanDataAssetWatchTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    # Flat: Airflow 3.2's triggerer hands a watcher's nested dicts back still encoded.
    assert all(isinstance(value, (str, int, float)) for value in kwargs.values())
    assert codeocean_emulator.token not in json.dumps(kwargs)
    # Parsing the DAG again builds the same trigger: Airflow keeps one watcher trigger, not one per parse.
    assert restarted(trigger).serialize() == (classpath, kwargs)
    assert watch(tags=["raw", "ephys"], type="dataset", custom_metadata={"subject": "mouse-7"}).serialize()[1] == kwargs
    assert restarted(trigger).cursor_key == trigger.cursor_key
    assert watch(tags=["raw"]).cursor_key != trigger.cursor_key


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "folder"}, "type must be one of"),
        ({"tags": [1]}, "tags must be a list of strings"),
        ({"created_after": "yesterday"}, "not an ISO 8601 time"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"conn_id": ""}, "conn_id"),
    ],
)
def test_bad_arguments_fail_when_the_dag_is_parsed(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(CodeOceanConfigError, match=message):
        CodeOceanDataAssetWatchTrigger(**kwargs)


def test_a_failed_cursor_write_is_written_again_and_the_watch_goes_on(
    codeocean_emulator: Any, airflow_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_codeocean.triggers.cursor_store import VariableCursorStore

    real_save = VariableCursorStore.save
    failures = {"left": 2}

    async def flaky_save(self: VariableCursorStore, value: dict[str, Any]) -> None:
        # The API server (or database) refusing the Variable write, twice.
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("api-server unavailable")
        await real_save(self, value)

    monkeypatch.setattr(VariableCursorStore, "save", flaky_save)
    trigger = watch(tags=[*TAGS, "t5"])

    async def scenario() -> None:
        running = await started(trigger)
        a = make_asset("a", [*TAGS, "t5"])
        assert await running.until(1) == [a["id"]]
        await searches_done(codeocean_emulator, 3)
        await running.stop()

    asyncio.run(scenario())
    assert failures["left"] == 0
    cursor = stored_cursor(trigger)
    assert cursor is not None and cursor["since"] > 0
