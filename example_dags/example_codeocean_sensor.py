"""Wait for a Code Ocean computation that something else started: an automation capsule, another DAG.

Trigger with ``{"computation_id": "<id>"}`` to wait for an existing run. Without one, ``start_elsewhere``
stands in for the outside system: it starts a run and returns at once (``wait_for_completion=False``).
The sensor then waits in the triggerer and succeeds only if the run succeeded; it never stops the run,
since it does not own it.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_codeocean.operators.computation import CodeOceanRunCapsuleOperator
from airflow_provider_codeocean.sensors.computation import CodeOceanComputationSensor

COVERAGE_CAPSULE_ID = "7f3d2a10-5c4e-4b8a-9e21-0c0de0ce0001"
SAMPLE_C_DATA_ASSET_ID = "0d47a000-0000-4000-8000-00000000000c"
POLL_INTERVAL = float(os.environ.get("CODEOCEAN_EXAMPLE_POLL_INTERVAL", "30"))

with DAG(
    dag_id="example_codeocean_sensor",
    doc_md=__doc__,
    description="Wait (deferred) for a Code Ocean computation started outside this DAG",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["codeocean", "example", "sensor"],
    params={
        "computation_id": Param("", type="string", description="Run to wait for; empty: start one here"),
    },
) as dag:

    @task.branch
    def choose(params: dict[str, str] | None = None) -> str:
        """Wait for the given run, or start one first."""
        return "given_computation" if params and params.get("computation_id") else "start_elsewhere"

    @task
    def given_computation(params: dict[str, str] | None = None) -> str:
        """The run named in the DAG run's config (validated by the sensor)."""
        return (params or {}).get("computation_id", "")

    start_elsewhere = CodeOceanRunCapsuleOperator(
        task_id="start_elsewhere",
        capsule_id=COVERAGE_CAPSULE_ID,
        data_assets=[{"id": SAMPLE_C_DATA_ASSET_ID, "mount": "coverage"}],
        named_parameters={"label": "sample-c"},
        # Return once the run started; its id goes to XCom (key codeocean_computation_id).
        wait_for_completion=False,
    )

    wait = CodeOceanComputationSensor(
        task_id="wait_for_computation",
        # Whichever branch ran: the skipped one pulls None.
        computation_id=(
            "{{ ti.xcom_pull(task_ids='start_elsewhere', key='codeocean_computation_id')"
            " or ti.xcom_pull(task_ids='given_computation') }}"
        ),
        deferrable=True,
        poke_interval=POLL_INTERVAL,
        # Fail the sensor if the run has not finished within a day (the run itself is left alone).
        timeout=timedelta(days=1).total_seconds(),
        # One of its two upstream tasks is always skipped by the branch.
        trigger_rule="none_failed_min_one_success",
    )

    choose() >> [start_elsewhere, given_computation()] >> wait
