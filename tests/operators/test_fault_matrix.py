"""The fault matrix of docs/guarantees.md: every operator path against every fault the emulator injects.

Each row runs the real operator against the emulator over HTTP and asserts the outcome: the task
succeeds with exactly one asset, the update applied, the file complete; or, where a fault outlasts what
can be absorbed safely, the error is typed, ``transient`` and not an ``AirflowFailException`` (so Airflow
retries the task), and the retry ends with the same outcome.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_codeocean.errors import CodeOceanError, CodeOceanServerError
from airflow_provider_codeocean.operators.data_asset import (
    CodeOceanCreateDataAssetOperator,
    CodeOceanSearchCapsulesOperator,
    CodeOceanSearchDataAssetsOperator,
    CodeOceanUpdateDataAssetOperator,
)
from airflow_provider_codeocean.operators.results import CodeOceanDownloadResultsOperator, CodeOceanReadResultOperator
from tests.operators.test_data_asset_support import ECHO, TINY, make_context, posts_to, run_capsule

ASSETS = "/api/v1/data_assets"
ONE_ASSET = "/api/v1/data_assets/*"
PERMISSIONS = "/api/v1/data_assets/*/permissions"
ASSET_SEARCH = "/api/v1/data_assets/search"
CAPSULE_SEARCH = "/api/v1/capsules/search"
FILE_URLS = "/api/v1/computations/*/results/urls"
SIGNED = "/_signed/**"

#: One blip of each kind: the client sees a refusal, a server error, a dropped or a silent connection.
BLIPS = ["429", "500", "502", "503", "reset", "hang:5"]
#: The server acted, then the answer was lost.
LOST_ANSWERS = ["ambiguous:502", "ambiguous:reset"]
#: Seconds a request may take before the client gives up: a hang outlasts it.
REQUEST_TIMEOUT = 0.5


@pytest.fixture
def co(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The emulator with the suite's fast retries, plus a request timeout short enough for hangs."""
    conn = json.loads(os.environ["AIRFLOW_CONN_CODEOCEAN_DEFAULT"])
    conn["extra"] = {**conn["extra"], "request_timeout": REQUEST_TIMEOUT}
    monkeypatch.setenv("AIRFLOW_CONN_CODEOCEAN_DEFAULT", json.dumps(conn))
    return emulator


def assert_airflow_retries(exc: BaseException) -> None:
    assert isinstance(exc, CodeOceanError)
    assert exc.transient
    assert not isinstance(exc, AirflowFailException)


def create_op(**kwargs: Any) -> CodeOceanCreateDataAssetOperator:
    kwargs.setdefault("task_id", "create")
    kwargs.setdefault("name", "matrix")
    kwargs.setdefault("aws_source", {"bucket": "raw-data"})
    kwargs.setdefault("poll_interval", TINY)
    op = CodeOceanCreateDataAssetOperator(**kwargs)
    op.reconcile_delays = (0.0, 0.0)
    return op


def faults_of(emulator: Any, method: str, path: str) -> list[str | None]:
    return [r["fault"] for r in emulator.requests() if r["method"] == method and r["path"] == path]


# Create: POST /data_assets


@pytest.mark.parametrize("fault", BLIPS + LOST_ANSWERS)
def test_create_absorbs_one_fault_with_exactly_one_asset(co: Any, fault: str) -> None:
    co.add_fault(f"{fault} method=POST path={ASSETS} times=1")

    result = create_op().execute(make_context())

    assert result["state"] == "ready"
    assert co.count_data_assets() == 1
    # A lost answer is adopted; anything else proved nothing was created and was sent again.
    assert len(posts_to(co, ASSETS)) == (1 if fault in LOST_ANSWERS else 2)


def test_create_whose_answers_are_always_lost_adopts_the_first_asset(co: Any) -> None:
    co.add_fault(f"ambiguous:502 method=POST path={ASSETS}")

    result = create_op().execute(make_context())

    assert result["state"] == "ready"
    assert co.count_data_assets() == 1
    assert len(posts_to(co, ASSETS)) == 1


@pytest.mark.parametrize("fault", ["503", "reset"])
def test_create_that_keeps_failing_stops_after_three_attempts_and_airflow_retries(co: Any, fault: str) -> None:
    co.add_fault(f"{fault} method=POST path={ASSETS}")

    with pytest.raises(CodeOceanError) as err:
        create_op().execute(make_context())

    assert_airflow_retries(err.value)
    assert len(posts_to(co, ASSETS)) == CodeOceanCreateDataAssetOperator.submit_attempts
    assert co.count_data_assets() == 0
    co.clear_faults()
    assert create_op().execute(make_context())["state"] == "ready"
    assert co.count_data_assets() == 1


def _fail_searches_after_the_create(co: Any, op: CodeOceanCreateDataAssetOperator, spec: str) -> None:
    """Inject ``spec`` on the tag search once the create request has been sent (the lookup, not the
    earlier search for a previous try's asset, is what fails)."""
    hook = op.hook
    send = hook.create_data_asset

    def create_then_break_search(params: Any) -> Any:
        co.add_fault(spec)
        return send(params)

    hook.create_data_asset = create_then_break_search  # type: ignore[method-assign]


def test_create_lookup_that_fails_once_looks_again_and_adopts(co: Any) -> None:
    co.add_fault(f"ambiguous:502 method=POST path={ASSETS} times=1")
    op = create_op()
    # Two failures: the request and the transport's one retry, so the first look fails as a whole.
    _fail_searches_after_the_create(co, op, f"503 method=POST path={ASSET_SEARCH} times=2")

    result = op.execute(make_context())

    assert result["state"] == "ready"
    assert co.count_data_assets() == 1
    assert len(posts_to(co, ASSETS)) == 1


def test_create_that_cannot_look_is_not_sent_again_and_the_airflow_retry_adopts(co: Any) -> None:
    co.add_fault(f"ambiguous:502 method=POST path={ASSETS} times=1")
    op = create_op()
    _fail_searches_after_the_create(co, op, f"503 method=POST path={ASSET_SEARCH}")

    with pytest.raises(CodeOceanServerError) as err:
        op.execute(make_context())

    assert_airflow_retries(err.value)
    assert len(posts_to(co, ASSETS)) == 1
    co.clear_faults()
    retry = create_op().execute(make_context())
    assert retry["state"] == "ready"
    assert co.count_data_assets() == 1
    assert len(posts_to(co, ASSETS)) == 1


def test_create_without_a_tag_absorbs_a_429(co: Any) -> None:
    co.add_fault(f"429 method=POST path={ASSETS} times=1")

    create_op(idempotent=False).execute(make_context())

    assert co.count_data_assets() == 1


@pytest.mark.parametrize("fault", ["503", "reset", "ambiguous:502"])
def test_create_without_a_tag_fails_asking_to_check_code_ocean(co: Any, fault: str) -> None:
    co.add_fault(f"{fault} method=POST path={ASSETS} times=1")

    with pytest.raises(CodeOceanError, match="check Code Ocean before retrying"):
        create_op(idempotent=False).execute(make_context())

    assert len(posts_to(co, ASSETS)) == 1
    assert co.count_data_assets() == (1 if fault.startswith("ambiguous") else 0)


# Permissions: POST /data_assets/{id}/permissions (sets the whole list: sending it twice is harmless)

WANTED = {"users": [{"email": "alice@example.com", "role": "editor"}], "everyone": "viewer"}


def _permissions(asset_id: str) -> set[tuple[str, str]]:
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

    actual = CodeOceanHook().get_data_asset_permissions(asset_id)
    return {(u.email, u.role) for u in actual.users} | {("everyone", str(actual.everyone))}


@pytest.mark.parametrize("fault", BLIPS + LOST_ANSWERS)
def test_permissions_absorb_one_fault(co: Any, fault: str) -> None:
    co.add_fault(f"{fault} method=POST path={PERMISSIONS} times=1")

    result = create_op(permissions=WANTED).execute(make_context())

    assert _permissions(result["id"]) >= {("alice@example.com", "editor"), ("everyone", "viewer")}
    assert co.count_data_assets() == 1


def test_permissions_that_keep_failing_are_applied_by_the_airflow_retry_to_the_same_asset(co: Any) -> None:
    co.add_fault(f"503 method=POST path={PERMISSIONS}")

    with pytest.raises(CodeOceanServerError) as err:
        create_op(permissions=WANTED).execute(make_context())

    assert_airflow_retries(err.value)
    co.clear_faults()
    result = create_op(permissions=WANTED).execute(make_context())
    assert _permissions(result["id"]) >= {("alice@example.com", "editor"), ("everyone", "viewer")}
    assert co.count_data_assets() == 1


# Update: PUT /data_assets/{id} (carries every field: sending it twice gives the same asset)


def _update(asset_id: str) -> dict[str, Any]:
    op = CodeOceanUpdateDataAssetOperator(task_id="update", data_asset_id=asset_id, name="renamed", add_tags=["new"])
    return op.execute(make_context())


@pytest.mark.parametrize("fault", BLIPS + LOST_ANSWERS)
def test_update_absorbs_one_fault_and_applies_once(co: Any, fault: str) -> None:
    asset = create_op(idempotent=False, tags=["old"]).execute(make_context())
    co.add_fault(f"{fault} method=PUT path={ONE_ASSET} times=1")

    result = _update(asset["id"])

    assert result["name"] == "renamed"
    assert result["tags"] == ["old", "new"]
    assert co.count_data_assets() == 1


def test_update_that_keeps_failing_is_applied_by_the_airflow_retry(co: Any) -> None:
    asset = create_op(idempotent=False, tags=["old"]).execute(make_context())
    co.add_fault(f"503 method=PUT path={ONE_ASSET}")

    with pytest.raises(CodeOceanServerError) as err:
        _update(asset["id"])

    assert_airflow_retries(err.value)
    co.clear_faults()
    assert _update(asset["id"])["tags"] == ["old", "new"]


# Searches: POST /data_assets/search, POST /capsules/search (reads)


def _search_assets() -> list[str]:
    return CodeOceanSearchDataAssetsOperator(task_id="search", query="name:matrix").execute(make_context())  # type: ignore[no-any-return]


def _search_capsules() -> list[str]:
    return CodeOceanSearchCapsulesOperator(task_id="search").execute(make_context())  # type: ignore[no-any-return]


@pytest.mark.parametrize("fault", BLIPS + LOST_ANSWERS)
def test_data_asset_search_absorbs_one_fault(co: Any, fault: str) -> None:
    for index in range(2):
        create_op(idempotent=False, tags=[str(index)]).execute(make_context())
    expected = _search_assets()
    co.add_fault(f"{fault} method=POST path={ASSET_SEARCH} times=1")

    assert sorted(_search_assets()) == sorted(expected)
    assert len(expected) == 2


@pytest.mark.parametrize("fault", BLIPS + LOST_ANSWERS)
def test_capsule_search_absorbs_one_fault(co: Any, fault: str) -> None:
    expected = _search_capsules()
    co.add_fault(f"{fault} method=POST path={CAPSULE_SEARCH} times=1")

    assert sorted(_search_capsules()) == sorted(expected)
    assert ECHO in expected


@pytest.mark.parametrize("path", [ASSET_SEARCH, CAPSULE_SEARCH])
def test_a_search_that_keeps_failing_is_left_to_airflow_retries(co: Any, path: str) -> None:
    co.add_fault(f"503 method=POST path={path}")
    search = _search_assets if path == ASSET_SEARCH else _search_capsules

    with pytest.raises(CodeOceanServerError) as err:
        search()

    assert_airflow_retries(err.value)


# Results: download and read (the signed-URL request, then the file from storage)


@pytest.fixture
def echo_run(co: Any) -> dict[str, Any]:
    return run_capsule(co, ECHO, ["hello"])


def _summary(co: Any, run: dict[str, Any]) -> bytes:
    return (co.run_dir(run["id"]) / "results" / "summary.txt").read_bytes()  # type: ignore[no-any-return]


def _download(run: dict[str, Any], destination: Path, **kwargs: Any) -> list[dict[str, Any]]:
    op = CodeOceanDownloadResultsOperator(
        task_id="download", computation_id=run["id"], destination=str(destination), include="summary.txt", **kwargs
    )
    return op.execute(make_context())  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", [FILE_URLS, SIGNED])
@pytest.mark.parametrize("fault", BLIPS)
def test_download_absorbs_one_fault_and_the_file_is_complete(
    co: Any, echo_run: dict[str, Any], tmp_path: Path, fault: str, path: str
) -> None:
    co.add_fault(f"{fault} method=GET path={path} times=1")

    (written,) = _download(echo_run, tmp_path / "out")

    expected = _summary(co, echo_run)
    assert (tmp_path / "out" / "summary.txt").read_bytes() == expected
    assert written["sha256"] == hashlib.sha256(expected).hexdigest()


@pytest.mark.parametrize("path", [FILE_URLS, SIGNED])
@pytest.mark.parametrize("fault", BLIPS)
def test_read_absorbs_one_fault(co: Any, echo_run: dict[str, Any], fault: str, path: str) -> None:
    co.add_fault(f"{fault} method=GET path={path} times=1")

    text = CodeOceanReadResultOperator(task_id="read", computation_id=echo_run["id"], path="summary.txt").execute(
        make_context()
    )

    assert text == _summary(co, echo_run).decode()


@pytest.mark.parametrize("path", [FILE_URLS, SIGNED])
def test_a_file_that_keeps_failing_leaves_no_partial_file_and_airflow_retries(
    co: Any, echo_run: dict[str, Any], tmp_path: Path, path: str
) -> None:
    co.add_fault(f"503 method=GET path={path}")
    out = tmp_path / "out"

    with pytest.raises(CodeOceanError) as err:
        _download(echo_run, out, retries_per_file=2)
    with pytest.raises(CodeOceanError) as read_err:
        CodeOceanReadResultOperator(task_id="read", computation_id=echo_run["id"], path="summary.txt").execute(
            make_context()
        )

    assert_airflow_retries(err.value)
    assert_airflow_retries(read_err.value)
    assert [p for p in out.rglob("*") if p.is_file()] == []


# Waiting for an asset: GET /data_assets/{id}, from the sensor (poke), the operator (worker) and the trigger

WAIT_FAULTS = [f for f in BLIPS if f != "hang:5"] + ["hang:2"]


def _draft(co: Any) -> dict[str, Any]:
    co.app.config.asset_ready_delay = 0.3
    return create_op(idempotent=False, wait_for_ready=False).execute(make_context())


@pytest.mark.parametrize("fault", WAIT_FAULTS)
def test_data_asset_sensor_rides_out_faults_beyond_the_transports_retries(co: Any, fault: str) -> None:
    from airflow_provider_codeocean.sensors.data_asset import CodeOceanDataAssetSensor

    asset = _draft(co)
    co.add_fault(f"{fault} method=GET path={ONE_ASSET} times=3")

    result = CodeOceanDataAssetSensor(task_id="sense", data_asset_id=asset["id"], poke_interval=TINY).execute(
        make_context()
    )

    assert result["state"] == "ready"
    # Three faulted answers: more than the transport's one retry absorbs on its own.
    assert sum(f is not None for f in faults_of(co, "GET", f"{ASSETS}/{asset['id']}")) == 3


@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "trigger"])
@pytest.mark.parametrize("fault", WAIT_FAULTS)
def test_create_waits_through_faults_beyond_the_transports_retries(co: Any, fault: str, deferrable: bool) -> None:
    from airflow.providers.common.compat.sdk import TaskDeferred

    from tests.operators.test_data_asset_support import run_trigger

    co.app.config.asset_ready_delay = 0.3
    co.add_fault(f"{fault} method=GET path={ONE_ASSET} times=3")
    op = create_op(idempotent=False, deferrable=deferrable)

    if deferrable:
        with pytest.raises(TaskDeferred) as deferred:
            op.execute(make_context())
        result = op.execute_complete(make_context(), run_trigger(deferred.value.trigger))
    else:
        result = op.execute(make_context())

    assert result["state"] == "ready"
    assert co.count_data_assets() == 1
