"""pytest fixtures: a running emulator plus an Airflow connection pointing at it.

Registered through the ``pytest11`` entry point, so it loads in every pytest session of an
environment with this package installed: keep imports here cheap and Airflow-free.

Fixtures:

* ``codeocean_emulator_capsules`` - the capsules folder to serve; override it in a conftest.py to use
  your own (default: the built-in examples).
* ``codeocean_emulator_options`` - extra keyword arguments for :class:`CodeOceanEmulator`
  (default: a short asset-ready delay); override to change them.
* ``codeocean_emulator`` - the running emulator; also sets ``AIRFLOW_CONN_CODEOCEAN_DEFAULT``.
* ``codeocean_dag_test`` - runs one of your DAG files with ``dag.test()`` in a throwaway Airflow whose
  ``codeocean_default`` connection points at ``codeocean_emulator`` (see
  :mod:`airflow_provider_codeocean.testing.dag_testing`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_codeocean.testing.dag_testing import DagTester
    from airflow_provider_codeocean.testing.emulator import CodeOceanEmulator

EMULATOR_TOKEN = "cop_pytest_emulator_token"


@pytest.fixture
def codeocean_emulator_capsules() -> Path:
    from airflow_provider_codeocean.testing.config import BUILTIN_CAPSULES_DIR

    return BUILTIN_CAPSULES_DIR


@pytest.fixture
def codeocean_emulator_options() -> dict[str, Any]:
    return {"asset_ready_delay": 0.05}


@pytest.fixture
def codeocean_emulator(
    codeocean_emulator_capsules: Path,
    codeocean_emulator_options: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[CodeOceanEmulator]:
    from airflow_provider_codeocean.testing.emulator import CodeOceanEmulator

    options: dict[str, Any] = {"state_dir": tmp_path / "codeocean-emulator", **codeocean_emulator_options}
    options.setdefault("token", EMULATOR_TOKEN)
    with CodeOceanEmulator(codeocean_emulator_capsules, **options) as emulator:
        # Airflow reads AIRFLOW_CONN_<CONN_ID> as JSON; no Airflow import is needed for that.
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{emulator.conn_id.upper()}",
            json.dumps({"conn_type": "codeocean", "host": emulator.base_url, "password": emulator.token}),
        )
        yield emulator


@pytest.fixture
def codeocean_dag_test(codeocean_emulator: CodeOceanEmulator, tmp_path: Path) -> DagTester:
    """``codeocean_dag_test(dag_file, dag_id=None, conf=None, env=None)`` -> ``DagTestResult``.

    Each call runs the DAG once in a fresh Airflow home under ``tmp_path``, against ``codeocean_emulator``
    (override ``codeocean_emulator_capsules`` to serve your capsules).
    """
    from airflow_provider_codeocean.testing.dag_testing import DagTester

    return DagTester(codeocean_emulator, tmp_path / "airflow")
