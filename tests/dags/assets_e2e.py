"""Asset events end to end (tests/assets/test_asset_events.py).

* ``assets_producer``: capture ``dag_run.conf['computation_id']`` (or register ``raw-data``) with an alias
  outlet, then update the asset with a fixed-alias outlet.
* ``assets_consumer``: scheduled on the capture alias; reads which asset triggered it.
* ``assets_search_sensor_modes``: one search sensor per mode on ``dag_run.conf`` tags and cutoff.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, AssetAlias

from airflow_provider_codeocean.operators.data_asset import (
    CodeOceanCreateDataAssetOperator,
    CodeOceanUpdateDataAssetOperator,
)
from airflow_provider_codeocean.sensors.data_asset_search import CodeOceanDataAssetSearchSensor

CAPTURES = AssetAlias("codeocean-test-captures")
UPDATES = AssetAlias("codeocean-test-updates")
_DEFAULTS = {"start_date": datetime(2024, 1, 1), "catchup": False, "render_template_as_native_obj": True}

with DAG("assets_producer", schedule=None, **_DEFAULTS) as assets_producer:
    capture = CodeOceanCreateDataAssetOperator(
        task_id="capture",
        name="{{ dag_run.conf['name'] }}",
        computation_id="{{ dag_run.conf.get('computation_id') }}",
        aws_source="{{ dag_run.conf.get('aws_source') }}",
        tags=["qc"],
        poll_interval=0.05,
        outlets=[CAPTURES],
    )
    CodeOceanUpdateDataAssetOperator(
        task_id="tag", data_asset_id=capture.output, add_tags=["reviewed"], outlets=[UPDATES]
    )

with DAG("assets_consumer", schedule=[CAPTURES], **_DEFAULTS) as assets_consumer:
    CodeOceanUpdateDataAssetOperator(task_id="noop", data_asset_id="{{ dag_run.conf.get('x') }}")

with DAG("assets_search_sensor_modes", schedule=None, **_DEFAULTS) as assets_search_sensor_modes:
    for mode, deferrable in (("poke", False), ("reschedule", False), ("poke", True)):
        CodeOceanDataAssetSearchSensor(
            task_id=f"find_{'deferrable' if deferrable else mode}",
            tags="{{ dag_run.conf['tags'] }}",
            created_after="{{ dag_run.conf['created_after'] }}",
            mode=mode,
            deferrable=deferrable,
            poke_interval=0.05,
            timeout=60,
        )
