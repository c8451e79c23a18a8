"""A recurring job: every day, run a capsule and keep that day's results as a data asset.

``catchup=False`` runs only the latest interval when the DAG is switched on, rather than one run per
day since ``start_date``. The computation and the data asset are named after the run's date
(``{{ ds }}``), so each day's work is easy to find in Code Ocean, and a re-run of a day (clear the DAG
run) reattaches to that day's computation rather than starting a second one.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_codeocean.operators.computation import CodeOceanRunCapsuleOperator
from airflow_provider_codeocean.operators.data_asset import CodeOceanCreateDataAssetOperator

COVERAGE_CAPSULE_ID = "7f3d2a10-5c4e-4b8a-9e21-0c0de0ce0001"
SAMPLE_A_DATA_ASSET_ID = "0d47a000-0000-4000-8000-00000000000a"
POLL_INTERVAL = float(os.environ.get("CODEOCEAN_EXAMPLE_POLL_INTERVAL", "30"))

with DAG(
    dag_id="example_codeocean_daily",
    doc_md=__doc__,
    description="Daily capsule run with a dated computation name and a dated result data asset",
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["codeocean", "example", "schedule"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
) as dag:
    daily_run = CodeOceanRunCapsuleOperator(
        task_id="daily_coverage_summary",
        capsule_id=COVERAGE_CAPSULE_ID,
        data_assets=[{"id": SAMPLE_A_DATA_ASSET_ID, "mount": "coverage"}],
        named_parameters={"label": "daily {{ ds }}"},
        name="daily coverage summary {{ ds }}",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        # A daily job that is still running after 20 hours would overlap the next: stop it.
        timeout=timedelta(hours=20),
    )

    CodeOceanCreateDataAssetOperator(
        task_id="capture_daily_results",
        computation_id=daily_run.output,
        name="daily coverage summary {{ ds }}",
        mount="daily_coverage_summary",
        tags=["coverage", "daily", "{{ ds }}"],
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
