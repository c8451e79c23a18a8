"""CodeOceanDataAssetSearchSensor against the emulator: exactly the matching ready assets, in every mode."""

from __future__ import annotations

import time
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, TaskDeferred

from airflow_provider_codeocean.errors import CodeOceanConfigError, CodeOceanDataAssetFailedError
from airflow_provider_codeocean.sensors.data_asset_search import CodeOceanDataAssetSearchSensor
from airflow_provider_codeocean.triggers.data_asset_search import CodeOceanDataAssetSearchTrigger
from tests.operators.test_data_asset_support import TINY, make_asset, make_context, run_trigger


def sensor(**kwargs: Any) -> CodeOceanDataAssetSearchSensor:
    kwargs.setdefault("poke_interval", TINY)
    return CodeOceanDataAssetSearchSensor(task_id="find", **kwargs)


def test_poke_returns_exactly_the_matching_ready_assets(codeocean_emulator: Any) -> None:
    before = time.time() - 1
    wanted = [make_asset(f"session {i}", ["raw", "mouse-7"]) for i in range(2)]
    make_asset("other mouse", ["raw", "mouse-8"])
    with pytest.raises(CodeOceanDataAssetFailedError):
        make_asset("failed", ["raw", "mouse-7"], bucket="no-such-bucket")

    found = sensor(tags=["raw", "mouse-7"], type="dataset", created_after=before, timeout=30).execute(make_context())

    # Oldest first; ``created`` has one-second resolution, so ties go by id.
    assert [a["id"] for a in found] == [a["id"] for a in sorted(wanted, key=lambda a: (a["created"], a["id"]))]
    assert all(a["state"] == "ready" for a in found)


def test_nothing_created_after_the_cutoff_means_no_match(codeocean_emulator: Any) -> None:
    make_asset("old", ["raw"])
    op = sensor(tags=["raw"], created_after=time.time() + 3600, timeout=0.2, mode="poke")
    with pytest.raises(AirflowSensorTimeout):
        op.execute(make_context())


def test_a_draft_match_is_waited_for(codeocean_emulator: Any) -> None:
    codeocean_emulator.app.config.asset_ready_delay = 0.5
    draft = make_asset("draft", ["batch-1"], wait=False)
    assert draft["state"] == "draft"
    op = sensor(tags=["batch-1"])
    assert not op.poke(make_context()).is_done
    found = op.execute(make_context())
    assert [(a["id"], a["state"]) for a in found] == [(draft["id"], "ready")]


def test_deferred_the_trigger_returns_the_matches(codeocean_emulator: Any) -> None:
    op = sensor(tags=["later"], custom_metadata=None, deferrable=True, timeout=30)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, CodeOceanDataAssetSearchTrigger)
    assert "token" not in str(trigger.serialize()).lower()
    asset = make_asset("later", ["later"])

    event = run_trigger(trigger)

    assert event["status"] == "success"
    assert [a["id"] for a in op.execute_complete(make_context(), event)] == [asset["id"]]


def test_deferred_timeout_fails_the_sensor(codeocean_emulator: Any) -> None:
    op = sensor(tags=["never"], deferrable=True, timeout=0.1)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context())
    event = run_trigger(deferred.value.trigger)
    assert event == {"status": "timeout", "deadline": "wait", "message": "no matching data assets were ready"}
    with pytest.raises(AirflowSensorTimeout):
        op.execute_complete(make_context(), event)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"min_count": 0}, "min_count"), ({"poke_interval": 0}, "poke_interval"), ({"min_count": True}, "min_count")],
)
def test_bad_arguments_fail_at_parse_time(kwargs: dict[str, Any], match: str) -> None:
    # CodeOceanConfigError is a ValueError; the shared sensor base raises ValueError for poke_interval.
    with pytest.raises(ValueError, match=match):
        CodeOceanDataAssetSearchSensor(task_id="find", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"type": "raw"}, "type"), ({"tags": [1]}, "tags"), ({"created_after": "yesterday"}, "ISO 8601")],
)
def test_bad_rendered_arguments_fail_before_searching(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(CodeOceanConfigError, match=match):
        CodeOceanDataAssetSearchSensor(task_id="find", **kwargs).search()


def test_every_mode_returns_the_matches_in_a_dag(codeocean_emulator: Any, airflow_db: None) -> None:
    from tests.dagtest import run_dag, task_states

    before = time.time() - 1
    asset = make_asset("session", ["dag-modes"])
    dag_run = run_dag("assets_e2e", "assets_search_sensor_modes", {"tags": ["dag-modes"], "created_after": before})
    tasks = ["find_poke", "find_reschedule", "find_deferrable"]
    assert task_states(dag_run) == dict.fromkeys(tasks, "success")
    for task_id in tasks:
        found = dag_run.get_task_instance(task_id).xcom_pull(task_ids=task_id)
        assert [a["id"] for a in found] == [asset["id"]]
