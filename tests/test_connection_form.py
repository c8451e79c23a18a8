"""The connection form offers every extra the docs list, on Airflow 2.11 and 3.x alike, and what the
forms write is what the hook reads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from airflow_provider_codeocean.api.settings import ClientSettings
from airflow_provider_codeocean.connection_fields import EXTRA_FIELDS
from airflow_provider_codeocean.get_provider_info import get_provider_info
from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook
from tests.airflow_version import AIRFLOW_V_3_0_PLUS
from tests.hook.util import set_connection

DOCS = Path(__file__).resolve().parents[1] / "docs" / "connection.md"
KEYS = [key for key, *_ in EXTRA_FIELDS]
#: A value for each extra that differs from its default, and where the settings show it.
CHANGED: dict[str, tuple[Any, str, Any]] = {
    "request_timeout": ("12", "read_timeout", 12.0),
    "connect_timeout": ("3", "connect_timeout", 3.0),
    "retry_limit": ("2", "retry_limit", 2),
    "retry_backoff": ("0.5", "retry_backoff", 0.5),
    "retry_max_wait": ("9", "retry_max_wait", 9.0),
    "verify_ssl": ("n", "verify", False),
    "ca_bundle": ("/etc/ssl/corp.pem", "verify", "/etc/ssl/corp.pem"),
    "agent_id": ("Apache Airflow", "agent_id", "Apache Airflow"),
    "min_server_version": ("4.6.0", "min_server_version", "4.6.0"),
    "allow_insecure_http": ("y", "base_url", "http://acme.codeocean.com"),
    "computation_url_template": ("{base_url}/c/{id}", "computation_url_template", "{base_url}/c/{id}"),
    "data_asset_url_template": ("{base_url}/d/{id}", "data_asset_url_template", "{base_url}/d/{id}"),
}


def documented_extras() -> list[str]:
    table = DOCS.read_text().split("| Key | Default | Meaning |", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE)


def test_every_documented_extra_has_a_form_field_and_the_reverse() -> None:
    assert sorted(documented_extras()) == sorted(KEYS)
    assert sorted(get_provider_info()["connection-types"][0]["conn-fields"]) == sorted(KEYS)


@pytest.mark.parametrize("key", KEYS)
def test_each_form_field_changes_what_the_hook_does(key: str) -> None:
    written, attribute, expected = CHANGED[key]
    host = "http://acme.codeocean.com" if key == "allow_insecure_http" else "acme.codeocean.com"
    settings = ClientSettings.from_connection(host=host, password="cop_x", extra={key: written})
    assert getattr(settings, attribute) == expected


def test_every_field_has_a_label_and_help_text() -> None:
    for key, spec in get_provider_info()["connection-types"][0]["conn-fields"].items():
        assert spec["label"] and spec["description"], key


@pytest.mark.skipif(AIRFLOW_V_3_0_PLUS, reason="Airflow 2.11's form is built from the hook's WTForms widgets")
def test_the_211_form_has_the_same_fields_and_help_texts() -> None:
    widgets = CodeOceanHook.get_connection_form_widgets()
    assert sorted(widgets) == sorted(KEYS)
    conn_fields = get_provider_info()["connection-types"][0]["conn-fields"]
    for key, field in widgets.items():
        assert str(field.args[0]) == conn_fields[key]["label"]
        assert field.kwargs["description"] == conn_fields[key]["description"]


def test_a_connection_saved_with_the_211_checkbox_passes_test(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the 2.11 form stores for "Verify TLS certificates" ticked and "Allow plain http://" unticked.
    httpserver.expect_request("/api/v1/capsules/search", method="POST").respond_with_json(
        {"has_more": False, "results": []}
    )
    base_url = httpserver.url_for("/").rstrip("/")
    set_connection(monkeypatch, base_url, verify_ssl="y", allow_insecure_http="", request_timeout="", ca_bundle="")

    ok, message = CodeOceanHook().test_connection()

    assert ok, message
