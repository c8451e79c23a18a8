"""Connection parsing into client settings, the headers every request carries, and test_connection()."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from airflow_provider_codeocean import __version__
from airflow_provider_codeocean.api import endpoints
from airflow_provider_codeocean.api.settings import ClientSettings
from airflow_provider_codeocean.errors import CodeOceanConfigError
from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook
from tests.hook.servers import closed_port
from tests.hook.util import TOKEN, set_connection


def settings(host: Any = "acme.codeocean.com", password: Any = TOKEN, **extra: Any) -> ClientSettings:
    return ClientSettings.from_connection(host=host, password=password, extra=extra, conn_id="co")


# Domain


@pytest.mark.parametrize(
    ("host", "base_url"),
    [
        ("acme.codeocean.com", "https://acme.codeocean.com"),
        ("https://acme.codeocean.com", "https://acme.codeocean.com"),
        ("https://acme.codeocean.com/", "https://acme.codeocean.com"),
        ("https://acme.codeocean.com/api/v1", "https://acme.codeocean.com"),
        ("https://acme.codeocean.com/api/v1/", "https://acme.codeocean.com"),
        ("acme.codeocean.com/api", "https://acme.codeocean.com"),
        ("  https://ACME.codeocean.com:8443/prefix/  ", "https://acme.codeocean.com:8443/prefix"),
        ("localhost:8080", "http://localhost:8080"),
        ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
        ("http://[::1]:5000", "http://[::1]:5000"),
        ("https://127.0.0.1", "https://127.0.0.1"),
    ],
)
def test_domain_forms(host: str, base_url: str) -> None:
    assert settings(host).base_url == base_url
    assert settings(host).api_url == base_url + "/api/v1/"


def test_port_field_is_used_when_the_host_has_none() -> None:
    assert ClientSettings.from_connection(host="acme.codeocean.com", password=TOKEN, port=8443).base_url == (
        "https://acme.codeocean.com:8443"
    )


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(CodeOceanConfigError, match=r"refusing plain http:// to acme\.codeocean\.com") as info:
        settings("http://acme.codeocean.com")
    assert "allow_insecure_http" in str(info.value)


@pytest.mark.parametrize("flag", [True, "true", "1", "yes"])
def test_plain_http_allowed_when_the_extra_says_so(flag: Any) -> None:
    assert settings("http://acme.codeocean.com", allow_insecure_http=flag).base_url == "http://acme.codeocean.com"


@pytest.mark.parametrize(
    ("host", "message"),
    [
        (None, "has no domain"),
        ("   ", "has no domain"),
        ("ftp://acme.codeocean.com", "must use https://"),
        ("https://", "cannot read a domain"),
        ("https://cop_abc@acme.codeocean.com", "password field, not in the host"),
    ],
)
def test_bad_domains(host: Any, message: str) -> None:
    with pytest.raises(CodeOceanConfigError, match=message) as info:
        settings(host)
    assert "'co'" in str(info.value)  # names the connection
    assert isinstance(info.value, ValueError)


# Token


def test_missing_token_says_where_it_goes() -> None:
    with pytest.raises(CodeOceanConfigError, match="put the Code Ocean access token") as info:
        settings(password="  ")
    assert "codeocean://:TOKEN@your-domain" in str(info.value)


def test_token_is_stripped_and_may_come_from_the_login_field() -> None:
    assert settings(password=f" {TOKEN}\n").token == TOKEN
    assert ClientSettings.from_connection(host="acme.codeocean.com", password=None, login=TOKEN).token == TOKEN


def test_login_that_is_not_a_token_is_ignored() -> None:
    with pytest.raises(CodeOceanConfigError, match="no API token"):
        ClientSettings.from_connection(host="acme.codeocean.com", password=None, login="someone")


def test_repr_lacks_the_token() -> None:
    value = settings()
    assert TOKEN not in repr(value) and TOKEN not in str(value)
    assert TOKEN not in str(value.pool_key) and TOKEN not in str(value.headers)


# Extras


def test_defaults() -> None:
    value = settings()
    assert (value.connect_timeout, value.read_timeout) == (10.0, 60.0)
    assert (value.retry_limit, value.retry_backoff, value.retry_max_wait) == (5, 1.0, 60.0)
    assert value.verify is True and value.agent_id is None and value.min_server_version is None


@pytest.mark.parametrize(
    ("written", "verify"),
    [("y", True), ("on", True), ("true", True), ("1", True), ("n", False), ("off", False), ("0", False), ("", False)],
)
def test_booleans_accept_what_airflows_forms_write(written: str, verify: bool) -> None:
    # The 2.11 form stores a ticked "Verify TLS certificates" box as "y"; its Test button used to fail.
    assert settings(verify_ssl=written).verify is verify
    assert settings(allow_insecure_http=written, verify_ssl=True).verify is True


def test_extras_are_parsed_from_strings() -> None:
    value = settings(
        request_timeout="12.5",
        connect_timeout="3",
        retry_limit="2",
        retry_backoff="0.5",
        retry_max_wait="9",
        verify_ssl="false",
        agent_id="Apache Airflow",
        min_server_version="4.6.0",
    )
    assert (value.read_timeout, value.connect_timeout, value.retry_limit) == (12.5, 3.0, 2)
    assert (value.retry_backoff, value.retry_max_wait, value.verify) == (0.5, 9.0, False)
    assert value.agent_id == "Apache Airflow" and value.min_server_version == "4.6.0"


def test_timeout_alias_and_request_timeout_wins() -> None:
    assert settings(timeout=7).read_timeout == 7
    assert settings(timeout=7, request_timeout=9).read_timeout == 9


def test_ca_bundle_is_used_for_verification() -> None:
    assert settings(ca_bundle="/etc/ssl/corp.pem").verify == "/etc/ssl/corp.pem"
    assert settings(ca_bundle="/etc/ssl/corp.pem", verify_ssl=False).verify is False


def test_url_templates() -> None:
    value = settings(computation_url_template="{base_url}/runs/{id}")
    assert value.computation_url("c1") == "https://acme.codeocean.com/runs/c1"
    assert value.data_asset_url("d1") == "https://acme.codeocean.com/data-assets/d1"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"retry_limit": "many"}, "'retry_limit' must be a number, got 'many'"),
        ({"retry_limit": -1}, "'retry_limit' must be at least 0"),
        ({"request_timeout": 0}, "'request_timeout' must be at least"),
        ({"connect_timeout": "soon"}, "'connect_timeout' must be a number"),
        ({"retry_backoff": [1]}, "'retry_backoff' must be a number"),
        ({"verify_ssl": "maybe"}, "'verify_ssl' must be true or false, got 'maybe'"),
        ({"allow_insecure_http": "sometimes"}, "'allow_insecure_http' must be true or false"),
    ],
)
def test_bad_extras_say_what_to_fix(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(CodeOceanConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        settings(**extra)


# Through an Airflow connection


def test_uri_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_CO_URI", f"codeocean://:{TOKEN}@acme.codeocean.com")

    value = CodeOceanHook("co_uri").settings

    assert value.base_url == "https://acme.codeocean.com" and value.token == TOKEN


def test_uri_form_with_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_CO_URI",
        f"codeocean://:{TOKEN}@acme.codeocean.com/?request_timeout=30&agent_id=Apache+Airflow&verify_ssl=false",
    )

    value = CodeOceanHook("co_uri").settings

    assert value.read_timeout == 30 and value.agent_id == "Apache Airflow" and value.verify is False


def test_json_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_CO_JSON",
        json.dumps({"conn_type": "codeocean", "host": "https://acme.codeocean.com/api/v1/", "password": TOKEN,
                    "extra": {"retry_limit": 1}}),
    )  # fmt: skip

    value = CodeOceanHook("co_json").settings

    assert value.base_url == "https://acme.codeocean.com" and value.retry_limit == 1


def test_hook_arguments_override_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, "acme.codeocean.com", request_timeout=30, retry_limit=4)

    value = CodeOceanHook(timeout=5, retry_limit=0).settings

    assert value.read_timeout == 5 and value.retry_limit == 0


def test_async_settings_match_sync_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, "acme.codeocean.com", agent_id="A")

    async_value = asyncio.run(CodeOceanHook().aget_settings())

    assert async_value == CodeOceanHook().settings


def test_urls_for_links(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, "https://acme.codeocean.com/")
    hook = CodeOceanHook()

    assert hook.computation_url("c1") == "https://acme.codeocean.com/computations/c1"
    assert hook.data_asset_url("d1") == "https://acme.codeocean.com/data-assets/d1"


def test_connection_ui_hides_unused_fields() -> None:
    behaviour = CodeOceanHook.get_ui_field_behaviour()
    assert set(behaviour["hidden_fields"]) == {"login", "schema", "port"}
    assert behaviour["relabeling"]["password"] == "API Token"


# Headers


@pytest.fixture
def base_url(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def _get_both_ways(hook: CodeOceanHook) -> None:
    hook.get_computation("c1")

    async def run() -> None:
        async with hook:
            await hook.aget_computation("c1")

    asyncio.run(run())


def test_user_agent_names_the_provider_and_version(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, base_url: str
) -> None:
    httpserver.expect_request("/api/v1/computations/c1").respond_with_json({"id": "c1"})
    set_connection(monkeypatch, base_url)

    _get_both_ways(CodeOceanHook())

    agents = [r.headers["User-Agent"] for r, _ in httpserver.log]
    assert len(agents) == 2
    for agent in agents:
        assert agent.startswith(f"airflow-provider-codeocean/{__version__} apache-airflow/")
        assert "python/" in agent
    for request, _ in httpserver.log:
        assert "Agent-Id" not in request.headers
        assert "Min-Server-Version" not in request.headers


def test_agent_id_and_min_server_version_only_when_configured(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, base_url: str
) -> None:
    httpserver.expect_request(
        "/api/v1/computations/c1", headers={"Agent-Id": "Apache Airflow", "Min-Server-Version": "4.8.0"}
    ).respond_with_json({"id": "c1"})
    set_connection(monkeypatch, base_url, agent_id="Apache Airflow", min_server_version="4.8.0")

    _get_both_ways(CodeOceanHook())

    httpserver.check_assertions()
    assert len(httpserver.log) == 2


# test_connection()


def test_connection_ok(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, base_url: str) -> None:
    httpserver.expect_request("/api/v1/capsules/search", method="POST").respond_with_json(
        {"has_more": False, "results": []}
    )
    set_connection(monkeypatch, base_url)

    assert CodeOceanHook().test_connection() == (True, f"Connected to Code Ocean at {base_url}")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "Code Ocean rejected the API token (401): check the connection's API Token field"),
        (403, "lacks the Capsule Read scope (403)"),
        (404, "is the domain a Code Ocean deployment?"),
    ],
)
def test_connection_failures(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, base_url: str, status: int, expected: str
) -> None:
    httpserver.expect_request("/api/v1/capsules/search").respond_with_json({"message": "no"}, status=status)
    set_connection(monkeypatch, base_url)

    ok, message = CodeOceanHook().test_connection()

    assert not ok and expected in message and TOKEN not in message


def test_connection_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    with closed_port() as url:
        set_connection(monkeypatch, url, retry_limit=0)
        ok, message = CodeOceanHook().test_connection()

    assert not ok
    assert message.startswith(f"Cannot reach Code Ocean at {url}") and "Check the domain" in message


def test_connection_does_not_retry(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, base_url: str) -> None:
    # A person is waiting on the button: answer at once instead of backing off for minutes.
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    httpserver.expect_request("/api/v1/capsules/search").respond_with_json({"message": "down"}, status=503)
    set_connection(monkeypatch, base_url, retry_limit=5, retry_backoff=30, retry_max_wait=60)

    ok, message = CodeOceanHook().test_connection()

    assert not ok and "HTTP 503" in message
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    ("host", "expected"),
    [("http://acme.codeocean.com", "refusing plain http://"), ("", "has no domain"), ("ftp://x", "https://")],
)
def test_connection_bad_domain(monkeypatch: pytest.MonkeyPatch, host: str, expected: str) -> None:
    set_connection(monkeypatch, host)

    ok, message = CodeOceanHook().test_connection()

    assert not ok and expected in message


def test_endpoint_objects_are_plain_data() -> None:
    # Endpoints carry no credentials: safe to log or put in an exception.
    endpoint = endpoints.get_computation("c1")
    assert endpoint.describe() == "GET /api/v1/computations/c1"
    assert TOKEN not in repr(endpoint)
