"""Importing the hook, the operators and the provider metadata stays cheap: the HTTP stacks (requests,
httpx, tenacity) and this provider's transports load only when a request is first sent.

Measured in a fresh interpreter, against a baseline of what importing Airflow's compat layer already
loads (Airflow 3 itself imports httpx and tenacity; Airflow 2 imports requests), so the test checks
only what this provider adds.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import airflow_provider_codeocean.operators

HEAVY_ROOTS = ("requests", "httpx", "httpcore", "tenacity", "urllib3")
LAZY_MODULES = (
    "airflow_provider_codeocean.api.sync_transport",
    "airflow_provider_codeocean.api.async_transport",
    "airflow_provider_codeocean.api.retry",
)

OPERATOR_MODULES = [
    f"airflow_provider_codeocean.operators.{m.name}"
    for m in pkgutil.iter_modules(airflow_provider_codeocean.operators.__path__)
    if not m.name.startswith("_")
]

PROBE = """
import json, sys
import airflow.providers.common.compat.sdk
before = set(sys.modules)
import {module}
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def added_by_import(module: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)], capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "module",
    [
        "airflow_provider_codeocean.hooks.codeocean",
        "airflow_provider_codeocean.operators",
        "airflow_provider_codeocean.get_provider_info",
        *OPERATOR_MODULES,
    ],
)
def test_import_does_not_load_the_http_stack(module: str) -> None:
    added = added_by_import(module)

    assert module in added or module in sys.modules  # the probe really imported it
    heavy = [m for m in added if m.split(".")[0] in HEAVY_ROOTS or m in LAZY_MODULES]
    assert heavy == []


def test_provider_info_imports_nothing_but_the_package() -> None:
    added = added_by_import("airflow_provider_codeocean.get_provider_info")

    assert [m for m in added if m.startswith("airflow_provider_codeocean")] == [
        "airflow_provider_codeocean",
        "airflow_provider_codeocean.get_provider_info",
    ]
