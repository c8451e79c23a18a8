"""The asset examples on the emulator: the producer's capture emits one event that queues the consumer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.airflow_version import AIRFLOW_V_3_0_ONLY, AIRFLOW_V_3_0_PLUS, ON_30_DAG_TEST
from tests.examples.conftest import EXAMPLE_DAGS
from tests.examples.test_example_dags_run import _states, run_example  # noqa: F401  (fixture)


@pytest.mark.skipif(AIRFLOW_V_3_0_ONLY, reason=ON_30_DAG_TEST)
def test_producer_announces_the_capture_to_the_consumer(run_example: Any, codeocean_emulator: Any) -> None:  # noqa: F811
    from airflow_provider_codeocean.assets import data_asset_uri
    from tests.assets.test_asset_events import _events_and_queue

    if not AIRFLOW_V_3_0_PLUS:
        # Airflow 2.11's dag.test() does not write aliases to the database; the DAG processor would.
        from airflow.models import DagBag
        from airflow.models.dag import DAG

        bag = DagBag(dag_folder=str(EXAMPLE_DAGS), include_examples=False)
        DAG.bulk_write_to_db([bag.dags[f"example_codeocean_assets_{d}"] for d in ("producer", "consumer")])
    dag_run = run_example("example_codeocean_assets_producer")

    assert str(dag_run.state) in ("success", "DagRunState.SUCCESS"), _states(dag_run)
    asset = dag_run.get_task_instance("capture").xcom_pull(task_ids="capture")
    events, queued = _events_and_queue()
    mine = [extra for uri, extra in events if uri == data_asset_uri(codeocean_emulator.base_url, asset["id"])]
    assert len(mine) == 1
    assert mine[0]["name"] == "coverage summary sample-c"
    assert mine[0]["computation_id"] == dag_run.get_task_instance("run").xcom_pull(task_ids="run")["id"]
    assert "example_codeocean_assets_consumer" in queued
