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

import airflow_provider_codeocean.operators

HEAVY_ROOTS = ("requests", "httpx", "httpcore", "aiohttp", "tenacity", "urllib3")
LAZY_MODULES = (
    "airflow_provider_codeocean.api.sync_transport",
    "airflow_provider_codeocean.api.async_transport",
    "airflow_provider_codeocean.api.retry",
)
MODULES = [
    "airflow_provider_codeocean.hooks.codeocean",
    "airflow_provider_codeocean.operators",
    *(
        f"airflow_provider_codeocean.operators.{m.name}"
        for m in pkgutil.iter_modules(airflow_provider_codeocean.operators.__path__)
        if not m.name.startswith("_")
    ),
]

PROBE = """
import importlib, json, sys
{baseline}
added = {{}}
for module in sys.argv[1:]:
    before = set(sys.modules)
    importlib.import_module(module)
    added[module] = sorted(set(sys.modules) - before)
print(json.dumps(added))
"""


def added_by_imports(modules: list[str], baseline: str = "") -> dict[str, list[str]]:
    """What importing each module (in order, in one fresh interpreter) added to ``sys.modules``."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(baseline=baseline), *modules],
        capture_output=True,
        text=True,
        check=True,
        timeout=180,
    )
    added: dict[str, list[str]] = json.loads(result.stdout.strip().splitlines()[-1])
    return added


def test_hook_and_operators_do_not_load_the_http_stack() -> None:
    added = added_by_imports(MODULES, baseline="import airflow.providers.common.compat.sdk")

    # The probe really imported the hook module (it was not already loaded by the baseline).
    assert "airflow_provider_codeocean.hooks.codeocean" in added["airflow_provider_codeocean.hooks.codeocean"]
    heavy = {
        module: [m for m in new if m.split(".")[0] in HEAVY_ROOTS or m in LAZY_MODULES] for module, new in added.items()
    }
    assert heavy == {module: [] for module in MODULES}


def test_provider_info_imports_nothing_but_the_package() -> None:
    # Airflow calls get_provider_info while discovering providers: it must not import Airflow or HTTP.
    added = added_by_imports(["airflow_provider_codeocean.get_provider_info"])

    new = added["airflow_provider_codeocean.get_provider_info"]
    # connection_fields is the form's field list: pure data, no imports of its own.
    assert sorted(m for m in new if m.startswith("airflow_provider_codeocean")) == [
        "airflow_provider_codeocean",
        "airflow_provider_codeocean.connection_fields",
        "airflow_provider_codeocean.get_provider_info",
    ]
    assert [m for m in new if m.split(".")[0] in ("airflow", *HEAVY_ROOTS)] == []


# What a DAG file needs from this provider to parse: the operators and sensors, not what they use when
# they run (triggers, HTTP clients, retry policies).
TASK_MODULES = [
    *(m for m in MODULES if m.startswith("airflow_provider_codeocean.operators.")),
    "airflow_provider_codeocean.sensors.computation",
    "airflow_provider_codeocean.sensors.data_asset",
]
RUN_TIME_ONLY = ("airflow.triggers.base", "aiohttp", "httpx", "requests", "tenacity")
# The base classes the provider must subclass belong to the baseline: on Airflow 2 BaseOperator itself
# loads airflow.triggers.base, which no provider can avoid.
PARSE_BASELINE = """
try:
    import airflow.sdk
except ImportError:  # Airflow 2
    pass
from airflow.providers.common.compat.sdk import BaseOperator, BaseSensorOperator
"""


def test_parsing_operators_and_sensors_loads_no_trigger_or_http_module() -> None:
    added = added_by_imports(TASK_MODULES, baseline=PARSE_BASELINE)

    assert "airflow_provider_codeocean.sensors.computation" in added["airflow_provider_codeocean.sensors.computation"]
    loaded = {
        module: [m for m in new if any(m == root or m.startswith(root + ".") for root in RUN_TIME_ONLY)]
        for module, new in added.items()
    }
    assert loaded == {module: [] for module in TASK_MODULES}


def test_the_lineage_support_imports_nothing_of_openlineage() -> None:
    # The OpenLineage provider is installed in the test environments (requirements/test.in), so this
    # checks what a deployment with it sees: the facet classes load only when the listener asks for facets.
    import importlib.util

    assert importlib.util.find_spec("airflow.providers.openlineage") is not None
    assert importlib.util.find_spec("openlineage.client") is not None
    modules = [
        *TASK_MODULES,
        "airflow_provider_codeocean._common.lineage",
        "airflow_provider_codeocean.assets",
        "airflow_provider_codeocean.get_provider_info",
    ]
    added = added_by_imports(modules, baseline=PARSE_BASELINE)

    assert "airflow_provider_codeocean._common.lineage" in added["airflow_provider_codeocean.operators.computation"]
    loaded = {
        module: [m for m in new if m.split(".")[0] == "openlineage" or m.startswith("airflow.providers.openlineage")]
        for module, new in added.items()
    }
    assert loaded == {module: [] for module in modules}
