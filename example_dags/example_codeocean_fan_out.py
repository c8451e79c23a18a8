"""Fan out: find data assets by tag, run a capsule once per asset in parallel, capture each result.

``find_assets`` searches Code Ocean (exact tag match, datasets only) and returns their ids; dynamic task
mapping (``.expand_kwargs()``) then creates one capsule run per asset and one capture per run. The
number of runs waiting at once is capped by ``max_active_tis_per_dag``; deferred waits cost no worker
slot, so hundreds of runs can be tracked by one triggerer.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_codeocean.operators.computation import CodeOceanRunCapsuleOperator
from airflow_provider_codeocean.operators.data_asset import (
    CodeOceanCreateDataAssetOperator,
    CodeOceanSearchDataAssetsOperator,
)

COVERAGE_CAPSULE_ID = "7f3d2a10-5c4e-4b8a-9e21-0c0de0ce0001"
POLL_INTERVAL = float(os.environ.get("CODEOCEAN_EXAMPLE_POLL_INTERVAL", "30"))
MAX_PARALLEL_RUNS = 8


def run_kwargs(data_asset_id: str) -> dict[str, Any]:
    """The per-asset arguments of one mapped run (called when the mapped tasks are created)."""
    return {
        "data_assets": [{"id": data_asset_id, "mount": "coverage"}],
        "name": f"coverage summary of {data_asset_id}",
    }


def capture_kwargs(computation: dict[str, Any]) -> dict[str, Any]:
    """Name each captured asset after the data asset its run read."""
    source = computation["data_assets"][0]["id"] if computation.get("data_assets") else computation["id"]
    return {"computation_id": computation["id"], "name": f"coverage summary of {source}"}


with DAG(
    dag_id="example_codeocean_fan_out",
    doc_md=__doc__,
    description="Search data assets, run a capsule once per asset, capture every result",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["codeocean", "example", "mapping"],
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
    params={
        "capsule_id": Param(COVERAGE_CAPSULE_ID, type="string", description="Capsule run on each asset"),
        "tag": Param("coverage", type="string", description="Process every dataset with this tag"),
        "min_depth": Param("20", type="string", description="Named parameter --min_depth"),
    },
) as dag:
    find_assets = CodeOceanSearchDataAssetsOperator(
        task_id="find_assets",
        # An exact tag filter (a query "tag:x" may match tags containing x) and only datasets, so the
        # results captured by earlier runs are not processed again.
        filters=[{"key": "tags", "value": "{{ params.tag }}"}],
        type="dataset",
        max_results=100,
    )

    runs = CodeOceanRunCapsuleOperator.partial(
        task_id="run_per_asset",
        capsule_id="{{ params.capsule_id }}",
        named_parameters={"min_depth": "{{ params.min_depth }}"},
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        max_active_tis_per_dag=MAX_PARALLEL_RUNS,
    ).expand_kwargs(find_assets.output.map(run_kwargs))

    CodeOceanCreateDataAssetOperator.partial(
        task_id="capture_per_run",
        mount="coverage_summary",
        tags=["coverage", "summary", "fan-out"],
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    ).expand_kwargs(runs.output.map(capture_kwargs))
