"""Provider registration: the metadata Airflow reads, the entry point, and the airflow CLI seeing both."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from importlib.metadata import distribution, entry_points
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_codeocean import __version__
from airflow_provider_codeocean.api.settings import ClientSettings
from airflow_provider_codeocean.get_provider_info import get_provider_info

DISTRIBUTION = "airflow-provider-codeocean"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def test_package_name_is_the_distribution_name() -> None:
    info = get_provider_info()
    assert info["package-name"] == DISTRIBUTION == distribution(DISTRIBUTION).metadata["Name"]
    assert info["versions"][0] == __version__ == distribution(DISTRIBUTION).version


def test_connection_type_points_at_the_hook() -> None:
    (conn_type,) = get_provider_info()["connection-types"]
    assert conn_type["connection-type"] == "codeocean"
    module_name, _, class_name = conn_type["hook-class-name"].rpartition(".")
    hook_class = getattr(importlib.import_module(module_name), class_name)
    assert hook_class.conn_type == "codeocean"
    assert hook_class.default_conn_name == "codeocean_default"
    assert conn_type["hook-name"] == hook_class.hook_name
    # The UI form in the metadata matches the hook's own (Airflow < 3.2 reads the hook's).
    behaviour = hook_class.get_ui_field_behaviour()
    assert conn_type["ui-field-behaviour"]["hidden-fields"] == behaviour["hidden_fields"]
    assert conn_type["ui-field-behaviour"]["relabeling"] == behaviour["relabeling"]


def test_conn_fields_are_extras_the_settings_understand() -> None:
    fields = get_provider_info()["connection-types"][0]["conn-fields"]
    examples = {"number": 7, "integer": 2, "boolean": False, "string": "x"}
    extra = {}
    for name, spec in fields.items():
        kind = next(t for t in spec["schema"]["type"] if t != "null")
        extra[name] = examples[kind]
    settings = ClientSettings.from_connection(host="acme.codeocean.com", password="cop_x", extra=extra)
    assert settings.read_timeout == 7 and settings.retry_limit == 2 and settings.verify is False
    assert settings.agent_id == "x" and settings.min_server_version == "x"


# Each section of the provider info lists modules that must import and define the matching kind of class.
_BASE_CLASSES = {
    "hooks": ("airflow.providers.common.compat.sdk", "BaseHook"),
    "operators": ("airflow.providers.common.compat.sdk", "BaseOperator"),
    "sensors": ("airflow.providers.common.compat.sdk", "BaseSensorOperator"),
    "triggers": ("airflow.triggers.base", "BaseTrigger"),
}


def _listed_modules(section: str) -> list[str]:
    return [module for entry in get_provider_info()[section] for module in entry["python-modules"]]


@pytest.mark.parametrize("section", sorted(_BASE_CLASSES))
def test_every_listed_module_imports_and_defines_its_kind_of_class(section: str) -> None:
    modules = _listed_modules(section)
    assert modules, f"no {section} listed"
    base_module, base_name = _BASE_CLASSES[section]
    base = getattr(importlib.import_module(base_module), base_name)
    for module_name in modules:
        module = importlib.import_module(module_name)
        defined = [
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, base) and value.__module__ == module_name
        ]
        assert defined, f"{module_name} (listed under {section}) defines no {base_name} subclass"


def test_every_listed_class_imports() -> None:
    info = get_provider_info()
    classes = [conn["hook-class-name"] for conn in info["connection-types"]] + info["extra-links"]
    for path in classes:
        module_name, _, class_name = path.rpartition(".")
        assert isinstance(getattr(importlib.import_module(module_name), class_name), type), path


def test_entry_point_resolves_to_get_provider_info() -> None:
    found = [ep for ep in entry_points(group="apache_airflow_provider") if ep.dist and ep.dist.name == DISTRIBUTION]
    assert len(found) == 1
    assert found[0].load() is get_provider_info
    assert found[0].load()()["package-name"] == DISTRIBUTION


# Unit-test mode has no fixed Fernet key, so each CLI process would encrypt with a key of its own.
_FERNET_KEY = "kV6XtBWxcrD3x4H9c0gBzn0r5eN3mT8yP2qL7sJ1uAo="


def _airflow(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIRFLOW__CORE__FERNET_KEY": _FERNET_KEY}
    return subprocess.run([AIRFLOW, *args], capture_output=True, text=True, timeout=180, env=env, check=False)


@pytest.mark.integration
def test_airflow_providers_list_shows_the_provider(airflow_db: None) -> None:
    result = _airflow("providers", "list", "-o", "json")

    assert result.returncode == 0, result.stderr[-2000:]
    providers = _json_in(result.stdout)
    ours = [p for p in providers if p["package_name"] == DISTRIBUTION]
    assert len(ours) == 1 and ours[0]["version"] == __version__


@pytest.mark.integration
def test_airflow_connections_add_codeocean(airflow_db: None) -> None:
    token = "cop_cli_test_token"
    result = _airflow(
        "connections",
        "add",
        "co_cli",
        "--conn-type",
        "codeocean",
        "--conn-host",
        "https://acme.codeocean.com/",
        "--conn-password",
        token,
        "--conn-extra",
        '{"request_timeout": 30, "agent_id": "Apache Airflow"}',
    )
    assert result.returncode == 0, result.stderr[-2000:]
    try:
        shown = _airflow("connections", "get", "co_cli", "-o", "json")
        assert shown.returncode == 0, shown.stdout[-2000:] + shown.stderr[-2000:]
        (conn,) = _json_in(shown.stdout)
        assert conn["conn_type"] == "codeocean"
        # What the hook makes of the stored connection (the same parsing hook.settings does).
        settings = ClientSettings.from_connection(
            host=conn["host"], password=conn["password"], extra=conn["extra_dejson"], conn_id="co_cli"
        )
        assert settings.base_url == "https://acme.codeocean.com" and settings.token == token
        assert settings.read_timeout == 30 and settings.agent_id == "Apache Airflow"
    finally:
        _airflow("connections", "delete", "co_cli")


def _json_in(output: str) -> Any:
    # The CLI may print log lines before the JSON document.
    line = next(line for line in output.splitlines() if line.startswith("[{"))
    return json.loads(line)
