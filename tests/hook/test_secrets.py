"""The token never appears in logs, printed output, exception text or reprs, whatever fails and is retried."""

from __future__ import annotations

import asyncio
import base64
import importlib
import logging
import traceback
import uuid
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from airflow_provider_codeocean.api import endpoints
from airflow_provider_codeocean.errors import CodeOceanError
from airflow_provider_codeocean.models import RunParams
from tests.hook.servers import RawServer, http_response
from tests.hook.util import TOKEN, TOKEN_B64, set_connection

HTML_502 = b"<html><head><title>502 Bad Gateway</title></head></html>"


def _texts_of(error: BaseException) -> list[str]:
    return [str(error), repr(error), "".join(traceback.format_exception(error)), repr(vars(error))]


def _assert_no_token(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
        assert TOKEN_B64 not in text
        assert TOKEN[4:] not in text  # not even without its prefix


@pytest.fixture
def failing_server() -> Any:
    # Every way a call can fail, then a success, so retries and the final error all get logged.
    script: list[Any] = [
        http_response(401, {"message": "Unauthorized"}),
        http_response(403, {"message": "Forbidden"}),
        http_response(404, {"message": "no such computation"}),
        http_response(429, {"message": "slow down"}, headers={"Retry-After": "0"}),
        http_response(502, HTML_502),
        "reset",
        "hang",
        http_response(500, {"message": "boom"}),
        "hang",
    ]
    with RawServer(script, default=http_response(503, {"message": "unavailable"})) as server:
        yield server


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_token_is_absent_from_logs_output_and_errors(
    failing_server: RawServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    sleeps: list[float],
    mode: str,
) -> None:
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

    caplog.set_level(logging.DEBUG)  # urllib3, httpx and httpcore debug logs included
    set_connection(monkeypatch, failing_server.url, retry_limit=3, request_timeout=0.3)
    hook = CodeOceanHook()
    errors: list[BaseException] = []
    calls = [
        endpoints.get_computation("c1"),
        endpoints.get_computation("c1"),
        endpoints.get_computation("c1"),
        endpoints.run_computation(RunParams.build(capsule_id="ca900001-0000-4000-8000-000000000001")),
        endpoints.get_computation("c1"),
        endpoints.get_computation("c1"),
    ]

    async def run_async() -> None:
        async with hook:
            for endpoint in calls:
                try:
                    await hook.acall(endpoint)
                except CodeOceanError as exc:
                    errors.append(exc)

    if mode == "sync":
        for endpoint in calls:
            try:
                hook.call(endpoint)
            except CodeOceanError as exc:
                errors.append(exc)
        hook.close()
    else:
        asyncio.run(run_async())

    # Every call failed, and the failures were of every kind (retries were logged too).
    assert len(errors) == len(calls)
    assert len(failing_server.requests) >= len(calls) + 3
    assert any("retrying" in r.getMessage() for r in caplog.records)
    out, err = capfd.readouterr()
    _assert_no_token(out, err, caplog.text, *(r.getMessage() for r in caplog.records))
    for error in errors:
        _assert_no_token(*_texts_of(error))
    _assert_no_token(repr(hook.settings), str(hook.settings), repr(hook))


def test_config_errors_do_not_echo_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_codeocean.api.settings import ClientSettings
    from airflow_provider_codeocean.errors import CodeOceanConfigError

    bad_hosts = [
        f"https://{TOKEN}:@",
        f"ftp://{TOKEN}@acme.codeocean.com",
        f"http://{TOKEN}:@acme.codeocean.com",
        f"https://{TOKEN}@acme.codeocean.com",
    ]
    for host in bad_hosts:
        with pytest.raises(CodeOceanConfigError) as info:
            ClientSettings.from_connection(host=host, password=None)
        _assert_no_token(*_texts_of(info.value))
        assert "password field" in str(info.value)


def test_the_token_is_registered_with_airflow_secret_masking(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, base_url: str
) -> None:
    # The token given in the login field (which Airflow itself does not mask) is masked by the hook.
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

    token = f"cop_login_{uuid.uuid4().hex}"
    monkeypatch.setenv(
        "AIRFLOW_CONN_CODEOCEAN_DEFAULT",
        f'{{"conn_type": "codeocean", "host": "{base_url}", "login": "{token}"}}',
    )

    assert CodeOceanHook().settings.token == token
    assert token not in str(_redact(f"token={token}"))


def test_the_token_is_masked_on_the_async_path_too(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, base_url: str
) -> None:
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

    token = f"cop_login_{uuid.uuid4().hex}"
    monkeypatch.setenv(
        "AIRFLOW_CONN_CODEOCEAN_DEFAULT",
        f'{{"conn_type": "codeocean", "host": "{base_url}", "login": "{token}"}}',
    )

    settings = asyncio.run(CodeOceanHook().aget_settings())

    assert settings.token == token
    assert token not in str(_redact(f"token={token}"))


def test_hooks_with_different_tokens_share_a_client_but_not_credentials(httpserver: HTTPServer, make_hook: Any) -> None:
    from airflow_provider_codeocean.api.async_transport import shared_client_count

    httpserver.expect_request("/api/v1/computations/c1").respond_with_json({"id": "c1"})
    first = make_hook(conn_id="codeocean_a")
    second = make_hook(conn_id="codeocean_b", token="cop_second_token")

    async def run() -> int:
        async with first, second:
            await first.aget_computation("c1")
            await second.aget_computation("c1")
            await first.aget_computation("c1")
            return shared_client_count()

    assert asyncio.run(run()) == 1
    second_b64 = base64.b64encode(b"cop_second_token:").decode()
    assert [r.headers["Authorization"] for r, _ in httpserver.log] == [
        f"Basic {TOKEN_B64}",
        f"Basic {second_b64}",
        f"Basic {TOKEN_B64}",
    ]


def _redact(text: str) -> Any:
    # The masker moved twice: airflow.sdk._shared (3.1+), airflow.sdk.execution_time (3.0), airflow.utils.log (2).
    for module in (
        "airflow.sdk._shared.secrets_masker",
        "airflow.sdk.execution_time.secrets_masker",
        "airflow.utils.log.secrets_masker",
    ):
        try:
            return importlib.import_module(module).redact(text)
        except ImportError:
            continue
    raise AssertionError("no Airflow secrets masker found")
