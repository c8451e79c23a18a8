"""Test-wide Airflow setup: a throwaway AIRFLOW_HOME with a SQLite metadata database.

The environment is set at import time, before any test module imports Airflow.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

TESTS_DIR = Path(__file__).parent
DAGS_DIR = TESTS_DIR / "dags"

_home = tempfile.mkdtemp(prefix="codeocean-airflow-home-")
os.environ["AIRFLOW_HOME"] = _home
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_DIR)
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_home}/airflow.db"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ.pop("AIRFLOW_CONN_CODEOCEAN_DEFAULT", None)
# The OpenLineage provider is installed (its facets are tested); its listener stays off for the suite, also
# where the developer's shell configures OpenLineage. tests/assets/test_lineage.py turns it on in the one
# DAG run it checks the events of (run_dag_test's child gets no inherited AIRFLOW__ settings).
os.environ["AIRFLOW__OPENLINEAGE__DISABLED"] = "True"
for _name in [n for n in os.environ if n.startswith("OPENLINEAGE")]:
    del os.environ[_name]
if version("apache-airflow").startswith("2."):
    # Airflow 2.11 would pick LocalExecutor, which refuses SQLite; Airflow 3 has no SequentialExecutor.
    os.environ["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[None]:
    """An initialised metadata database, for tests that run DAGs with ``dag.test()``."""
    from airflow.utils import db

    if hasattr(db, "initdb"):
        db.initdb()
    else:  # pragma: no cover - older spelling
        db.resetdb()
    yield


# The emulator as the operator, sensor and trigger tests use it. These override the codeocean_emulator_*
# fixtures of the package's pytest plugin for every test below tests/ that does not override them itself.


@pytest.fixture
def codeocean_emulator_capsules(tmp_path: Path) -> Path:
    """The built-in capsules plus ``long`` (a run that never finishes) and ``nested`` (a results tree)."""
    from airflow_provider_codeocean.testing.config import BUILTIN_CAPSULES_DIR
    from tests.operators.test_computation_support import add_long_capsule
    from tests.operators.test_data_asset_support import add_nested_capsule

    root = tmp_path / "capsules"
    root.mkdir(parents=True)
    for folder in BUILTIN_CAPSULES_DIR.iterdir():
        if folder.is_dir():
            (root / folder.name).symlink_to(folder, target_is_directory=True)
    add_long_capsule(root)
    add_nested_capsule(root)
    return root


@pytest.fixture
def buckets(tmp_path: Path) -> Path:
    """An S3 stand-in: bucket ``raw-data`` with ``session1/`` (two files)."""
    root = tmp_path / "buckets"
    (root / "raw-data" / "session1").mkdir(parents=True)
    (root / "raw-data" / "session1" / "a.csv").write_text("x,y\n1,2\n")
    (root / "raw-data" / "session1" / "b.csv").write_text("x,y\n3,4\n")
    return root


@pytest.fixture
def codeocean_emulator_options(buckets: Path) -> dict[str, Any]:
    return {"asset_ready_delay": 0.05, "buckets_dir": buckets}


#: Small retry waits so fault tests stay fast; nothing asserts durations.
FAST_EXTRA: dict[str, Any] = {"retry_backoff": 0.01, "retry_max_wait": 0.02, "retry_limit": 1}


@pytest.fixture
def emulator(codeocean_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The emulator, with ``codeocean_default`` re-pointed at it using fast retries."""
    conn = {
        "conn_type": "codeocean",
        "host": codeocean_emulator.base_url,
        "password": codeocean_emulator.token,
        "extra": FAST_EXTRA,
    }
    monkeypatch.setenv("AIRFLOW_CONN_CODEOCEAN_DEFAULT", json.dumps(conn))
    return codeocean_emulator
