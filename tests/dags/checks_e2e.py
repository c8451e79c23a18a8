"""DAGs for the checks made before compute is spent (tests/operators/test_checks_before_compute.py).

Both render templates as text (Airflow's default), as a new user's DAG does.

* ``metadata_from_templates``: capture a finished run (``computation_id`` from conf) with custom metadata
  filled by ``{{ ds }}`` and ``{{ params.n }}``, then update one field the same way.
* ``check_capture_first``: a run whose capture task's metadata is checked before the run starts.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_codeocean.operators.computation import CodeOceanRunCapsuleOperator
from airflow_provider_codeocean.operators.data_asset import (
    CodeOceanCreateDataAssetOperator,
    CodeOceanUpdateDataAssetOperator,
)

ECHO = "ec40ec40-0000-4000-8000-000000000001"
_DEFAULTS = {"schedule": None, "start_date": datetime(2024, 1, 1), "catchup": False, "tags": ["codeocean-tests"]}

with DAG("metadata_from_templates", params={"n": 3}, **_DEFAULTS) as metadata_from_templates:
    capture = CodeOceanCreateDataAssetOperator(
        task_id="capture",
        name="samples {{ ds }}",
        computation_id="{{ dag_run.conf['computation_id'] }}",
        custom_metadata={"acquired": "{{ ds }}", "sample_count": "{{ params.n }}", "project": "p"},
        poll_interval=0.05,
    )
    update = CodeOceanUpdateDataAssetOperator(
        task_id="update",
        data_asset_id="{{ ti.xcom_pull(task_ids='capture')['id'] }}",
        custom_metadata={"sample_count": "{{ params.n * 2 }}"},
    )
    capture >> update

with DAG("check_capture_first", params={"n": "3"}, **_DEFAULTS) as check_capture_first:
    run = CodeOceanRunCapsuleOperator(
        task_id="run",
        capsule_id=ECHO,
        named_parameters={"message": "hello"},
        check_capture="capture",
        poll_interval=0.05,
    )
    capture_run = CodeOceanCreateDataAssetOperator(
        task_id="capture",
        name="run {{ ds }}",
        computation_id="{{ ti.xcom_pull(task_ids='run')['id'] }}",
        custom_metadata={"acquired": "{{ ds }}", "sample_count": "{{ dag_run.conf.get('n', params.n) }}"},
        poll_interval=0.05,
    )
    run >> capture_run
