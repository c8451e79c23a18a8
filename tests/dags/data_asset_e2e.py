"""End-to-end DAGs for the data asset operators, sensor and results operators.

Run by tests/operators/test_data_asset_dag.py and tests/sensors/test_data_asset_sensor.py. Everything
comes from ``dag_run.conf`` (rendered as native objects), so one file serves every case.

* ``data_asset_e2e_sync`` / ``data_asset_e2e_deferrable``: capture (``computation_id`` or ``aws_source``
  from conf) → sensor → update → search by tag → check.
* ``data_asset_chain``: run a capsule → capture its results → download them → read one → check.
* ``data_asset_sensor_modes`` / ``data_asset_sensor_soft_fail``: one sensor per mode (poke, reschedule,
  deferrable) on ``data_asset_id``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_codeocean.operators.computation import CodeOceanRunCapsuleOperator
from airflow_provider_codeocean.operators.data_asset import (
    CodeOceanCreateDataAssetOperator,
    CodeOceanSearchDataAssetsOperator,
    CodeOceanUpdateDataAssetOperator,
)
from airflow_provider_codeocean.operators.results import (
    CodeOceanDownloadResultsOperator,
    CodeOceanReadResultOperator,
)
from airflow_provider_codeocean.sensors.data_asset import CodeOceanDataAssetSensor

POLL = 0.05
_DEFAULTS = {
    "schedule": None,
    "start_date": datetime(2024, 1, 1),
    "catchup": False,
    "render_template_as_native_obj": True,
    "tags": ["codeocean-tests"],
}


def _assets(dag_id: str, deferrable: bool) -> DAG:
    with DAG(dag_id, **_DEFAULTS) as built:
        capture = CodeOceanCreateDataAssetOperator(
            task_id="capture",
            name="{{ dag_run.conf['name'] }}",
            computation_id="{{ dag_run.conf.get('computation_id') }}",
            aws_source="{{ dag_run.conf.get('aws_source') }}",
            description="captured by {{ dag.dag_id }}",
            tags="{{ dag_run.conf.get('tags', []) }}",
            custom_metadata="{{ dag_run.conf.get('custom_metadata') }}",
            deferrable=deferrable,
            poll_interval=POLL,
        )
        sense = CodeOceanDataAssetSensor(
            task_id="sense",
            data_asset_id="{{ ti.xcom_pull(task_ids='capture', key='codeocean_data_asset_id') }}",
            deferrable=deferrable,
            poke_interval=POLL,
            timeout=600,
        )
        update = CodeOceanUpdateDataAssetOperator(
            task_id="update",
            data_asset_id=capture.output,
            add_tags=["reviewed"],
            custom_metadata={"modality": "imaging"},
        )
        search = CodeOceanSearchDataAssetsOperator(
            task_id="search",
            filters=[{"key": "tags", "value": "reviewed"}],
            query="name:{{ dag_run.conf['name'] }}",
        )

        @task
        def check(created: Any = None, sensed: Any = None, updated: Any = None, found: Any = None) -> str:
            # Fails the DAG run (and so the test) if the XComs are not what users rely on.
            if not isinstance(created, dict) or created.get("state") != "ready":
                raise ValueError(f"unexpected capture result {created!r}")
            if not isinstance(sensed, dict) or sensed.get("id") != created["id"]:
                raise ValueError(f"sensor returned {sensed!r}")
            if "reviewed" not in updated["tags"] or updated["custom_metadata"].get("modality") != "imaging":
                raise ValueError(f"update returned {updated!r}")
            if found != [created["id"]]:
                raise ValueError(f"search found {found!r}, expected [{created['id']!r}]")
            return str(created["id"])

        checked = check(created=capture.output, sensed=sense.output, updated=update.output, found=search.output)
        capture >> sense >> update >> search >> checked
    return built


data_asset_e2e_sync = _assets("data_asset_e2e_sync", deferrable=False)
data_asset_e2e_deferrable = _assets("data_asset_e2e_deferrable", deferrable=True)


with DAG("data_asset_chain", **_DEFAULTS) as data_asset_chain:
    run = CodeOceanRunCapsuleOperator(
        task_id="run",
        capsule_id="{{ dag_run.conf['capsule_id'] }}",
        deferrable=True,
        poll_interval=POLL,
    )
    capture = CodeOceanCreateDataAssetOperator(
        task_id="capture",
        name="results of {{ ti.xcom_pull(task_ids='run', key='codeocean_computation_id') }}",
        computation_id=run.output,
        tags=["chained"],
        deferrable=True,
        poll_interval=POLL,
    )
    download = CodeOceanDownloadResultsOperator(
        task_id="download",
        computation_id="{{ ti.xcom_pull(task_ids='run', key='codeocean_computation_id') }}",
        destination="{{ dag_run.conf['destination'] }}",
        include="{{ dag_run.conf.get('include') }}",
    )
    read = CodeOceanReadResultOperator(
        task_id="read",
        computation_id=run.output,
        path="metrics.json",
    )

    @task
    def verify(asset: Any = None, files: Any = None, metrics: Any = None) -> None:
        if not isinstance(asset, dict) or asset.get("state") != "ready" or "chained" not in asset["tags"]:
            raise ValueError(f"unexpected asset {asset!r}")
        if not files or not all({"path", "destination", "size", "sha256"} <= set(f) for f in files):
            raise ValueError(f"unexpected download result {files!r}")
        if metrics != {"accuracy": 0.97, "n": 3}:
            raise ValueError(f"unexpected metrics {metrics!r}")

    run >> [capture, download, read]
    verify(asset=capture.output, files=download.output, metrics=read.output)


def _sensors(dag_id: str, soft_fail: bool) -> DAG:
    with DAG(dag_id, **_DEFAULTS) as built:
        for mode, deferrable in (("poke", False), ("reschedule", False), ("deferrable", True)):
            CodeOceanDataAssetSensor(
                task_id=f"sense_{mode}",
                data_asset_id="{{ dag_run.conf['data_asset_id'] }}",
                mode="reschedule" if mode == "reschedule" else "poke",
                deferrable=deferrable,
                poke_interval=POLL,
                timeout=600,
                soft_fail=soft_fail,
            )
    return built


data_asset_sensor_modes = _sensors("data_asset_sensor_modes", soft_fail=False)
data_asset_sensor_soft_fail = _sensors("data_asset_sensor_soft_fail", soft_fail=True)
