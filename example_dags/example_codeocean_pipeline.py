"""Run a Code Ocean pipeline with parameters for each of its processes, and keep one step's output.

A pipeline chains capsules (Nextflow under the hood). Each process is named as in the pipeline's
``main.nf`` (``capsule_<name>_<n>``; read them from the pipeline's page or app panel) and takes its own
parameters. Here the example pipeline *Normalize and summarize coverage* normalises a coverage data asset
by its mean depth, then summarises it; only the summary step's folder is captured as a data asset.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_codeocean.operators.computation import CodeOceanRunCapsuleOperator
from airflow_provider_codeocean.operators.data_asset import CodeOceanCreateDataAssetOperator

# The example pipeline and data asset shipped in example_dags/capsules and example_dags/data/assets.
COVERAGE_PIPELINE_ID = "7f3d2a10-5c4e-4b8a-9e21-0c0de0ce0002"
SAMPLE_B_DATA_ASSET_ID = "0d47a000-0000-4000-8000-00000000000b"
POLL_INTERVAL = float(os.environ.get("CODEOCEAN_EXAMPLE_POLL_INTERVAL", "30"))

with DAG(
    dag_id="example_codeocean_pipeline",
    doc_md=__doc__,
    description="Run a pipeline with per-process parameters and capture one step's results",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["codeocean", "example", "pipeline"],
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
    params={
        "pipeline_id": Param(COVERAGE_PIPELINE_ID, type="string", description="Pipeline to run (its UUID)"),
        "data_asset_id": Param(SAMPLE_B_DATA_ASSET_ID, type="string", description="Input data asset"),
        "method": Param("mean", enum=["mean", "none"], description="Normalisation of the first step"),
        "min_depth": Param("0.8", type="string", description="Threshold of the second step (x the mean)"),
    },
) as dag:
    run_pipeline = CodeOceanRunCapsuleOperator(
        task_id="run_pipeline",
        pipeline_id="{{ params.pipeline_id }}",
        data_assets=[{"id": "{{ params.data_asset_id }}", "mount": "coverage"}],
        # One entry per process whose parameters you set; the others keep their defaults.
        processes=[
            {"name": "capsule_normalize_coverage_1", "named_parameters": {"method": "{{ params.method }}"}},
            {"name": "capsule_coverage_summary_2", "named_parameters": {"min_depth": "{{ params.min_depth }}"}},
        ],
        name="normalize and summarize coverage",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        # Pipelines can run for days: bound the wait (the run is stopped when it passes).
        timeout=timedelta(days=2),
    )

    CodeOceanCreateDataAssetOperator(
        task_id="capture_summary",
        computation_id=run_pipeline.output,
        # Only the summary step's folder of the results becomes the data asset.
        computation_path="summary",
        name="normalized coverage summary",
        mount="normalized_summary",
        tags=["coverage", "pipeline", "{{ params.method }}"],
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
