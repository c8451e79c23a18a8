"""Producer: run the Code Ocean coverage capsule, capture its results, and announce the new data asset.

The capture task's outlet is an ``AssetAlias``: the data asset's id is known only once it exists, so the
operator adds an asset event for ``codeocean://<domain>/data_assets/<id>`` through the alias, with the
asset's id, name, tags, mount, computation id and capsule id as extras. ``example_codeocean_assets_consumer``
is scheduled on that alias and runs once per capture.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, AssetAlias

from airflow_provider_codeocean.operators.computation import CodeOceanRunCapsuleOperator
from airflow_provider_codeocean.operators.data_asset import CodeOceanCreateDataAssetOperator

COVERAGE_CAPSULE_ID = "7f3d2a10-5c4e-4b8a-9e21-0c0de0ce0001"
SAMPLE_C_DATA_ASSET_ID = "0d47a000-0000-4000-8000-00000000000c"
POLL_INTERVAL = float(os.environ.get("CODEOCEAN_EXAMPLE_POLL_INTERVAL", "30"))
COVERAGE_SUMMARIES = AssetAlias("codeocean-coverage-summaries")

with DAG(
    dag_id="example_codeocean_assets_producer",
    doc_md=__doc__,
    description="Run a capsule, capture the results, emit an asset event for the new data asset",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["codeocean", "example", "assets"],
) as dag:
    run = CodeOceanRunCapsuleOperator(
        task_id="run",
        capsule_id=COVERAGE_CAPSULE_ID,
        data_assets=[{"id": SAMPLE_C_DATA_ASSET_ID, "mount": "coverage"}],
        named_parameters={"label": "sample-c"},
        poll_interval=POLL_INTERVAL,
        deferrable=True,
    )
    CodeOceanCreateDataAssetOperator(
        task_id="capture",
        name="coverage summary sample-c",
        computation_id=run.output,
        tags=["coverage", "summary", "sample-c"],
        poll_interval=POLL_INTERVAL,
        deferrable=True,
        outlets=[COVERAGE_SUMMARIES],
    )
