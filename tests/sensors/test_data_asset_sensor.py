"""CodeOceanDataAssetSensor: poke, reschedule and deferrable, ready and failed, soft_fail."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)

from airflow_provider_codeocean.errors import CodeOceanDataAssetFailedError, CodeOceanNotFoundError
from airflow_provider_codeocean.links import DATA_ASSET_ID_KEY, DATA_ASSET_URL_KEY
from airflow_provider_codeocean.operators.data_asset import CodeOceanCreateDataAssetOperator
from airflow_provider_codeocean.sensors.data_asset import CodeOceanDataAssetSensor
from airflow_provider_codeocean.triggers.data_asset import CodeOceanDataAssetTrigger
from tests.dagtest import run_dag, task_states
from tests.operators.test_data_asset_support import MISSING, TINY, FakeTaskInstance, make_context, run_trigger

SENSORS = ["sense_poke", "sense_reschedule", "sense_deferrable"]


def draft(emulator: Any, bucket: str = "raw-data", delay: float = 0.3) -> dict[str, Any]:
    emulator.app.config.asset_ready_delay = delay
    return CodeOceanCreateDataAssetOperator(
        task_id="make", name="asset", aws_source={"bucket": bucket}, wait_for_ready=False, idempotent=False
    ).execute(make_context())


def sensor(data_asset_id: Any, **kwargs: Any) -> CodeOceanDataAssetSensor:
    kwargs.setdefault("poke_interval", TINY)
    return CodeOceanDataAssetSensor(task_id="sense", data_asset_id=data_asset_id, **kwargs)


# End to end, every mode


def test_every_mode_succeeds_when_the_asset_is_ready(codeocean_emulator: Any, airflow_db: None) -> None:
    asset = draft(codeocean_emulator)
    dag_run = run_dag("data_asset_e2e", "data_asset_sensor_modes", {"data_asset_id": asset["id"]})
    assert task_states(dag_run) == dict.fromkeys(SENSORS, "success")


def test_every_mode_fails_when_the_asset_fails(codeocean_emulator: Any, airflow_db: None) -> None:
    asset = draft(codeocean_emulator, bucket="no-such-bucket")
    dag_run = run_dag("data_asset_e2e", "data_asset_sensor_modes", {"data_asset_id": asset["id"]})
    assert task_states(dag_run) == dict.fromkeys(SENSORS, "failed")


def test_every_mode_skips_a_failed_asset_with_soft_fail(codeocean_emulator: Any, airflow_db: None) -> None:
    asset = draft(codeocean_emulator, bucket="no-such-bucket")
    dag_run = run_dag("data_asset_e2e", "data_asset_sensor_soft_fail", {"data_asset_id": asset["id"]})
    assert task_states(dag_run) == dict.fromkeys(SENSORS, "skipped")


# Driven by hand


def test_poke_is_false_while_draft_and_returns_the_asset_when_ready(codeocean_emulator: Any) -> None:
    asset = draft(codeocean_emulator, delay=600)
    ti = FakeTaskInstance()
    op = sensor(asset)  # the create operator's returned dict works as the id
    assert not op.poke(make_context(ti))
    assert ti.xcom[DATA_ASSET_ID_KEY] == asset["id"]
    assert ti.xcom[DATA_ASSET_URL_KEY].endswith(asset["id"])

    codeocean_emulator.set_data_asset_state(asset["id"], "ready")
    done = op.poke(make_context(ti))
    assert done.is_done
    assert done.xcom_value["state"] == "ready"


def test_poke_rides_out_transient_errors(codeocean_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    asset = draft(codeocean_emulator, delay=0)
    conn = {"conn_type": "codeocean", "host": codeocean_emulator.base_url, "password": codeocean_emulator.token}
    monkeypatch.setenv("AIRFLOW_CONN_CODEOCEAN_DEFAULT", json.dumps({**conn, "extra": {"retry_limit": 0}}))
    codeocean_emulator.add_fault("503 method=GET path=/api/v1/data_assets/* times=1")
    op = sensor(asset["id"])
    assert not op.poke(make_context())
    assert op.poke(make_context()).is_done


def test_an_unknown_asset_fails_without_retries(codeocean_emulator: Any) -> None:
    with pytest.raises(CodeOceanNotFoundError) as err:
        sensor(MISSING).poke(make_context())
    assert isinstance(err.value, AirflowFailException)


def test_a_failed_asset_raises_its_reason(codeocean_emulator: Any) -> None:
    asset = draft(codeocean_emulator, bucket="gone", delay=0)
    with pytest.raises(CodeOceanDataAssetFailedError, match="gone"):
        sensor(asset["id"]).poke(make_context())
    with pytest.raises(AirflowSkipException):
        sensor(asset["id"], soft_fail=True).poke(make_context())


def test_deferrable_defers_then_resumes_from_the_event(codeocean_emulator: Any) -> None:
    asset = draft(codeocean_emulator, delay=0.3)
    op = sensor(asset["id"], deferrable=True, timeout=600)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, CodeOceanDataAssetTrigger)
    assert trigger.poll_interval == TINY

    result = op.execute_complete(make_context(), run_trigger(trigger))
    assert result["id"] == asset["id"]
    assert result["state"] == "ready"


def test_deferrable_returns_at_once_when_already_ready(codeocean_emulator: Any) -> None:
    asset = draft(codeocean_emulator, delay=0)
    codeocean_emulator.wait_for_data_asset(asset["id"])
    assert sensor(asset["id"], deferrable=True).execute(make_context())["state"] == "ready"


def test_timeout_event_times_out_or_skips(codeocean_emulator: Any) -> None:
    event = {"status": "timeout", "data_asset_id": "x", "message": "the wait timeout passed", "deadline": "wait"}
    with pytest.raises(AirflowSensorTimeout):
        sensor("x").execute_complete(make_context(), event)
    with pytest.raises(AirflowSkipException):
        sensor("x", soft_fail=True).execute_complete(make_context(), event)


def test_failed_event_fails_or_skips(codeocean_emulator: Any) -> None:
    asset = draft(codeocean_emulator, bucket="gone", delay=0)
    event = run_trigger(CodeOceanDataAssetTrigger("codeocean_default", asset["id"], poll_interval=TINY))
    assert event["status"] == "failed"
    with pytest.raises(CodeOceanDataAssetFailedError, match="gone"):
        sensor(asset["id"]).execute_complete(make_context(), event)
    with pytest.raises(AirflowSkipException):
        sensor(asset["id"], soft_fail=True).execute_complete(make_context(), event)
