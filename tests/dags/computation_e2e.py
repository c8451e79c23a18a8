"""End-to-end DAGs for the computation operator and sensor, run by tests/operators/test_computation_dag.py.

Everything comes from ``dag_run.conf`` (rendered as native objects), so one file serves every case:
``capsule_id``, ``parameters``, ``named_parameters``, ``data_assets`` and ``expect`` (``success`` makes the
``check`` task verify the run's XComs).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_codeocean.operators.computation import CodeOceanRunCapsuleOperator
from airflow_provider_codeocean.sensors.computation import CodeOceanComputationSensor

POLL = 0.05


def _build(dag_id: str, deferrable: bool) -> DAG:
    with DAG(
        dag_id,
        schedule=None,
        start_date=datetime(2024, 1, 1),
        catchup=False,
        render_template_as_native_obj=True,
        tags=["codeocean-tests"],
    ) as built:
        run = CodeOceanRunCapsuleOperator(
            task_id="run",
            capsule_id="{{ dag_run.conf['capsule_id'] }}",
            parameters="{{ dag_run.conf.get('parameters') }}",
            named_parameters="{{ dag_run.conf.get('named_parameters') }}",
            data_assets="{{ dag_run.conf.get('data_assets') }}",
            name="{{ dag_run.conf.get('name') }}",
            deferrable=deferrable,
            poll_interval=POLL,
        )
        sense = CodeOceanComputationSensor(
            task_id="sense",
            computation_id="{{ ti.xcom_pull(task_ids='run', key='codeocean_computation_id') }}",
            deferrable=deferrable,
            poke_interval=POLL,
            timeout=600,
        )

        @task
        def check(result: Any = None, sensed: Any = None, url: Any = None) -> str:
            # Fails the DAG run (and so the test) if the operator's XComs are not what users rely on.
            if not isinstance(result, dict) or result.get("state") != "completed":
                raise ValueError(f"unexpected return value {result!r}")
            if result.get("end_status") != "succeeded" or sensed != result:
                raise ValueError(f"sensor saw {sensed!r}, operator returned {result!r}")
            if not isinstance(url, str) or not url.endswith(result["id"]):
                raise ValueError(f"unexpected computation URL {url!r}")
            return str(result["id"])

        checked = check(
            result=run.output,
            sensed=sense.output,
            url="{{ ti.xcom_pull(task_ids='run', key='codeocean_computation_url') }}",
        )
        run >> sense >> checked
    return built


computation_e2e_sync = _build("computation_e2e_sync", deferrable=False)
computation_e2e_deferrable = _build("computation_e2e_deferrable", deferrable=True)
