"""HTTP error statuses become typed errors that say what failed (status, method, path) and what to do."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from airflow_provider_codeocean.api import endpoints
from airflow_provider_codeocean.errors import (
    CodeOceanApiError,
    CodeOceanAuthenticationError,
    CodeOceanBadRequestError,
    CodeOceanConflictError,
    CodeOceanError,
    CodeOceanNotFoundError,
    CodeOceanPermissionError,
    CodeOceanRateLimitError,
    CodeOceanServerError,
)
from airflow_provider_codeocean.models import RunParams

HTML_502 = """<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"""


@pytest.mark.parametrize(
    ("status", "error_type", "transient", "hint"),
    [
        (400, CodeOceanBadRequestError, False, None),
        (401, CodeOceanAuthenticationError, False, "check the API Token field"),
        (403, CodeOceanPermissionError, False, "scope"),
        (404, CodeOceanNotFoundError, False, "check the id"),
        (409, CodeOceanConflictError, False, None),
        (423, CodeOceanConflictError, False, None),
        (429, CodeOceanRateLimitError, True, None),
        (500, CodeOceanServerError, True, None),
        (503, CodeOceanServerError, True, None),
        (418, CodeOceanApiError, False, None),
    ],
)
def test_status_maps_to_a_typed_error(
    httpserver: HTTPServer,
    make_hook: Any,
    send: Any,
    status: int,
    error_type: type[CodeOceanApiError],
    transient: bool,
    hint: str | None,
) -> None:
    httpserver.expect_request("/api/v1/data_assets/d1").respond_with_json(
        {"message": "the server's own words", "datasets": ["x"]}, status=status
    )

    with pytest.raises(error_type) as info:
        send(make_hook(retry_limit=0), endpoints.get_data_asset("d1"))

    error = info.value
    assert type(error) is error_type and isinstance(error, CodeOceanError)
    assert (error.status_code, error.method, error.path) == (status, "GET", "/api/v1/data_assets/d1")
    assert error.message == "the server's own words"
    assert error.data == {"message": "the server's own words", "datasets": ["x"]}
    assert error.transient is transient
    assert str(error).startswith(f"GET /api/v1/data_assets/d1 failed with HTTP {status}: the server's own words")
    if hint:
        assert hint in (error.hint or "") and hint in str(error)


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (404, "<html><title>404 Not Found</title></html>", "text/html"),
        (404, "", "text/plain"),
        (405, '{"message": "Method Not Allowed"}', "application/json"),
    ],
)
def test_an_answer_that_is_not_code_oceans_says_to_check_the_domain(
    httpserver: HTTPServer, make_hook: Any, send: Any, status: int, body: str, content_type: str
) -> None:
    httpserver.expect_request("/api/v1/data_assets/d1").respond_with_data(
        body, status=status, content_type=content_type
    )

    with pytest.raises(CodeOceanApiError) as info:
        send(make_hook(retry_limit=0), endpoints.get_data_asset("d1"))

    assert info.value.status_code == status
    assert "check the connection's Domain field" in str(info.value)


def test_min_server_version_400_gets_a_hint(httpserver: HTTPServer, make_hook: Any, send: Any) -> None:
    httpserver.expect_request("/api/v1/computations/c1").respond_with_json(
        {"message": "Min-Server-Version 4.8.0 is newer than the server version 4.6.2"}, status=400
    )

    with pytest.raises(CodeOceanBadRequestError) as info:
        send(make_hook(min_server_version="4.8.0"), endpoints.get_computation("c1"))

    assert "min_server_version" in str(info.value)
    assert "Min-Server-Version 4.8.0 is newer" in str(info.value)


def test_an_ordinary_400_has_no_version_hint(httpserver: HTTPServer, hook: Any, send: Any) -> None:
    httpserver.expect_request("/api/v1/computations").respond_with_json({"message": "capsule_id is required"}, 400)

    with pytest.raises(CodeOceanBadRequestError) as info:
        send(hook, endpoints.run_computation(RunParams(capsule_id="c")))

    assert info.value.hint is None and "capsule_id is required" in str(info.value)


def test_an_html_502_page_reads_well(httpserver: HTTPServer, make_hook: Any, send: Any, sleeps: list[float]) -> None:
    httpserver.expect_request("/api/v1/computations/c1").respond_with_data(
        HTML_502, status=502, content_type="text/html"
    )

    with pytest.raises(CodeOceanServerError) as info:
        send(make_hook(retry_limit=1), endpoints.get_computation("c1"))

    error = info.value
    assert error.status_code == 502 and error.method == "GET" and error.path == "/api/v1/computations/c1"
    assert error.message == "HTTP 502 502 Bad Gateway (HTML error page)"
    assert "<" not in str(error)
    assert error.data is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "HTTP 503 with an empty body"),
        (b"upstream connect error", "upstream connect error"),
        (b'{"error": "Service Unavailable"}', "Service Unavailable"),
        (b"<html><body>down</body></html>", "HTTP 503 (HTML error page)"),
    ],
)
def test_other_error_bodies(httpserver: HTTPServer, make_hook: Any, send: Any, payload: bytes, message: str) -> None:
    httpserver.expect_request("/api/v1/computations/c1").respond_with_data(payload, status=503)

    with pytest.raises(CodeOceanServerError) as info:
        send(make_hook(retry_limit=0), endpoints.get_computation("c1"))

    assert info.value.message == message


def test_a_signed_url_error_from_an_object_store_reads_well(
    httpserver: HTTPServer, make_hook: Any, tmp_path: Any
) -> None:
    httpserver.expect_request("/api/v1/computations/c1/results/urls").respond_with_json(
        {"download_url": httpserver.url_for("/s3")}
    )
    httpserver.expect_request("/s3").respond_with_data(
        '<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>The key does not exist</Message></Error>',
        status=404,
    )

    with pytest.raises(CodeOceanNotFoundError) as info:
        make_hook(retry_limit=0).download_result_file("c1", "x", tmp_path / "x")

    assert info.value.message == "HTTP 404 The key does not exist"
    assert info.value.path == "signed URL for GET /api/v1/computations/c1/results/urls"
    assert "/s3" not in str(info.value)  # the signed URL (with its signature) is never in the text
