"""The create and update operators announce their data asset: one asset event, the right URI and extras."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from airflow_provider_codeocean.assets import data_asset_uri
from tests.airflow_version import AIRFLOW_V_3_0_ONLY, AIRFLOW_V_3_0_PLUS, ON_30_DAG_TEST
from tests.dagtest import load_dag, run_dag, task_states
from tests.operators.test_data_asset_support import ECHO, run_capsule


def _events_and_queue() -> tuple[list[Any], list[str]]:
    from airflow.utils.session import create_session

    if AIRFLOW_V_3_0_PLUS:
        from airflow.models.asset import AssetDagRunQueue as Queue
        from airflow.models.asset import AssetEvent as Event
        from airflow.models.asset import AssetModel as Model

        uri_of = Event.asset
    else:
        from airflow.models.dataset import DatasetDagRunQueue as Queue
        from airflow.models.dataset import DatasetEvent as Event
        from airflow.models.dataset import DatasetModel as Model

        uri_of = Event.dataset
    with create_session() as session:
        events = [
            (model.uri, dict(event.extra or {}))
            for event, model in session.execute(select(Event, Model).join(uri_of)).all()
        ]
        queued = [row.target_dag_id for row in session.scalars(select(Queue))]
    return events, queued


@pytest.mark.skipif(AIRFLOW_V_3_0_ONLY, reason=ON_30_DAG_TEST)
def test_a_capture_emits_one_asset_event_that_queues_the_consumer(codeocean_emulator: Any, airflow_db: None) -> None:
    computation = run_capsule(codeocean_emulator, ECHO, ["hi"])
    if not AIRFLOW_V_3_0_PLUS:
        # Airflow 2.11's dag.test() does not write aliases to the database; the DAG processor would.
        from airflow.models.dag import DAG

        DAG.bulk_write_to_db([load_dag("assets_e2e", "assets_producer"), load_dag("assets_e2e", "assets_consumer")])
    before, _ = _events_and_queue()

    dag_run = run_dag("assets_e2e", "assets_producer", {"name": "qc capture", "computation_id": computation["id"]})

    assert task_states(dag_run) == {"capture": "success", "tag": "success"}
    events, queued = _events_and_queue()
    new = [e for e in events if e not in before]
    asset_id = dag_run.get_task_instance("capture").xcom_pull(task_ids="capture")["id"]
    uri = data_asset_uri(codeocean_emulator.base_url, asset_id)
    # One event from the capture, one from the update, both for the same data asset.
    assert [u for u, _ in new] == [uri, uri]
    (captured, tagged) = (extra for _, extra in new)
    assert captured["data_asset_id"] == asset_id
    assert captured["name"] == "qc capture"
    assert captured["tags"] == ["qc", captured["tags"][1]] and captured["tags"][1].startswith("airflow-run:")
    assert captured["computation_id"] == computation["id"]
    assert captured["state"] == "ready" and captured["mount"]
    assert "reviewed" in tagged["tags"]
    assert "token" not in str(new).lower()
    assert "assets_consumer" in queued
