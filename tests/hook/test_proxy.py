"""Both transports honour HTTP_PROXY / NO_PROXY from the environment, as requests does by default."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from airflow_provider_codeocean.api import endpoints

REMOTE = "http://codeocean.invalid"


def test_requests_go_through_the_proxy_from_the_environment(
    httpserver: HTTPServer, make_hook: Any, send: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The proxy (this server) is asked for the absolute URL of a host that does not resolve.
    httpserver.expect_request("/api/v1/computations/c1").respond_with_json({"id": "c1", "state": "running"})
    monkeypatch.setenv("HTTP_PROXY", httpserver.url_for("/").rstrip("/"))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    hook = make_hook(REMOTE, allow_insecure_http=True)

    computation = send(hook, endpoints.get_computation("c1"))

    assert computation.id == "c1"
    assert len(httpserver.log) == 1
    request = httpserver.log[0][0]
    assert request.headers.get("Host") == "codeocean.invalid"


def test_no_proxy_sends_directly(
    httpserver: HTTPServer, make_hook: Any, send: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/api/v1/computations/c1").respond_with_json({"id": "c1", "state": "running"})
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    hook = make_hook()

    assert send(hook, endpoints.get_computation("c1")).id == "c1"
