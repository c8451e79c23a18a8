"""Git sync, release, attach and detach operators against the emulator (real git, real HTTP)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_codeocean.errors import (
    CodeOceanBadRequestError,
    CodeOceanConfigError,
    CodeOceanConflictError,
    CodeOceanError,
    CodeOceanReleaseFailedError,
    CodeOceanReleaseValidationError,
    CodeOceanWaitTimeoutError,
)
from airflow_provider_codeocean.operators.capsule import (
    CodeOceanAttachDataAssetsOperator,
    CodeOceanDetachDataAssetsOperator,
    CodeOceanGitSyncOperator,
)
from airflow_provider_codeocean.operators.release import RELEASE_JOB_ID_KEY, CodeOceanReleaseOperator
from airflow_provider_codeocean.triggers.release import CodeOceanReleaseTrigger
from tests import git_remote
from tests.git_remote import LINKED_CAPSULE, LINKED_PIPELINE, OTHER_ASSET, commit, git
from tests.git_remote import SEEDED_ASSET as ASSET
from tests.operators.test_computation_support import ECHO, FakeStateStore, make_context, make_operator, next_try

# The emulator of these tests has the linked capsules and seeded assets (see tests/git_remote.py).
linked_capsules = git_remote.linked_emulator_capsules
lifecycle_options = git_remote.lifecycle_emulator_options
remote_fixture = git_remote.remote_fixture

TINY = 0.02


def _fail_exception() -> type[BaseException]:
    from airflow.providers.common.compat.sdk import AirflowFailException

    return AirflowFailException  # type: ignore[no-any-return]


def release(**kwargs: Any) -> CodeOceanReleaseOperator:
    kwargs.setdefault("capsule_id", LINKED_CAPSULE)
    kwargs.setdefault("deferrable", False)
    return CodeOceanReleaseOperator(task_id="release", poll_interval=TINY, **kwargs)


def logged(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> str:
    # Airflow 3 task loggers write through structlog to stdout; Airflow 2's reach caplog.
    return caplog.text + capsys.readouterr().out


def _posts(emulator: Any, suffix: str) -> int:
    return sum(1 for r in emulator.requests() if r["method"] == "POST" and r["path"].endswith(suffix))


# Arguments checked at parse time


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of capsule_id or pipeline_id"),
        ({"capsule_id": ECHO, "pipeline_id": ECHO}, "exactly one of capsule_id or pipeline_id"),
        ({"capsule_id": "no such/id"}, "capsule_id must be a Code Ocean id"),
    ],
)
def test_targets_are_checked_when_the_dag_is_parsed(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(CodeOceanConfigError, match=message):
        CodeOceanGitSyncOperator(task_id="sync", **kwargs)


def test_data_assets_and_intervals_are_checked_when_the_dag_is_parsed() -> None:
    with pytest.raises(CodeOceanConfigError, match="mount of"):
        CodeOceanAttachDataAssetsOperator(task_id="a", capsule_id=ECHO, data_assets=[{"id": ASSET, "mount": "a b"}])
    with pytest.raises(CodeOceanConfigError, match="non-empty list"):
        CodeOceanDetachDataAssetsOperator(task_id="d", capsule_id=ECHO, data_assets=[])
    with pytest.raises(CodeOceanConfigError, match="poll_interval"):
        CodeOceanReleaseOperator(task_id="r", capsule_id=ECHO, poll_interval=0)
    # Templates are checked after rendering instead.
    CodeOceanAttachDataAssetsOperator(task_id="t", capsule_id="{{ params.c }}", data_assets="{{ params.assets }}")


# Git sync


def test_git_sync_returns_and_logs_the_counts(
    emulator: Any, remote: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    head = commit(remote, {"code/VERSION": "v2\n"}, "v2")
    caplog.set_level(logging.INFO)

    result = CodeOceanGitSyncOperator(task_id="sync", capsule_id=LINKED_CAPSULE).execute(make_context("sync"))

    assert result == {"pushed": 0, "pulled": 1, "new_branch": False}
    assert git(emulator.capsule_code_dir(LINKED_CAPSULE).parent, "rev-parse", "HEAD") == head
    assert f"Git sync of capsule {LINKED_CAPSULE}: pushed 0 commit(s), pulled 1 commit(s)" in logged(caplog, capsys)


def test_git_sync_of_a_capsule_without_remote_fails_clearly(emulator: Any) -> None:
    with pytest.raises(CodeOceanBadRequestError, match="link it to a Git repository") as raised:
        CodeOceanGitSyncOperator(task_id="sync", capsule_id=ECHO).execute(make_context("sync"))
    assert isinstance(raised.value, _fail_exception())


def test_git_sync_conflict_fails_clearly(emulator: Any, remote: Path) -> None:
    commit(emulator.capsule_code_dir(LINKED_PIPELINE).parent, {"code/a": "1\n"}, "local")
    commit(remote.parent / "pipeline-remote", {"code/b": "2\n"}, "remote")

    with pytest.raises(CodeOceanConflictError, match="resolve the conflict in Code Ocean"):
        CodeOceanGitSyncOperator(task_id="sync", pipeline_id=LINKED_PIPELINE).execute(make_context("sync"))


# Release


def test_release_waits_on_the_worker_and_returns_the_version(emulator: Any, remote: Path) -> None:
    context = make_context("release")
    result = release().execute(context)

    (job,) = emulator.release_jobs(LINKED_CAPSULE)
    assert result == {
        "capsule_id": LINKED_CAPSULE,
        "version": 2,
        "minor_version": 0,
        "release_time": job["release_version"]["release_time"],
        "job_id": job["job_id"],
        "pipeline": False,
    }
    assert context["ti"].xcom[RELEASE_JOB_ID_KEY] == job["job_id"]


def test_release_defers_to_a_trigger_without_the_token(emulator: Any) -> None:
    from airflow.providers.common.compat.sdk import TaskDeferred

    operator = release(deferrable=True, pipeline_id=LINKED_PIPELINE, capsule_id=None)
    context = make_context("release")
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    trigger = deferred.value.trigger
    assert isinstance(trigger, CodeOceanReleaseTrigger)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_codeocean.triggers.release.CodeOceanReleaseTrigger"
    assert kwargs["capsule_id"] == LINKED_PIPELINE and kwargs["pipeline"] is True
    assert emulator.token not in repr(kwargs)

    event = asyncio.run(_first_event(CodeOceanReleaseTrigger(**kwargs)))
    assert event["status"] == "success"
    result = operator.execute_complete(context, event)
    assert (result["capsule_id"], result["version"], result["pipeline"]) == (LINKED_PIPELINE, 2, True)


async def _first_event(trigger: CodeOceanReleaseTrigger) -> dict[str, Any]:
    events = [e async for e in trigger.run()]
    assert len(events) == 1
    payload: dict[str, Any] = events[0].payload
    return payload


@pytest.mark.parametrize("outcome", ["failed", "canceled"])
def test_a_failed_or_canceled_job_fails_with_the_servers_reason(emulator: Any, outcome: str) -> None:
    emulator.configure_release(LINKED_CAPSULE, outcome=outcome, error="environment build failed")

    with pytest.raises(CodeOceanReleaseFailedError, match=f"ended {outcome}: environment build failed"):
        release().execute(make_context("release"))

    from airflow.providers.common.compat.sdk import TaskDeferred

    operator = release(deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(make_context("release"))
    event = asyncio.run(_first_event(deferred.value.trigger))
    assert (event["status"], event["message"].endswith("environment build failed")) == (outcome, True)
    with pytest.raises(CodeOceanReleaseFailedError, match="environment build failed"):
        operator.execute_complete(make_context("release"), event)


def test_unmet_requirements_fail_without_retries(emulator: Any) -> None:
    emulator.configure_release(LINKED_CAPSULE, issues=["missing_reproducible_run"])

    with pytest.raises(CodeOceanReleaseValidationError, match="no completed reproducible run") as raised:
        release().execute(make_context("release"))
    assert isinstance(raised.value, _fail_exception())
    assert emulator.release_jobs(LINKED_CAPSULE) == []


def test_an_ambiguous_release_request_is_reconciled_not_repeated(emulator: Any) -> None:
    emulator.add_fault("ambiguous:reset method=POST path=/api/v1/capsules/*/release times=1")

    result = release().execute(make_context("release"))

    assert len(emulator.release_jobs(LINKED_CAPSULE)) == 1
    assert _posts(emulator, "/release") == 1
    assert (result["capsule_id"], result["version"], result["job_id"]) == (LINKED_CAPSULE, 2, None)


def test_an_ambiguous_request_that_released_nothing_fails_instead_of_releasing_again(emulator: Any) -> None:
    emulator.add_fault("502 method=POST path=/api/v1/capsules/*/release times=1")

    with pytest.raises(CodeOceanError, match="no new version appeared"):
        release(reconcile_timeout=0.3).execute(make_context("release"))
    assert emulator.release_jobs(LINKED_CAPSULE) == [] and _posts(emulator, "/release") == 1


def test_a_retry_follows_the_job_an_earlier_try_started(emulator: Any) -> None:
    store = FakeStateStore()
    first = make_context("release", store=store)
    emulator.configure_release(LINKED_CAPSULE, delay=30)
    with pytest.raises(CodeOceanWaitTimeoutError):
        release(timeout=0.1).execute(first)
    emulator.configure_release(LINKED_CAPSULE, delay=0)

    result = release().execute(next_try(first))

    assert len(emulator.release_jobs(LINKED_CAPSULE)) == 1
    assert result["version"] == 2


def test_a_trigger_timeout_fails_the_task(emulator: Any) -> None:
    event = {"status": "timeout", "job_id": "j", "deadline": "execution", "message": "late"}
    with pytest.raises(CodeOceanWaitTimeoutError, match="execution_timeout; the release goes on"):
        release().execute_complete(make_context("release"), event)


def test_the_released_version_is_what_the_run_operator_runs(emulator: Any, remote: Path) -> None:
    commit(remote, {"code/VERSION": "v2\n"}, "v2")
    CodeOceanGitSyncOperator(task_id="sync", capsule_id=LINKED_CAPSULE).execute(make_context("sync"))
    released = release().execute(make_context("release"))
    commit(remote, {"code/VERSION": "v3\n"}, "v3")
    CodeOceanGitSyncOperator(task_id="sync", capsule_id=LINKED_CAPSULE).execute(make_context("sync"))

    run = make_operator(capsule_id=released["capsule_id"], version=str(released["version"])).execute(make_context())

    assert (emulator.run_dir(run["id"]) / "results" / "version.txt").read_text() == "v2\n"


# Attach and detach


def test_attach_is_idempotent_and_mounts_show_in_runs(
    emulator: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    attach = CodeOceanAttachDataAssetsOperator(
        task_id="attach", capsule_id=LINKED_CAPSULE, data_assets=[{"id": ASSET, "mount": "input"}]
    )

    assert attach.execute(make_context("attach")) == [{"id": ASSET, "mount": "input"}]
    assert attach.execute(make_context("attach")) == [{"id": ASSET, "mount": "input"}]

    assert _posts(emulator, "/data_assets") == 1
    assert f"Data asset {ASSET} is already attached at /data/input: nothing to do" in logged(caplog, capsys)
    run = make_operator(capsule_id=LINKED_CAPSULE).execute(make_context())
    assert (emulator.run_dir(run["id"]) / "results" / "inputs.txt").read_text() == "./input/ref.txt\n"


def test_attach_refuses_a_mount_another_asset_uses_before_sending(emulator: Any) -> None:
    CodeOceanAttachDataAssetsOperator(task_id="a", capsule_id=LINKED_CAPSULE, data_assets=[ASSET]).execute(
        make_context("a")
    )
    clash = CodeOceanAttachDataAssetsOperator(
        task_id="b", capsule_id=LINKED_CAPSULE, data_assets=[{"id": OTHER_ASSET, "mount": "reference"}]
    )
    with pytest.raises(CodeOceanConfigError, match=f"mount 'reference' is used by data asset {ASSET}"):
        clash.execute(make_context("b"))
    assert _posts(emulator, "/data_assets") == 1


def test_detach_is_idempotent(
    emulator: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    CodeOceanAttachDataAssetsOperator(task_id="a", capsule_id=LINKED_CAPSULE, data_assets=[ASSET]).execute(
        make_context("a")
    )
    detach = CodeOceanDetachDataAssetsOperator(task_id="d", capsule_id=LINKED_CAPSULE, data_assets=[ASSET, OTHER_ASSET])

    assert detach.execute(make_context("d")) == [ASSET]
    assert detach.execute(make_context("d")) == []

    assert emulator.attached_data_assets(LINKED_CAPSULE) == []
    assert f"Data asset {OTHER_ASSET} is not attached to capsule {LINKED_CAPSULE}: nothing to detach" in logged(
        caplog, capsys
    )
    assert sum(1 for r in emulator.requests() if r["method"] == "DELETE") == 1


def test_the_release_trigger_polls_through_the_connections_shared_poller(emulator: Any) -> None:
    from airflow.providers.common.compat.sdk import TaskDeferred

    from airflow_provider_codeocean.triggers.poller import active_pollers

    emulator.configure_release(LINKED_CAPSULE, delay=0.5)
    with pytest.raises(TaskDeferred) as deferred:
        release(deferrable=True).execute(make_context("release"))
    trigger = deferred.value.trigger

    async def scenario() -> tuple[dict[str, Any], int]:
        waiting = asyncio.create_task(_first_event(trigger))
        for _ in range(1000):  # the trigger registers its wait as soon as it runs
            if trigger.conn_id in active_pollers():
                break
            await asyncio.sleep(0.01)
        poller = active_pollers()[trigger.conn_id]
        event = await waiting
        return event, poller.requests

    event, polled = asyncio.run(scenario())
    assert event["status"] == "success"
    job_gets = [r for r in emulator.requests() if r["method"] == "GET" and "/release/" in r["path"]]
    assert polled == len(job_gets) >= 1
