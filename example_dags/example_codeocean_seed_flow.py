"""The main job: run a capsule on a data asset, keep its results as a data asset, describe it, read it.

1. ``run_coverage_summary`` runs the *Coverage summary* capsule with a coverage data asset mounted at
   ``/data/coverage`` and two named parameters, and waits for it in the triggerer (deferrable): no worker
   slot is held while Code Ocean computes. The run succeeds only if it completed with end status
   ``succeeded`` and exit code 0; a retry of the task reattaches to the same run instead of starting a
   second one.
2. ``capture_results`` captures the run's results as a new data asset with tags, and waits (deferred)
   until the asset is ready. A retry finds the asset it already created.
3. ``update_metadata`` adds a tag and sets the deployment's custom metadata fields on the new asset.
4. ``read_summary`` reads the small ``summary.json`` result file into XCom; ``log_summary`` logs it.

Runs unchanged on the bundled emulator (``make demo``) and on a real Code Ocean deployment: only the
``codeocean_default`` connection differs. Every id comes from the DAG's params (trigger with a config to
change them); the defaults are the example capsule and the seeded data asset in ``example_dags/``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

# Airflow symbols through common-compat, so the same file parses on Airflow 2.11 and 3.x.
from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_codeocean.operators.computation import CodeOceanRunCapsuleOperator
from airflow_provider_codeocean.operators.data_asset import (
    CodeOceanCreateDataAssetOperator,
    CodeOceanUpdateDataAssetOperator,
)
from airflow_provider_codeocean.operators.results import CodeOceanReadResultOperator

# The example capsule and data asset shipped in example_dags/capsules and example_dags/data/assets.
COVERAGE_CAPSULE_ID = "7f3d2a10-5c4e-4b8a-9e21-0c0de0ce0001"
SAMPLE_A_DATA_ASSET_ID = "0d47a000-0000-4000-8000-00000000000a"
# Seconds between status checks. Code Ocean runs take minutes to days, so 30 s is plenty; the demo and
# the tests lower it through this environment variable (read at parse time, no API call).
POLL_INTERVAL = float(os.environ.get("CODEOCEAN_EXAMPLE_POLL_INTERVAL", "30"))

with DAG(
    dag_id="example_codeocean_seed_flow",
    doc_md=__doc__,
    description="Run a capsule on a data asset, capture the results as a tagged data asset, read a result",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["codeocean", "example"],
    default_args={
        # A retry is safe: the run and the capture are found again, never submitted twice.
        "retries": 1,
        "retry_delay": timedelta(minutes=1),
    },
    params={
        "capsule_id": Param(COVERAGE_CAPSULE_ID, type="string", description="Capsule to run (its UUID)"),
        "data_asset_id": Param(SAMPLE_A_DATA_ASSET_ID, type="string", description="Input data asset"),
        "mount": Param("coverage", type="string", description="Folder under /data the capsule reads"),
        "min_depth": Param("20", type="string", description="Named parameter --min_depth"),
        "label": Param("sample-a", type="string", description="Named parameter --label"),
        "project": Param("airflow-examples", type="string", description="Custom metadata field 'project'"),
    },
) as dag:
    run = CodeOceanRunCapsuleOperator(
        task_id="run_coverage_summary",
        capsule_id="{{ params.capsule_id }}",
        data_assets=[{"id": "{{ params.data_asset_id }}", "mount": "{{ params.mount }}"}],
        # Code Ocean passes parameters to the script as text: --min_depth 20 --label sample-a.
        named_parameters={"min_depth": "{{ params.min_depth }}", "label": "{{ params.label }}"},
        # The run's name in Code Ocean; the operator appends a marker that identifies this task instance.
        name="coverage summary {{ params.label }}",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        # Give up waiting after 6 hours; the run is then stopped (cancel_on_kill, the default).
        timeout=timedelta(hours=6),
    )

    capture = CodeOceanCreateDataAssetOperator(
        task_id="capture_results",
        # run.output is the finished computation's JSON; the operator reads its id.
        computation_id=run.output,
        name="coverage summary {{ params.label }}",
        description="Coverage summary statistics of {{ params.label }}, captured by Airflow ({{ run_id }})",
        mount="coverage_summary",
        tags=["coverage", "summary", "{{ params.label }}"],
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )

    update = CodeOceanUpdateDataAssetOperator(
        task_id="update_metadata",
        data_asset_id=capture.output,
        add_tags=["airflow"],
        # Fields must exist in the deployment's custom metadata schema (Admin > Custom metadata); they
        # are checked before anything is sent.
        custom_metadata={"project": "{{ params.project }}"},
    )

    # The small JSON result file, parsed, becomes this task's XCom (files over 1 MiB are refused).
    read_summary = CodeOceanReadResultOperator(
        task_id="read_summary",
        computation_id=run.output,
        path="summary.json",
        require_success=True,
    )

    @task
    def log_summary(summary: dict[str, Any]) -> str:
        """Log a one-line summary of the computed statistics (and return it, for the next consumer)."""
        line = (
            f"{summary['label']}: mean depth {summary['mean_depth']} over {summary['bases']} bp, "
            f"{summary['fraction_at_min_depth']:.1%} at >= {summary['min_depth']:g}x"
        )
        print(line)
        for chromosome, stats in summary["per_chromosome"].items():
            print(f"  {chromosome}: mean depth {stats['mean_depth']}")
        return line

    update >> read_summary
    log_summary(read_summary.output)
