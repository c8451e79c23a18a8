"""Airflow version gates for tests that behave differently on Airflow 2 and 3 (the package itself needs none)."""

from __future__ import annotations

from airflow import __version__
from packaging.version import Version

AIRFLOW_V_3_0_PLUS = Version(__version__).release >= (3, 0, 0)
AIRFLOW_V_3_3_PLUS = Version(__version__).release >= (3, 3, 0)
#: Airflow 3.0's ``dag.test()`` writes no DAG version and no asset aliases to the metadata database (3.1+
#: and 2.11 with ``bulk_write_to_db`` do), so tests that need them there cannot run on it.
AIRFLOW_V_3_0_ONLY = Version(__version__).release[:2] == (3, 0)
ON_30_DAG_TEST = (
    "Airflow 3.0's dag.test() leaves no DAG version in the metadata DB: its clear_task_instances then "
    "takes the fallback max_tries = max(max_tries, try_number), and asset alias events are not stored"
)
