"""Consumer: runs once per Code Ocean coverage summary that ``example_codeocean_assets_producer`` captured.

Scheduled on the producer's ``AssetAlias``; the triggering asset event names the data asset
(``codeocean://<domain>/data_assets/<id>``) and carries its id, name, tags and the computation that
made it, so the next analysis can mount exactly that asset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, AssetAlias, task

from airflow_provider_codeocean.sensors.data_asset import CodeOceanDataAssetSensor

COVERAGE_SUMMARIES = AssetAlias("codeocean-coverage-summaries")

with DAG(
    dag_id="example_codeocean_assets_consumer",
    doc_md=__doc__,
    description="Start the next analysis on each new coverage summary data asset",
    schedule=[COVERAGE_SUMMARIES],
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["codeocean", "example", "assets"],
) as dag:

    @task
    def triggering_data_assets(**context: Any) -> list[str]:
        """The ids of the data assets whose events started this run (Airflow 3 and 2.11 spellings)."""
        events = context.get("triggering_asset_events") or context.get("triggering_dataset_events") or {}
        return [event.extra["data_asset_id"] for batch in events.values() for event in batch]

    CodeOceanDataAssetSensor.partial(task_id="ready", deferrable=True).expand(data_asset_id=triggering_data_assets())
