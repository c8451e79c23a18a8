"""A local Code Ocean API emulator for tests, demos and load tests.

Start it from Python (:class:`CodeOceanEmulator`), from pytest (the ``codeocean_emulator`` fixture),
or from a shell (``codeocean-emulator --port 0 --token T --capsules DIR``). See ``docs/emulator.md``.
Nothing here imports Airflow, and the names below are imported on first use, so importing this
package (or the pytest plugin) does not load the emulator.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_codeocean.testing.config import BUILTIN_CAPSULES_DIR, EmulatorConfig
    from airflow_provider_codeocean.testing.emulator import DEFAULT_CONN_ID, CodeOceanEmulator
    from airflow_provider_codeocean.testing.http.faults import FaultRule, FaultSpecError, parse_spec
    from airflow_provider_codeocean.testing.http.messages import ApiError

# Ids of the built-in capsules (see builtin_capsules/*/capsule.json).
ECHO_CAPSULE_ID = "ec40ec40-0000-4000-8000-000000000001"
FAILING_CAPSULE_ID = "fa11fa11-0000-4000-8000-000000000002"
SIMULATED_CAPSULE_ID = "51a51a00-0000-4000-8000-000000000003"
PIPELINE_ID = "919e1192-0000-4000-8000-000000000004"

_LAZY = {
    "BUILTIN_CAPSULES_DIR": "config",
    "EmulatorConfig": "config",
    "DEFAULT_CONN_ID": "emulator",
    "CodeOceanEmulator": "emulator",
    "FaultRule": "http.faults",
    "FaultSpecError": "http.faults",
    "parse_spec": "http.faults",
    "ApiError": "http.messages",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "BUILTIN_CAPSULES_DIR",
    "DEFAULT_CONN_ID",
    "ECHO_CAPSULE_ID",
    "FAILING_CAPSULE_ID",
    "PIPELINE_ID",
    "SIMULATED_CAPSULE_ID",
    "ApiError",
    "CodeOceanEmulator",
    "EmulatorConfig",
    "FaultRule",
    "FaultSpecError",
    "parse_spec",
]
