"""One run task with retries, run by tests/operators/test_dead_worker.py and then cleared for real."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_codeocean.operators.computation import CodeOceanRunCapsuleOperator

#: The ``simulated`` capsule of tests/operators/test_computation_support.py: succeeds in a moment.
SIMULATED = "51a51a00-0000-4000-8000-000000000003"
RETRIES = 2

with DAG(
    "computation_lineage",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["codeocean-tests"],
) as dag:
    CodeOceanRunCapsuleOperator(
        task_id="run",
        capsule_id=SIMULATED,
        retries=RETRIES,
        retry_delay=timedelta(seconds=1),
        poll_interval=0.05,
    )
