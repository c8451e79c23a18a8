"""CodeOceanDataAssetSearchTrigger on the shared poller, over real HTTP to the emulator: waits on one search
share its requests, a throttled search pauses the whole connection, and every page is read."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from airflow_provider_codeocean._common import asset_search
from airflow_provider_codeocean._common.asset_search import AssetSearch, search_key
from airflow_provider_codeocean.triggers.data_asset_search import CodeOceanDataAssetSearchTrigger
from airflow_provider_codeocean.triggers.poller import DATA_ASSET_SEARCH, active_pollers, subscription
from tests.operators.test_computation_support import LONG, start_run
from tests.sensors.test_data_asset_search_sensor import make_asset
from tests.triggers.test_poller import trigger, wait_for, wait_until_idle, within

SEARCH = "/api/v1/data_assets/search"
#: An interval no test outlives: the only polls are the ones a test asks for with ``poll_now``. (The
#: first scheduled poll falls at a random point of the interval: a few seconds in 10^6 never comes.)
NEVER = 1e6


def search_trigger(spec: AssetSearch, **kwargs: Any) -> CodeOceanDataAssetSearchTrigger:
    return CodeOceanDataAssetSearchTrigger(conn_id="codeocean_default", search=spec.to_json(), **kwargs)


async def event_of(t: Any) -> dict[str, Any]:
    events = [event.payload async for event in t.run()]
    assert len(events) == 1
    payload: dict[str, Any] = events[0]
    return payload


def searches(emulator: Any) -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if r["method"] == "POST" and r["path"] == SEARCH]


def test_serialized_kwargs_are_unchanged() -> None:
    spec = AssetSearch.of(tags=["raw"], type="dataset", created_after=10.0)
    classpath, kwargs = search_trigger(spec, min_count=2, poll_interval=5, end_time=20.0).serialize()

    assert classpath == "airflow_provider_codeocean.triggers.data_asset_search.CodeOceanDataAssetSearchTrigger"
    assert kwargs == {
        "conn_id": "codeocean_default",
        "search": spec.to_json(),
        "min_count": 2,
        "poll_interval": 5.0,
        "end_time": 20.0,
        "execution_deadline": None,
        "transient_grace": 600.0,
    }
    assert CodeOceanDataAssetSearchTrigger(**kwargs).serialize() == (classpath, kwargs)


def test_the_search_key_reads_back_as_the_same_search() -> None:
    spec = AssetSearch.of("mouse", ["b", "a"], "result", {"z": 1, "a": "x"}, 5.0)
    reordered = AssetSearch.from_json(dict(reversed(list(spec.to_json().items()))))

    assert AssetSearch.from_key(search_key(spec)) == spec
    assert search_key(reordered) == search_key(spec)


async def test_two_triggers_on_one_search_share_each_search_request(emulator: Any) -> None:
    asset = make_asset("held", ["shared-search"], wait=False)
    emulator.set_data_asset_state(asset["id"], "draft")
    spec = AssetSearch.of(tags=["shared-search"])
    emulator.clear_requests()
    tasks = [asyncio.create_task(event_of(search_trigger(spec, poll_interval=NEVER))) for _ in range(2)]

    with subscription("codeocean_default", DATA_ASSET_SEARCH, search_key(spec), NEVER) as observer:
        await wait_for(lambda: len(observer.watch.subscribers) == 3)
        assert active_pollers()["codeocean_default"].waits == 1
        for polls in range(1, 4):  # the asset is still a draft: the triggers wait on
            observer.poll_now()
            outcome = await observer.next(any_outcome=True)
            assert outcome is not None and outcome.error is None
            assert [a.id for a in outcome.item] == [asset["id"]]
            assert len(searches(emulator)) == polls
        emulator.set_data_asset_state(asset["id"], "ready")
        observer.poll_now()
        events = await within(*tasks)

    assert [e["status"] for e in events] == ["success", "success"]
    assert all([a["id"] for a in e["data_assets"]] == [asset["id"]] for e in events)
    assert len(searches(emulator)) == 4  # one per poll, for both triggers
    await wait_until_idle()
    assert not active_pollers()


async def test_a_429_on_a_search_pauses_every_poll_of_the_connection(
    emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    asset = make_asset("held", ["throttled-search"], wait=False)
    emulator.set_data_asset_state(asset["id"], "draft")
    runs = [start_run(LONG) for _ in range(5)]
    spec = AssetSearch.of(tags=["throttled-search"])
    emulator.clear_requests()
    tasks = [asyncio.create_task(event_of(trigger(c, poll_interval=0.1))) for c in runs]
    tasks.append(asyncio.create_task(event_of(search_trigger(spec, poll_interval=0.1))))
    await wait_for(lambda: len(searches(emulator)) >= 3 and len(emulator.requests()) > 30)
    emulator.add_fault(f"429 method=POST path={SEARCH} times=1 retry_after=1")
    await wait_for(lambda: any(r["status"] == 429 for r in emulator.requests()))
    await asyncio.sleep(1.5)
    for computation_id in runs:
        emulator.complete_computation(computation_id, "succeeded", exit_code=0)
    emulator.set_data_asset_state(asset["id"], "ready")

    events = await within(*tasks)

    assert [e["status"] for e in events] == ["success"] * 6
    assert [a["id"] for a in events[-1]["data_assets"]] == [asset["id"]]
    requests = emulator.requests()
    throttled = [r for r in requests if r["status"] == 429]
    assert len(throttled) == 1
    refused_at = throttled[0]["time"]
    # The runs' GETs stop too: polls already under way may land just after the 429, none starts in the pause.
    assert not [r for r in requests if refused_at + 0.25 < r["time"] < refused_at + 0.9]
    assert len([r for r in caplog.records if "pausing all polls" in r.getMessage()]) == 1


async def test_a_search_longer_than_a_page_is_read_to_the_end(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asset_search, "_PAGE", 2)
    before = time.time() - 1
    made = [make_asset(f"page {n}", ["paged"]) for n in range(5)]
    spec = AssetSearch.of(tags=["paged"], created_after=before)
    oldest_first = [a["id"] for a in sorted(made, key=lambda a: (a["created"], a["id"]))]
    emulator.clear_requests()

    with subscription("codeocean_default", DATA_ASSET_SEARCH, search_key(spec), NEVER) as wait:
        wait.poll_now()
        outcome = await wait.next(any_outcome=True)
        assert outcome is not None and outcome.error is None
        assert [a.id for a in outcome.item] == oldest_first
        # One poll, three pages of at most two, each counted as a request of the poller.
        assert active_pollers()["codeocean_default"].requests == 3
    assert len(searches(emulator)) == 3

    (event,) = await within(event_of(search_trigger(spec, poll_interval=0.05, min_count=5)))

    assert event["status"] == "success"
    assert [a["id"] for a in event["data_assets"]] == oldest_first
