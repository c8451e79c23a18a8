"""Event-driven: summarise each new raw coverage session as soon as it lands in Code Ocean (Airflow 3).

Nothing runs on a timetable. ``CodeOceanDataAssetWatchTrigger`` watches Code Ocean (in the triggerer,
one search per minute shared with every other Code Ocean wait) for new data assets tagged ``raw`` and
``coverage``; each one that becomes ready starts one run of this DAG. The run reads which data asset
it was started for from the asset event, and runs the coverage capsule on exactly that asset.

The watch remembers what it has announced in an Airflow Variable, so a restarted triggerer neither
announces an asset twice nor misses one that landed while it was down. Assets that existed before the
watch first started are not announced.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Asset, task

from airflow_provider_codeocean.operators.computation import CodeOceanRunCapsuleOperator
from airflow_provider_codeocean.triggers.data_asset_watch import EVENT_TRIGGERS, CodeOceanDataAssetWatchTrigger

COVERAGE_CAPSULE_ID = "7f3d2a10-5c4e-4b8a-9e21-0c0de0ce0001"
POLL_INTERVAL = float(os.environ.get("CODEOCEAN_EXAMPLE_POLL_INTERVAL", "60"))

if EVENT_TRIGGERS:  # AssetWatcher is Airflow 3's; on Airflow 2.11 this file defines no DAG
    from airflow.sdk import AssetWatcher

    NEW_RAW_SESSIONS = Asset(
        "codeocean-new-raw-coverage-sessions",
        watchers=[
            AssetWatcher(
                name="codeocean_new_raw_coverage_sessions",
                trigger=CodeOceanDataAssetWatchTrigger(
                    tags=["raw", "coverage"], type="dataset", poll_interval=POLL_INTERVAL
                ),
            )
        ],
    )

    with DAG(
        dag_id="example_codeocean_new_raw_data",
        doc_md=__doc__,
        description="Start on each new raw coverage data asset in Code Ocean",
        schedule=[NEW_RAW_SESSIONS],
        start_date=datetime(2025, 1, 1),
        catchup=False,
        tags=["codeocean", "example", "assets", "event-driven"],
    ) as dag:

        @task
        def new_sessions(**context: Any) -> list[list[dict[str, str]]]:
            """One capsule run's mounts per data asset whose event started this run."""
            events = context["triggering_asset_events"][NEW_RAW_SESSIONS]
            return [[{"id": event.extra["payload"]["data_asset_id"], "mount": "coverage"}] for event in events]

        CodeOceanRunCapsuleOperator.partial(
            task_id="summarise",
            capsule_id=COVERAGE_CAPSULE_ID,
            named_parameters={"label": "new-session"},
            poll_interval=POLL_INTERVAL,
            deferrable=True,
        ).expand(data_assets=new_sessions())
