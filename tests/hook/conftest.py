"""Fixtures for the hook tests: a connection pointed at pytest-httpserver, a sleep recorder, and a
``send`` fixture that runs the same endpoint through the sync and the async transport."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

# Imported at collection time on purpose: importing Airflow configures logging and replaces the root
# handlers, which would drop caplog's handler if it first happened inside a test.
from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook
from tests.hook.util import set_connection


@pytest.fixture
def base_url(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


@pytest.fixture
def make_hook(monkeypatch: pytest.MonkeyPatch, base_url: str) -> Iterator[Callable[..., Any]]:
    """``make_hook(**extra)``: a CodeOceanHook on a fresh connection to the test server."""
    hooks: list[Any] = []

    def make(host: str | None = None, conn_id: str = "codeocean_default", **extra: Any) -> Any:
        set_connection(monkeypatch, host or base_url, conn_id=conn_id, **extra)
        hook = CodeOceanHook(conn_id)
        hooks.append(hook)
        return hook

    yield make
    for hook in hooks:
        hook.close()


@pytest.fixture
def hook(make_hook: Callable[..., Any]) -> Any:
    return make_hook()


@pytest.fixture(params=["sync", "async"])
def send(request: pytest.FixtureRequest) -> Callable[[Any, Any], Any]:
    """``send(hook, endpoint)`` through ``hook.call`` or ``hook.acall`` (on a fresh event loop)."""
    if request.param == "sync":
        return lambda hook, endpoint: hook.call(endpoint)

    def send_async(hook: Any, endpoint: Any) -> Any:
        async def run() -> Any:
            async with hook:
                return await hook.acall(endpoint)

        return asyncio.run(run())

    return send_async


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the waits the retry policy chooses instead of sleeping them (sync and async)."""
    recorded: list[float] = []
    real_async_sleep = asyncio.sleep

    def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    async def fake_async_sleep(seconds: float, result: Any = None) -> Any:
        recorded.append(seconds)
        return await real_async_sleep(0, result)

    monkeypatch.setattr(time, "sleep", fake_sleep)
    monkeypatch.setattr(asyncio, "sleep", fake_async_sleep)
    return recorded
