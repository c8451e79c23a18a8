"""CodeOceanCreateDataAssetOperator and CodeOceanUpdateDataAssetOperator against the emulator over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred

from airflow_provider_codeocean.errors import (
    CodeOceanConfigError,
    CodeOceanDataAssetFailedError,
    CodeOceanError,
    CodeOceanRunFailedError,
)
from airflow_provider_codeocean.links import DATA_ASSET_ID_KEY, DATA_ASSET_URL_KEY
from airflow_provider_codeocean.models import DataAssetParams
from airflow_provider_codeocean.operators.data_asset import (
    CodeOceanCreateDataAssetOperator,
    CodeOceanUpdateDataAssetOperator,
    run_tag,
)
from airflow_provider_codeocean.triggers.data_asset import CodeOceanDataAssetTrigger
from tests.conftest import FAST_EXTRA
from tests.operators.test_data_asset_support import (
    ECHO,
    FAILING,
    TINY,
    FakeTaskInstance,
    make_context,
    posts_to,
    run_capsule,
    run_trigger,
)

ASSETS = "/api/v1/data_assets"
# The seed page's create example, field for field.
SEED_CREATE = {
    "name": "Data asset From API",
    "description": "An example for creating data asset from CO API",
    "mount": "ProteinFile",
    "tags": ["proteomics", "bioinformatics"],
}
SEED_UPDATE = {
    "name": "Modified The Name",
    "description": "a new description from the API!",
    "tags": ["I", "Am", "New"],
    "mount": "NewMount",
}


def create_op(**kwargs: Any) -> CodeOceanCreateDataAssetOperator:
    kwargs.setdefault("task_id", "capture")
    kwargs.setdefault("poll_interval", TINY)
    return CodeOceanCreateDataAssetOperator(**kwargs)


def stored(emulator: Any, asset_id: str) -> dict[str, Any]:
    app = emulator.app
    with app.store.lock:
        return app.store.data_asset(asset_id).to_json(app.now())


# The seed flows


def test_seed_create_from_a_computation_sends_the_documented_body(codeocean_emulator: Any) -> None:
    computation = run_capsule(codeocean_emulator, ECHO, ["hi"])
    op = create_op(**SEED_CREATE, computation_id=computation["id"], idempotent=False)
    params = op.build_params()

    # The body is the seed's, with the real computation id.
    assert params.to_json() == {**SEED_CREATE, "source": {"computation": {"id": computation["id"]}}}

    ti = FakeTaskInstance()
    result = op.execute(make_context(ti))

    assert result["state"] == "ready"
    assert {k: result[k] for k in SEED_CREATE} == SEED_CREATE
    assert result["type"] == "result"
    assert result["provenance"]["computation"] == computation["id"]
    assert stored(codeocean_emulator, result["id"])["tags"] == SEED_CREATE["tags"]
    assert codeocean_emulator.count_data_assets() == 1
    assert len(posts_to(codeocean_emulator, ASSETS)) == 1
    assert ti.xcom[DATA_ASSET_ID_KEY] == result["id"]
    assert ti.xcom[DATA_ASSET_URL_KEY].endswith(result["id"])


def test_seed_update_then_get(codeocean_emulator: Any) -> None:
    computation = run_capsule(codeocean_emulator)
    created = create_op(**SEED_CREATE, computation_id=computation["id"]).execute(make_context())

    updated = CodeOceanUpdateDataAssetOperator(
        task_id="update",
        data_asset_id=created["id"],
        tags=SEED_UPDATE["tags"],
        name=SEED_UPDATE["name"],
        description=SEED_UPDATE["description"],
        mount=SEED_UPDATE["mount"],
        custom_metadata={"project": "proteomics", "sample_count": 12},
    ).execute(make_context())

    # The seed's answer fields, and the custom metadata the update set.
    assert {k: updated[k] for k in SEED_UPDATE} == SEED_UPDATE
    assert updated["custom_metadata"] == {"project": "proteomics", "sample_count": 12}
    assert {"created", "files", "id", "last_used", "size", "state", "type"} <= set(updated)
    assert stored(codeocean_emulator, created["id"]) == updated
    assert [r["method"] for r in codeocean_emulator.requests() if r["path"] == f"{ASSETS}/{created['id']}"][-2:] == [
        "GET",
        "PUT",
    ]


def test_the_computation_id_can_be_the_run_operators_returned_dict(codeocean_emulator: Any) -> None:
    computation = run_capsule(codeocean_emulator)
    for value in (computation, str(computation)):
        op = create_op(name="from dict", computation_id=value, idempotent=False, wait_for_ready=False)
        assert op.build_params().source.id == computation["id"]  # type: ignore[union-attr]


def test_the_mount_defaults_to_a_safe_form_of_the_name(codeocean_emulator: Any) -> None:
    computation = run_capsule(codeocean_emulator)
    result = create_op(name="My results: run #1", computation_id=computation["id"]).execute(make_context())
    assert result["mount"] == "My_results_run_1"


def test_a_path_captures_part_of_the_results(codeocean_emulator: Any) -> None:
    computation = run_capsule(codeocean_emulator, ECHO, ["a", "b"])
    result = create_op(name="details", computation_id=computation["id"], computation_path="details").execute(
        make_context()
    )
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

    files = [item.path for item in CodeOceanHook().walk_data_asset_files(result["id"])]
    assert files == ["args.txt"]


# Other sources


def test_register_s3_data_and_combine_assets(codeocean_emulator: Any) -> None:
    s3 = create_op(name="raw", aws_source={"bucket": "raw-data", "prefix": "session1"}).execute(make_context())
    computation = run_capsule(codeocean_emulator)
    results = create_op(name="results", computation_id=computation["id"]).execute(
        make_context(FakeTaskInstance(task_id="other"))
    )
    combined = create_op(name="both", data_asset_ids=[s3["id"], results["id"]]).execute(
        make_context(FakeTaskInstance(task_id="third"))
    )

    assert s3["state"] == combined["state"] == "ready"
    assert s3["files"] == 2
    assert combined["type"] == "combined"
    assert {c["id"] for c in combined["contained_data_assets"]} == {s3["id"], results["id"]}


def test_a_failed_asset_fails_the_task_with_its_failure_reason(codeocean_emulator: Any) -> None:
    op = create_op(name="nowhere", aws_source={"bucket": "no-such-bucket"})
    with pytest.raises(CodeOceanDataAssetFailedError, match="no-such-bucket") as err:
        op.execute(make_context())
    assert err.value.data_asset is not None
    assert err.value.data_asset["state"] == "failed"


def test_without_waiting_the_draft_is_returned(codeocean_emulator: Any) -> None:
    codeocean_emulator.app.config.asset_ready_delay = 60
    result = create_op(name="draft", aws_source={"bucket": "raw-data"}, wait_for_ready=False).execute(make_context())
    assert result["state"] == "draft"


def test_a_wait_timeout_raises_and_keeps_the_asset(codeocean_emulator: Any) -> None:
    from airflow_provider_codeocean.errors import CodeOceanWaitTimeoutError

    codeocean_emulator.app.config.asset_ready_delay = 60
    with pytest.raises(CodeOceanWaitTimeoutError, match="still being created"):
        create_op(name="slow", aws_source={"bucket": "raw-data"}, timeout=0.1).execute(make_context())
    assert codeocean_emulator.count_data_assets() == 1


def test_the_wait_on_a_worker_rides_out_transient_errors_like_every_other_wait(
    codeocean_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = {"conn_type": "codeocean", "host": codeocean_emulator.base_url, "password": codeocean_emulator.token}
    monkeypatch.setenv("AIRFLOW_CONN_CODEOCEAN_DEFAULT", json.dumps({**conn, "extra": FAST_EXTRA}))
    # More 503s in a row than the transport retries: the wait itself must tolerate them (transient_grace).
    codeocean_emulator.add_fault("503 method=GET path=/api/v1/data_assets/* times=6")
    result = create_op(name="through an outage", aws_source={"bucket": "raw-data"}).execute(make_context())
    assert result["state"] == "ready"
    refused = [r for r in codeocean_emulator.requests() if r["method"] == "GET" and r["status"] == 503]
    assert len(refused) == 6


# Deferrable, driven by hand (dag.test() runs are in test_data_asset_dag.py)


def test_deferrable_defers_with_primitive_kwargs_and_finishes_from_the_event(codeocean_emulator: Any) -> None:
    codeocean_emulator.app.config.asset_ready_delay = 0.3
    op = create_op(name="deferred", aws_source={"bucket": "raw-data"}, deferrable=True, execution_timeout=None)
    ti = FakeTaskInstance()
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context(ti))
    trigger = deferred.value.trigger
    assert isinstance(trigger, CodeOceanDataAssetTrigger)
    assert deferred.value.method_name == "execute_complete"
    _, kwargs = trigger.serialize()
    assert kwargs["data_asset_id"] == ti.xcom[DATA_ASSET_ID_KEY]
    assert codeocean_emulator.token not in repr(kwargs)

    event = run_trigger(trigger)
    assert event["status"] == "success"
    result = op.execute_complete(make_context(ti), event)
    assert result["state"] == "ready"
    assert result["id"] == ti.xcom[DATA_ASSET_ID_KEY]


def test_deferrable_failed_event_raises_the_failure_reason(codeocean_emulator: Any) -> None:
    op = create_op(name="nowhere", aws_source={"bucket": "missing-bucket"}, deferrable=True)
    codeocean_emulator.app.config.asset_ready_delay = 0.3
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context())
    event = run_trigger(deferred.value.trigger)
    assert event["status"] == "failed"
    with pytest.raises(CodeOceanDataAssetFailedError, match="missing-bucket"):
        op.execute_complete(make_context(), event)


@pytest.mark.parametrize("event", [None, {"status": "weird", "data_asset_id": "x"}, {"status": "success"}])
def test_a_lost_or_unknown_event_is_an_error(event: Any) -> None:
    with pytest.raises(CodeOceanError):
        create_op(name="x", aws_source={"bucket": "b"}).execute_complete(make_context(), event)


# Idempotency


@pytest.mark.parametrize("fault", ["ambiguous:502", "ambiguous:reset"])
def test_an_ambiguous_create_finds_the_asset_instead_of_creating_a_second(codeocean_emulator: Any, fault: str) -> None:
    computation = run_capsule(codeocean_emulator)
    codeocean_emulator.add_fault(f"{fault} method=POST path={ASSETS} times=1")

    result = create_op(name="captured", computation_id=computation["id"]).execute(make_context())

    assert result["state"] == "ready"
    assert codeocean_emulator.count_data_assets() == 1
    assert [r["fault"] for r in posts_to(codeocean_emulator, ASSETS)] == ["ambiguous"]


def test_a_create_that_never_reached_the_server_is_sent_again_within_the_try(codeocean_emulator: Any) -> None:
    codeocean_emulator.add_fault(f"503 method=POST path={ASSETS} times=1")
    op = create_op(name="x", aws_source={"bucket": "raw-data"})
    op.reconcile_delays = (0.0,)

    result = op.execute(make_context())

    assert result["state"] == "ready"
    assert codeocean_emulator.count_data_assets() == 1
    assert [r["fault"] for r in posts_to(codeocean_emulator, ASSETS)] == ["status", None]


def test_a_retry_reuses_the_asset_of_an_earlier_try(codeocean_emulator: Any) -> None:
    computation = run_capsule(codeocean_emulator)
    first = create_op(name="once", computation_id=computation["id"]).execute(make_context())
    second = create_op(name="once", computation_id=computation["id"]).execute(make_context())

    assert first["id"] == second["id"]
    assert codeocean_emulator.count_data_assets() == 1
    assert run_tag(make_context()) in first["tags"]


def test_another_task_instance_creates_its_own_asset(codeocean_emulator: Any) -> None:
    for map_index in (0, 1):
        create_op(name="mapped", aws_source={"bucket": "raw-data"}).execute(
            make_context(FakeTaskInstance(map_index=map_index))
        )
    assert codeocean_emulator.count_data_assets() == 2


def test_a_failed_asset_of_an_earlier_try_is_not_reused(codeocean_emulator: Any) -> None:
    op = create_op(name="flaky", aws_source={"bucket": "raw-data"})
    first = op.execute(make_context())
    codeocean_emulator.set_data_asset_state(first["id"], "failed", "storage hiccup")

    second = create_op(name="flaky", aws_source={"bucket": "raw-data"}).execute(make_context())

    assert second["id"] != first["id"]
    assert second["state"] == "ready"


# Capturing only what succeeded


def test_capturing_a_failed_computation_is_refused_before_anything_is_created(codeocean_emulator: Any) -> None:
    computation = run_capsule(codeocean_emulator, FAILING)
    with pytest.raises(CodeOceanRunFailedError, match="capture_failed=True") as err:
        create_op(name="bad", computation_id=computation["id"]).execute(make_context())
    assert "exit_code=3" in str(err.value)
    assert codeocean_emulator.count_data_assets() == 0
    assert posts_to(codeocean_emulator, ASSETS) == []


def test_capture_failed_sends_the_request_anyway(codeocean_emulator: Any) -> None:
    computation = run_capsule(codeocean_emulator, FAILING)
    # The emulator, like Code Ocean, may still refuse to build it: the asset then fails with a reason.
    with pytest.raises(CodeOceanDataAssetFailedError, match="did not succeed"):
        create_op(name="bad", computation_id=computation["id"], capture_failed=True).execute(make_context())
    assert codeocean_emulator.count_data_assets() == 1


# Bad input: a clear error, nothing created


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "name must be a non-empty string"),
        ({"name": "   "}, "name must be a non-empty string"),
        ({"name": "x", "mount": "a/b"}, "mount must be a folder name"),
        ({"name": "x", "mount": "-rf"}, "not starting with"),
        ({"name": "x", "mount": "with space"}, "mount must be a folder name"),
        ({"name": "x", "tags": "a,b"}, "tags must be a list of strings"),
        ({"name": "x", "tags": ["ok", 3]}, "tags must be non-empty strings"),
        ({"name": "x", "aws_source": {"bucket": "b"}, "data_asset_ids": [ECHO]}, "exactly one of a source"),
        ({"name": "x", "computation_id": None, "aws_source": None}, "exactly one of a source"),
        ({"name": "x", "aws_source": {"bucket": "b"}, "gcp_source": {"bucket": "c"}}, "only one source"),
        ({"name": "x", "aws_source": {"bucket": "b", "region": "eu"}}, "unknown key"),
        ({"name": "x", "aws_source": {"bucket": "b"}, "target": {"bucket": "t"}}, "external target"),
        ({"name": "x", "aws_source": {"bucket": "b"}, "custom_metadata": {"nope": 1}}, "unknown key 'nope'"),
        (
            {"name": "x", "aws_source": {"bucket": "b"}, "custom_metadata": {"sample_count": "many"}},
            "is a number field and cannot take",
        ),
        ({"name": "x", "aws_source": {"bucket": "b"}, "custom_metadata": {"modality": "x-ray"}}, "must be one of"),
        ({"name": "x", "aws_source": {"bucket": "b"}, "custom_metadata": ["a"]}, "must be a dict"),
        ({"name": "x", "aws_source": {"bucket": "b"}, "permissions": {"users": [{"email": "a@b"}]}}, "role"),
        ({"name": "x", "aws_source": {"bucket": "b"}, "permissions": {"everyone": "all"}}, "everyone must be"),
        ({"name": "x", "computation_id": "not an id!"}, "computation_id must be a Code Ocean id"),
        (
            {
                "name": "x",
                "aws_source": {"bucket": "b"},
                "permissions": {"everyone": "viewer"},
                "wait_for_ready": False,
            },
            "wait_for_ready",
        ),
    ],
)
def test_bad_input_is_refused_before_anything_is_created(
    codeocean_emulator: Any, kwargs: dict[str, Any], message: str
) -> None:
    # As rendering leaves them: literal mistakes already fail when the DAG is parsed (test_checks_before_compute).
    op = create_op(name="{{ params.name }}")
    for key, value in kwargs.items():
        setattr(op, key, value)
    with pytest.raises(CodeOceanConfigError, match=message) as err:
        op.execute(make_context())
    # Bad input fails the task for good: Airflow does not retry it.
    assert isinstance(err.value, AirflowFailException)
    assert codeocean_emulator.count_data_assets() == 0
    assert posts_to(codeocean_emulator, ASSETS) == []


def test_capturing_an_unfinished_computation_is_refused(codeocean_emulator: Any) -> None:
    # Started held: a fast capsule cannot finish before the capture looks (it raced under load).
    computation = codeocean_emulator.start_computation(ECHO, held=True)
    with pytest.raises(CodeOceanConfigError, match="has not finished"):
        create_op(name="early", computation_id=computation["id"]).execute(make_context())
    assert codeocean_emulator.count_data_assets() == 0


def test_an_unknown_computation_is_a_clear_404(codeocean_emulator: Any) -> None:
    from airflow_provider_codeocean.errors import CodeOceanNotFoundError

    with pytest.raises(CodeOceanNotFoundError):
        create_op(name="x", computation_id="00000000-0000-4000-8000-000000000404").execute(make_context())
    assert codeocean_emulator.count_data_assets() == 0


def test_dates_in_custom_metadata_become_epoch_seconds(codeocean_emulator: Any) -> None:
    import datetime

    when = datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)
    result = create_op(
        name="dated", aws_source={"bucket": "raw-data"}, custom_metadata={"acquired": when, "project": "p"}
    ).execute(make_context())
    assert result["custom_metadata"] == {"acquired": int(when.timestamp()), "project": "p"}


# Permissions


def test_permissions_are_applied_once_ready_and_confirmed(codeocean_emulator: Any) -> None:
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

    wanted = {
        "users": [{"email": "alice@example.com", "role": "editor"}],
        "groups": [{"group": "analysts", "role": "viewer"}],
        "everyone": "viewer",
    }
    result = create_op(name="shared", aws_source={"bucket": "raw-data"}, permissions=wanted).execute(make_context())

    actual = CodeOceanHook().get_data_asset_permissions(result["id"])
    assert ("alice@example.com", "editor") in {(u.email, u.role) for u in actual.users}
    assert actual.everyone == "viewer"


def test_permissions_dropped_silently_fail_the_task_naming_them(codeocean_emulator: Any) -> None:
    wanted = {"groups": [{"group": "no-such-group", "role": "owner"}], "everyone": "viewer"}
    with pytest.raises(CodeOceanError, match="group no-such-group as owner"):
        create_op(name="shared", aws_source={"bucket": "raw-data"}, permissions=wanted).execute(make_context())


def test_permissions_dropped_can_only_warn(
    codeocean_emulator: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    wanted = {"groups": [{"group": "no-such-group", "role": "owner"}]}
    result = create_op(
        name="shared", aws_source={"bucket": "raw-data"}, permissions=wanted, on_permissions_dropped="warn"
    ).execute(make_context())
    assert result["state"] == "ready"
    # Airflow 3 logs through structlog (stdout), Airflow 2 through logging.
    assert "group no-such-group as owner" in caplog.text + capsys.readouterr().out


# Update


def _asset(emulator: Any, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("name", "asset")
    kwargs.setdefault("aws_source", {"bucket": "raw-data"})
    return create_op(idempotent=False, **kwargs).execute(make_context())


def update(asset_id: str, **kwargs: Any) -> dict[str, Any]:
    return CodeOceanUpdateDataAssetOperator(task_id="update", data_asset_id=asset_id, **kwargs).execute(make_context())


def test_update_changes_only_what_it_names(codeocean_emulator: Any) -> None:
    asset = _asset(
        codeocean_emulator,
        description="keep me",
        tags=["a", "b"],
        mount="keepmount",
        custom_metadata={"project": "p1", "sample_count": 1},
    )
    result = update(asset["id"], name="renamed")

    assert result["name"] == "renamed"
    assert result["description"] == "keep me"
    assert result["tags"] == ["a", "b"]
    assert result["mount"] == "keepmount"
    assert result["custom_metadata"] == {"project": "p1", "sample_count": 1}


def test_update_tags_add_remove_and_replace(codeocean_emulator: Any) -> None:
    asset = _asset(codeocean_emulator, tags=["a", "b", "c"])
    assert update(asset["id"], add_tags=["d", "a"], remove_tags=["b"])["tags"] == ["a", "c", "d"]
    assert update(asset["id"], tags=["x"], add_tags=["y"])["tags"] == ["x", "y"]
    assert update(asset["id"], remove_tags=["x", "y"])["tags"] == []


def test_update_merges_custom_metadata_and_removes_keys(codeocean_emulator: Any) -> None:
    asset = _asset(codeocean_emulator, custom_metadata={"project": "p1", "sample_count": 1})
    result = update(asset["id"], custom_metadata={"sample_count": 5, "modality": "imaging"})
    assert result["custom_metadata"] == {"project": "p1", "sample_count": 5, "modality": "imaging"}
    result = update(asset["id"], remove_custom_metadata=["project"])
    assert result["custom_metadata"] == {"sample_count": 5, "modality": "imaging"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"custom_metadata": {"unknown_field": 1}}, "unknown key 'unknown_field'"),
        ({"custom_metadata": {"sample_count": "ten"}}, "is a number field and cannot take 'ten'"),
        ({"name": ""}, "name must be a non-empty string"),
        ({"mount": "../up"}, "mount must be a folder name"),
        ({"tags": "one"}, "tags must be a list of strings"),
        ({"add_tags": [1]}, "tags must be non-empty strings"),
        ({"remove_custom_metadata": "project"}, "remove_custom_metadata must be a list"),
    ],
)
def test_update_bad_input_sends_no_put(codeocean_emulator: Any, kwargs: dict[str, Any], message: str) -> None:
    asset = _asset(codeocean_emulator, custom_metadata={"project": "p1"})
    with pytest.raises(CodeOceanConfigError, match=message):
        update(asset["id"], **kwargs)
    assert [r for r in codeocean_emulator.requests() if r["method"] == "PUT"] == []
    assert stored(codeocean_emulator, asset["id"])["custom_metadata"] == {"project": "p1"}


def test_update_with_no_change_sends_no_put(codeocean_emulator: Any) -> None:
    asset = _asset(codeocean_emulator, tags=["a"])
    result = update(asset["id"], tags=["a"], name="asset")
    assert result["id"] == asset["id"]
    assert [r for r in codeocean_emulator.requests() if r["method"] == "PUT"] == []


def test_update_accepts_the_create_operators_returned_dict(codeocean_emulator: Any) -> None:
    asset = _asset(codeocean_emulator)
    assert update(asset, add_tags=["z"])["tags"] == ["z"]  # type: ignore[arg-type]


def test_params_body_matches_the_seed_shape() -> None:
    from airflow_provider_codeocean.models import ComputationSource

    params = DataAssetParams(**SEED_CREATE, source=ComputationSource("c229ed13-ec06-43d0-abd9-4d481af3f5e3"))
    assert params.to_json() == {
        **SEED_CREATE,
        "source": {"computation": {"id": "c229ed13-ec06-43d0-abd9-4d481af3f5e3"}},
    }
