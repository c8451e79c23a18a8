"""Async hooks for one Code Ocean address share one aiohttp session per event loop, closed by its last user."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from airflow_provider_codeocean.api import async_transport
from airflow_provider_codeocean.api.async_transport import MAX_IN_FLIGHT, shared_client_count
from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook
from tests.hook.util import set_connection

CONCURRENT = MAX_IN_FLIGHT


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def acquired(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The client handed out by every acquire (the real function still does the work)."""
    seen: list[Any] = []
    real = async_transport.acquire_client

    def spy(settings: Any) -> Any:
        client = real(settings)
        seen.append(client)
        return client

    monkeypatch.setattr(async_transport, "acquire_client", spy)
    return seen


def _all_at_once(server: HTTPServer, count: int) -> threading.Barrier:
    """Answer only once ``count`` requests are in flight together, proving they were concurrent."""
    barrier = threading.Barrier(count, timeout=30)

    def handler(request: Request) -> Response:
        barrier.wait()
        computation_id = request.path.rsplit("/", 1)[1]
        return Response(json.dumps({"id": computation_id, "name": "r", "state": "running"}), 200)

    server.expect_request(re.compile(r"/api/v1/computations/c\d+")).respond_with_handler(handler)
    return barrier


def test_two_hooks_share_one_client_until_the_last_exits(httpserver: HTTPServer, make_hook: Any) -> None:
    httpserver.expect_request("/api/v1/computations/c1").respond_with_json({"id": "c1"})
    first, second = make_hook(), make_hook()

    async def run() -> None:
        async with first:
            async with second:
                assert shared_client_count() == 1
                client = first._async_transport._client
                assert second._async_transport._client is client
                await first.aget_computation("c1")
                await second.aget_computation("c1")
            # One user left: the client stays open.
            assert shared_client_count() == 1 and not client.is_closed
            await first.aget_computation("c1")
        assert shared_client_count() == 0 and client.is_closed

    asyncio.run(run())
    assert len(httpserver.log) == 3


def test_concurrent_calls_through_different_hooks_use_one_client(
    threaded_server: HTTPServer, monkeypatch: pytest.MonkeyPatch, acquired: list[Any]
) -> None:
    set_connection(monkeypatch, threaded_server.url_for("/").rstrip("/"))
    barrier = _all_at_once(threaded_server, CONCURRENT)
    counts: list[int] = []

    async def one(i: int) -> str:
        if i % 2:  # half through the hook's own enter/exit, half inside ``async with``
            return (await CodeOceanHook().aget_computation(f"c{i}")).id
        async with CodeOceanHook() as hook:
            computation = await hook.aget_computation(f"c{i}")
            counts.append(shared_client_count())
            return computation.id

    async def run() -> list[str]:
        ids = await asyncio.gather(*(one(i) for i in range(CONCURRENT)))
        assert shared_client_count() == 0
        return list(ids)

    ids = asyncio.run(run())

    assert not barrier.broken  # all of them were in flight at once
    assert ids == [f"c{i}" for i in range(CONCURRENT)]
    assert len(acquired) == CONCURRENT and len({id(c) for c in acquired}) == 1
    assert acquired[0].is_closed
    assert set(counts) == {1}


def test_requests_in_flight_never_exceed_the_gate(threaded_server: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # More calls than the gate admits: the excess waits in the gate, never in the client's pool.
    set_connection(monkeypatch, threaded_server.url_for("/").rstrip("/"))
    lock = threading.Lock()
    in_flight, peak = 0, 0
    release = threading.Event()

    def handler(request: Request) -> Response:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
            if in_flight == MAX_IN_FLIGHT:
                release.set()
        release.wait(timeout=30)
        with lock:
            in_flight -= 1
        computation_id = request.path.rsplit("/", 1)[1]
        return Response(json.dumps({"id": computation_id, "state": "running"}), 200)

    threaded_server.expect_request(re.compile(r"/api/v1/computations/c\d+")).respond_with_handler(handler)

    async def run() -> list[str]:
        async with CodeOceanHook() as hook:
            found = await asyncio.gather(*(hook.aget_computation(f"c{i}") for i in range(MAX_IN_FLIGHT + 30)))
        return [c.id for c in found]

    assert asyncio.run(run()) == [f"c{i}" for i in range(MAX_IN_FLIGHT + 30)]
    assert peak == MAX_IN_FLIGHT


def test_concurrent_calls_through_one_hook_without_async_with(
    threaded_server: HTTPServer, monkeypatch: pytest.MonkeyPatch, acquired: list[Any]
) -> None:
    # One hook instance used by many coroutines at once: no call may close the client under another.
    set_connection(monkeypatch, threaded_server.url_for("/").rstrip("/"))
    barrier = _all_at_once(threaded_server, 10)
    hook = CodeOceanHook()

    async def run() -> list[str]:
        found = await asyncio.gather(*(hook.aget_computation(f"c{i}") for i in range(10)))
        assert shared_client_count() == 0
        return [c.id for c in found]

    assert asyncio.run(run()) == [f"c{i}" for i in range(10)]
    assert not barrier.broken
    assert len({id(c) for c in acquired}) == 1 and acquired[0].is_closed


def test_the_client_is_released_when_the_body_raises(httpserver: HTTPServer, hook: Any) -> None:
    async def run() -> None:
        with pytest.raises(RuntimeError):
            async with hook:
                assert shared_client_count() == 1
                raise RuntimeError("task failed")
        assert shared_client_count() == 0

    asyncio.run(run())


def test_each_event_loop_gets_its_own_client(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request("/api/v1/computations/c1").respond_with_json({"id": "c1"})
    clients: list[Any] = []

    async def run() -> None:
        async with hook:
            clients.append(hook._async_transport._client)
            await hook.aget_computation("c1")

    asyncio.run(run())
    asyncio.run(run())

    assert clients[0] is not clients[1]
    assert all(c.is_closed for c in clients)


def test_different_addresses_get_different_clients(httpserver: HTTPServer, make_hook: Any) -> None:
    here = make_hook()
    elsewhere = make_hook(host="https://acme.codeocean.com", conn_id="codeocean_other")

    async def run() -> int:
        async with here, elsewhere:
            assert here._async_transport._client is not elsewhere._async_transport._client
            return shared_client_count()

    assert asyncio.run(run()) == 2
