"""The retry matrix: which statuses and which requests are retried, how long the policy waits, and how
often it tries, for the sync and the async transport. Requests are counted on the server."""

from __future__ import annotations

import logging
from email.utils import formatdate
from time import time as now
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from airflow_provider_codeocean.api import endpoints
from airflow_provider_codeocean.errors import (
    CodeOceanApiError,
    CodeOceanRateLimitError,
    CodeOceanServerError,
)
from airflow_provider_codeocean.models import DataAssetParams, DataAssetUpdate, Permissions, RunParams
from airflow_provider_codeocean.models.params import ComputationSource

RETRY_LIMIT = 2  # FAST_EXTRA's: three attempts in all

RUN = RunParams.build(capsule_id="ca900001-0000-4000-8000-000000000001")
ASSET = DataAssetParams(name="n", mount="m", source=ComputationSource(id="c1c1c1c1-0000-4000-8000-000000000001"))

# (name, endpoint, method, path)
IDEMPOTENT = [
    ("GET computation", endpoints.get_computation("c1"), "GET", "computations/c1"),
    ("PUT data asset", endpoints.update_data_asset("d1", DataAssetUpdate(name="x")), "PUT", "data_assets/d1"),
    ("DELETE computation", endpoints.delete_computation("c1"), "DELETE", "computations/c1"),
    ("PATCH rename", endpoints.rename_computation("c1", "n"), "PATCH", "computations/c1"),
    ("POST capsule search", endpoints.search_capsules({}), "POST", "capsules/search"),
    ("POST data asset search", endpoints.search_data_assets({}), "POST", "data_assets/search"),
    ("POST results", endpoints.list_results("c1"), "POST", "computations/c1/results"),
    ("POST asset files", endpoints.list_data_asset_files("d1"), "POST", "data_assets/d1/files"),
    ("POST permissions", endpoints.update_capsule_permissions("c1", Permissions()), "POST", "capsules/c1/permissions"),
]
CREATING = [
    ("POST computations", endpoints.run_computation(RUN), "POST", "computations"),
    ("POST data_assets", endpoints.create_data_asset(ASSET), "POST", "data_assets"),
]


def _ids(cases: list[Any]) -> list[str]:
    return [case[0] for case in cases]


def _always(httpserver: HTTPServer, method: str, path: str, status: int, **headers: str) -> None:
    httpserver.expect_request(f"/api/v1/{path}", method=method).respond_with_json(
        {"message": f"status {status}"}, status=status, headers=headers
    )


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_up_to_the_limit(
    httpserver: HTTPServer, hook: Any, send: Any, sleeps: list[float], status: int
) -> None:
    _always(httpserver, "GET", "computations/c1", status)

    with pytest.raises(CodeOceanApiError) as info:
        send(hook, endpoints.get_computation("c1"))

    assert info.value.status_code == status and info.value.transient
    assert len(httpserver.log) == RETRY_LIMIT + 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 423])
def test_final_statuses_are_not_retried(
    httpserver: HTTPServer, hook: Any, send: Any, sleeps: list[float], status: int
) -> None:
    _always(httpserver, "GET", "computations/c1", status)

    with pytest.raises(CodeOceanApiError) as info:
        send(hook, endpoints.get_computation("c1"))

    assert info.value.status_code == status and not info.value.transient
    assert len(httpserver.log) == 1


def test_a_retried_call_returns_the_answer_that_finally_came(
    httpserver: HTTPServer, hook: Any, send: Any, sleeps: list[float]
) -> None:
    httpserver.expect_ordered_request("/api/v1/computations/c1").respond_with_json({"message": "x"}, status=503)
    httpserver.expect_ordered_request("/api/v1/computations/c1").respond_with_json({"message": "x"}, status=429)
    httpserver.expect_ordered_request("/api/v1/computations/c1").respond_with_json({"id": "c1", "state": "running"})

    assert send(hook, endpoints.get_computation("c1")).state == "running"
    assert len(httpserver.log) == 3


@pytest.mark.parametrize(("name", "endpoint", "method", "path"), IDEMPOTENT, ids=_ids(IDEMPOTENT))
def test_idempotent_requests_are_retried_on_5xx(
    httpserver: HTTPServer, hook: Any, send: Any, sleeps: list[float], name: str, endpoint: Any, method: str, path: str
) -> None:
    _always(httpserver, method, path, 502)

    with pytest.raises(CodeOceanServerError):
        send(hook, endpoint)

    assert len(httpserver.log) == RETRY_LIMIT + 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize(("name", "endpoint", "method", "path"), CREATING, ids=_ids(CREATING))
def test_creating_posts_are_not_retried_on_5xx(
    httpserver: HTTPServer,
    hook: Any,
    send: Any,
    sleeps: list[float],
    name: str,
    endpoint: Any,
    method: str,
    path: str,
    status: int,
) -> None:
    # The run (or asset) may have been created before the error: sending again could make a second one.
    _always(httpserver, method, path, status)

    with pytest.raises(CodeOceanServerError):
        send(hook, endpoint)

    assert len(httpserver.log) == 1
    assert sleeps == []


@pytest.mark.parametrize(("name", "endpoint", "method", "path"), CREATING, ids=_ids(CREATING))
def test_creating_posts_are_retried_on_429(
    httpserver: HTTPServer, hook: Any, send: Any, sleeps: list[float], name: str, endpoint: Any, method: str, path: str
) -> None:
    # A 429 means the server refused the request, so nothing was created and sending again is safe.
    for _ in range(2):
        httpserver.expect_ordered_request(f"/api/v1/{path}", method=method).respond_with_json(
            {"message": "The Computation API is overloaded"}, status=429
        )
    httpserver.expect_ordered_request(f"/api/v1/{path}", method=method).respond_with_json(
        {"id": "new1", "name": "x", "state": "initializing"}
    )

    assert send(hook, endpoint).id == "new1"
    assert len(httpserver.log) == 3


def test_retry_limit_from_the_connection(
    httpserver: HTTPServer, make_hook: Any, send: Any, sleeps: list[float]
) -> None:
    _always(httpserver, "GET", "computations/c1", 503)

    with pytest.raises(CodeOceanServerError):
        send(make_hook(retry_limit=4), endpoints.get_computation("c1"))

    assert len(httpserver.log) == 5


def test_retry_limit_zero_sends_once(httpserver: HTTPServer, make_hook: Any, send: Any, sleeps: list[float]) -> None:
    _always(httpserver, "GET", "computations/c1", 429)

    with pytest.raises(CodeOceanRateLimitError):
        send(make_hook(retry_limit=0), endpoints.get_computation("c1"))

    assert len(httpserver.log) == 1


def test_retry_limit_argument_overrides_the_connection(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, base_url: str, sleeps: list[float]
) -> None:
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook
    from tests.hook.util import set_connection

    set_connection(monkeypatch, base_url, retry_limit=5)
    _always(httpserver, "GET", "computations/c1", 503)

    with pytest.raises(CodeOceanServerError):
        CodeOceanHook(retry_limit=1).get_computation("c1")

    assert len(httpserver.log) == 2


# Waits: the recorded sleep is what tenacity chose; nothing is timed.


def _retry_waits(caplog: pytest.LogCaptureFixture) -> list[float]:
    return [r.args[-1] for r in caplog.records if r.name == "airflow_provider_codeocean.api.retry"]  # type: ignore[index]


def test_retry_after_seconds_is_honoured(
    httpserver: HTTPServer, make_hook: Any, send: Any, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="airflow_provider_codeocean.api.retry")
    _always(httpserver, "GET", "computations/c1", 429, **{"Retry-After": "7"})

    with pytest.raises(CodeOceanRateLimitError) as info:
        send(make_hook(retry_backoff=0.01, retry_max_wait=60), endpoints.get_computation("c1"))

    assert info.value.retry_after == 7
    assert [s for s in sleeps if s] == [7.0, 7.0]
    assert _retry_waits(caplog) == [7.0, 7.0]


def test_retry_after_on_a_503_is_honoured(
    httpserver: HTTPServer, make_hook: Any, send: Any, sleeps: list[float]
) -> None:
    _always(httpserver, "GET", "computations/c1", 503, **{"Retry-After": "3"})

    with pytest.raises(CodeOceanServerError):
        send(make_hook(retry_limit=1, retry_max_wait=60), endpoints.get_computation("c1"))

    assert [s for s in sleeps if s] == [3.0]


def test_retry_after_http_date_is_honoured(
    httpserver: HTTPServer, make_hook: Any, send: Any, sleeps: list[float]
) -> None:
    _always(httpserver, "GET", "computations/c1", 429, **{"Retry-After": formatdate(now() + 40, usegmt=True)})

    with pytest.raises(CodeOceanRateLimitError):
        send(make_hook(retry_limit=1, retry_max_wait=60), endpoints.get_computation("c1"))

    (wait,) = [s for s in sleeps if s]
    assert 30 < wait <= 40


def test_retry_after_is_capped_by_retry_max_wait(
    httpserver: HTTPServer, make_hook: Any, send: Any, sleeps: list[float]
) -> None:
    _always(httpserver, "GET", "computations/c1", 429, **{"Retry-After": "3600"})

    with pytest.raises(CodeOceanRateLimitError):
        send(make_hook(retry_limit=1, retry_max_wait=5), endpoints.get_computation("c1"))

    assert [s for s in sleeps if s] == [5.0]


def test_without_retry_after_the_backoff_stays_under_its_cap(
    httpserver: HTTPServer, make_hook: Any, send: Any, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="airflow_provider_codeocean.api.retry")
    _always(httpserver, "GET", "computations/c1", 502)

    with pytest.raises(CodeOceanServerError):
        send(make_hook(retry_limit=3, retry_backoff=0.5, retry_max_wait=0.75), endpoints.get_computation("c1"))

    waits = _retry_waits(caplog)
    assert len(waits) == 3
    assert all(0 <= w <= 0.75 for w in waits)


def test_the_retry_log_names_the_request_and_attempt(
    httpserver: HTTPServer, hook: Any, send: Any, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="airflow_provider_codeocean.api.retry")
    _always(httpserver, "GET", "computations/c1", 503)

    with pytest.raises(CodeOceanServerError):
        send(hook, endpoints.get_computation("c1"))

    messages = [r.getMessage() for r in caplog.records if r.name == "airflow_provider_codeocean.api.retry"]
    assert len(messages) == RETRY_LIMIT
    assert "GET /api/v1/computations/c1 failed (attempt 1)" in messages[0]
    assert "HTTP 503" in messages[0]
