"""Test-wide Airflow setup: a throwaway AIRFLOW_HOME with a SQLite metadata database.

The environment is set at import time, before any test module imports Airflow.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

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
