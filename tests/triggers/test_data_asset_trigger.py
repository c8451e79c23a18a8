"""CodeOceanDataAssetTrigger: serialization, and every event against the emulator over HTTP."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from airflow_provider_codeocean.operators.data_asset import CodeOceanCreateDataAssetOperator
from airflow_provider_codeocean.triggers.data_asset import EVENT_STATUSES, CodeOceanDataAssetTrigger
from tests.operators.test_data_asset_support import MISSING, TINY, make_context, run_trigger

CLASSPATH = "airflow_provider_codeocean.triggers.data_asset.CodeOceanDataAssetTrigger"


def draft(emulator: Any, bucket: str = "raw-data", delay: float = 0.3) -> str:
    emulator.app.config.asset_ready_delay = delay
    result = CodeOceanCreateDataAssetOperator(
        task_id="make", name="asset", aws_source={"bucket": bucket}, wait_for_ready=False, idempotent=False
    ).execute(make_context())
    return str(result["id"])


def trigger(data_asset_id: str, **kwargs: Any) -> CodeOceanDataAssetTrigger:
    kwargs.setdefault("poll_interval", TINY)
    return CodeOceanDataAssetTrigger(conn_id="codeocean_default", data_asset_id=data_asset_id, **kwargs)


def test_serialize_is_primitives_and_round_trips() -> None:
    original = trigger("abc", end_time=10.0, execution_deadline=20.0, transient_grace=5.0)
    classpath, kwargs = original.serialize()

    assert classpath == CLASSPATH
    assert kwargs == {
        "conn_id": "codeocean_default",
        "data_asset_id": "abc",
        "poll_interval": TINY,
        "end_time": 10.0,
        "execution_deadline": 20.0,
        "transient_grace": 5.0,
    }
    assert CodeOceanDataAssetTrigger(**kwargs).serialize() == (classpath, kwargs)


def test_kwargs_survive_airflow_serde() -> None:
    serde = pytest.importorskip("airflow.sdk.serde")
    _, kwargs = trigger("abc").serialize()
    assert serde.deserialize(serde.serialize(kwargs)) == kwargs


def test_ready_fires_success_with_the_asset(codeocean_emulator: Any) -> None:
    asset_id = draft(codeocean_emulator)
    event = run_trigger(trigger(asset_id))

    assert event["status"] == "success"
    assert event["data_asset_id"] == asset_id
    assert event["data_asset"]["state"] == "ready"
    assert set(event) <= {"status", "data_asset_id", "data_asset", "message"}
    assert event["status"] in EVENT_STATUSES


def test_failed_fires_failed_with_the_reason(codeocean_emulator: Any) -> None:
    asset_id = draft(codeocean_emulator, bucket="no-such-bucket")
    event = run_trigger(trigger(asset_id))

    assert event["status"] == "failed"
    assert "no-such-bucket" in event["message"]
    assert event["data_asset"]["failure_reason"]


def test_an_unknown_asset_is_an_error(codeocean_emulator: Any) -> None:
    event = run_trigger(trigger(MISSING))
    assert event["status"] == "error"
    assert event["error_type"] == "CodeOceanNotFoundError"


def test_transient_errors_are_tolerated(codeocean_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    asset_id = draft(codeocean_emulator, delay=0.0)
    # No retries inside the hook: each 503 reaches the trigger, which must ride it out.
    conn = {"conn_type": "codeocean", "host": codeocean_emulator.base_url, "password": codeocean_emulator.token}
    monkeypatch.setenv("AIRFLOW_CONN_CODEOCEAN_DEFAULT", json.dumps({**conn, "extra": {"retry_limit": 0}}))
    codeocean_emulator.add_fault(f"503 method=GET path=/api/v1/data_assets/{asset_id} times=3")

    event = run_trigger(trigger(asset_id))

    assert event["status"] == "success"
    polls = [r for r in codeocean_emulator.requests() if r["path"] == f"/api/v1/data_assets/{asset_id}"]
    assert [r["status"] for r in polls[-4:]] == [503, 503, 503, 200]


def test_transient_errors_past_the_grace_period_are_an_error(
    codeocean_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset_id = draft(codeocean_emulator, delay=0.0)
    conn = {"conn_type": "codeocean", "host": codeocean_emulator.base_url, "password": codeocean_emulator.token}
    monkeypatch.setenv("AIRFLOW_CONN_CODEOCEAN_DEFAULT", json.dumps({**conn, "extra": {"retry_limit": 0}}))
    codeocean_emulator.add_fault(f"503 method=GET path=/api/v1/data_assets/{asset_id}")

    event = run_trigger(trigger(asset_id, transient_grace=0.1))

    assert event["status"] == "error"
    assert "unavailable" in event["message"]


@pytest.mark.parametrize(
    ("kwargs", "deadline"), [({"end_time": 1.0}, "wait"), ({"execution_deadline": 1.0}, "execution")]
)
def test_deadlines_fire_timeout(codeocean_emulator: Any, kwargs: dict[str, Any], deadline: str) -> None:
    asset_id = draft(codeocean_emulator, delay=600)
    event = run_trigger(trigger(asset_id, **kwargs))
    assert event["status"] == "timeout"
    assert event["deadline"] == deadline


def test_waits_while_draft(codeocean_emulator: Any) -> None:
    asset_id = draft(codeocean_emulator, delay=0.4)
    event = run_trigger(trigger(asset_id, end_time=time.time() + 600))
    assert event["status"] == "success"
    polls = [r for r in codeocean_emulator.requests() if r["path"] == f"/api/v1/data_assets/{asset_id}"]
    assert len(polls) > 1
