"""Servers that never answer or drop the connection, on raw loopback sockets (see ``servers.py``).

A creating POST that gets no answer may still have created its run or asset, so exactly one request
may reach the server; idempotent requests are retried.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_codeocean.api import endpoints
from airflow_provider_codeocean.errors import (
    CodeOceanConnectionError,
    CodeOceanServerError,
    CodeOceanTimeoutError,
)
from airflow_provider_codeocean.models import DataAssetParams, RunParams
from tests.hook.servers import RawServer, closed_port, http_response

RUN = endpoints.run_computation(RunParams.build(capsule_id="ca900001-0000-4000-8000-000000000001"))
OK_COMPUTATION = http_response(200, {"id": "c1", "name": "r", "state": "running"})


@pytest.fixture
def raw_server() -> Iterator[Any]:
    servers: list[RawServer] = []

    def start(script: list[Any] | None = None, default: Any = "hang") -> RawServer:
        server = RawServer(script, default).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def test_a_server_that_never_answers_ends_in_a_timeout(
    raw_server: Any, make_hook: Any, send: Any, sleeps: list[float]
) -> None:
    server = raw_server(default="hang")
    hook = make_hook(server.url, request_timeout=0.3, retry_limit=0)

    with pytest.raises(CodeOceanTimeoutError) as info:
        send(hook, endpoints.get_computation("c1"))

    assert info.value.transient
    assert info.value.method == "GET" and info.value.path == "/api/v1/computations/c1"
    assert "no answer within 0.3 s" in str(info.value)
    assert server.requests == ["GET /api/v1/computations/c1"]


def test_a_server_that_answers_a_byte_at_a_time_ends_in_a_timeout(
    raw_server: Any, make_hook: Any, send: Any, sleeps: list[float]
) -> None:
    # Every byte arrives within the read timeout; the request's total deadline (connect + read) ends it.
    server = raw_server(default="drip")
    hook = make_hook(server.url, request_timeout=0.5, connect_timeout=0.5, retry_limit=0)

    with pytest.raises(CodeOceanTimeoutError) as info:
        send(hook, endpoints.get_computation("c1"))

    assert info.value.transient and info.value.path == "/api/v1/computations/c1"
    assert server.requests == ["GET /api/v1/computations/c1"]


def test_a_timed_out_get_is_retried(raw_server: Any, make_hook: Any, send: Any, sleeps: list[float]) -> None:
    server = raw_server(["hang", "hang"], default=OK_COMPUTATION)
    hook = make_hook(server.url, request_timeout=0.3, retry_limit=2)

    assert send(hook, endpoints.get_computation("c1")).state == "running"
    assert len(server.requests) == 3


def test_a_timed_out_run_is_not_sent_again(raw_server: Any, make_hook: Any, send: Any, sleeps: list[float]) -> None:
    # The ambiguous POST: the run may exist; only the caller can look for it before resubmitting.
    server = raw_server(default="hang")
    hook = make_hook(server.url, request_timeout=0.3, retry_limit=3)

    with pytest.raises(CodeOceanTimeoutError):
        send(hook, RUN)

    assert server.requests == ["POST /api/v1/computations"]


def test_a_reset_connection_is_a_connection_error_and_retried(
    raw_server: Any, make_hook: Any, send: Any, sleeps: list[float]
) -> None:
    server = raw_server(["reset", "reset"], default=OK_COMPUTATION)
    hook = make_hook(server.url, retry_limit=2)

    assert send(hook, endpoints.get_computation("c1")).id == "c1"
    assert len(server.requests) == 3


def test_resets_past_the_retry_limit_raise_a_connection_error(
    raw_server: Any, make_hook: Any, send: Any, sleeps: list[float]
) -> None:
    server = raw_server(default="reset")
    hook = make_hook(server.url, retry_limit=1)

    with pytest.raises(CodeOceanConnectionError) as info:
        send(hook, endpoints.get_computation("c1"))

    assert info.value.transient and info.value.path == "/api/v1/computations/c1"
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("reset", CodeOceanConnectionError),
        (http_response(502, b"<html><title>Bad Gateway</title></html>"), CodeOceanServerError),
    ],
    ids=["reset", "html-502"],
)
def test_a_dropped_or_502_create_is_not_sent_again(
    raw_server: Any, make_hook: Any, send: Any, sleeps: list[float], fault: Any, error: type[Exception]
) -> None:
    server = raw_server(default=fault)
    hook = make_hook(server.url, retry_limit=3)
    create = endpoints.create_data_asset(
        DataAssetParams(
            name="n",
            mount="m",
            data_asset_ids=["a1a1a1a1-0000-4000-8000-000000000001", "a2a2a2a2-0000-4000-8000-000000000002"],
        )
    )

    with pytest.raises(error) as info:
        send(hook, create)

    assert server.requests == ["POST /api/v1/data_assets"]
    assert info.value.transient


def test_a_refused_connection_is_a_connection_error(make_hook: Any, send: Any, sleeps: list[float]) -> None:
    with closed_port() as url:
        hook = make_hook(url, retry_limit=1)
        with pytest.raises(CodeOceanConnectionError, match=r"connection to http://127\.0\.0\.1:"):
            send(hook, endpoints.get_computation("c1"))
    assert len([s for s in sleeps if s]) == 1  # retried once


def test_a_hanging_download_times_out(raw_server: Any, make_hook: Any, httpserver: Any, tmp_path: Any) -> None:
    server = raw_server(default="hang")
    httpserver.expect_request("/api/v1/computations/c1/results/urls").respond_with_json(
        {"download_url": f"{server.url}/signed/x"}
    )
    hook = make_hook(request_timeout=0.3, retry_limit=0)

    with pytest.raises(CodeOceanTimeoutError, match="signed URL for GET /api/v1/computations/c1/results/urls"):
        hook.download_result_file("c1", "x", tmp_path / "x")

    assert server.requests == ["GET /signed/x"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("retry_limit", "attempts", "expected"), [(2, None, 3), (5, 2, 2), (5, 1, 1)])
def test_a_download_that_always_hangs_costs_its_attempt_budget(
    raw_server: Any,
    make_hook: Any,
    httpserver: Any,
    tmp_path: Any,
    sleeps: list[float],
    retry_limit: int,
    attempts: int | None,
    expected: int,
) -> None:
    # One retry layer: each attempt is one signed-URL request and one download, never retried inside.
    server = raw_server(default="hang")
    httpserver.expect_request("/api/v1/computations/c1/results/urls").respond_with_json(
        {"download_url": f"{server.url}/signed/x"}
    )
    hook = make_hook(request_timeout=0.3, retry_limit=retry_limit)

    started = time.monotonic()
    with pytest.raises(CodeOceanTimeoutError):
        hook.download_result_file("c1", "x", tmp_path / "x", attempts=attempts)
    elapsed = time.monotonic() - started

    assert server.requests == ["GET /signed/x"] * expected
    assert [r.path for r, _ in httpserver.log] == ["/api/v1/computations/c1/results/urls"] * expected
    assert len(sleeps) == expected - 1
    # Each attempt ends at its read timeout (0.3 s); the budget, not retries inside retries, bounds the call.
    assert elapsed < expected * 0.3 + 2.0
    assert list(tmp_path.iterdir()) == []
