"""The hook's capsule lifecycle calls against the emulator: git sync with real git, releases and their
refusals, attach/detach, delete; sync and async; and a release request that is never sent twice."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_codeocean.errors import (
    CodeOceanBadRequestError,
    CodeOceanConfigError,
    CodeOceanConflictError,
    CodeOceanNotFoundError,
    CodeOceanPermissionError,
    CodeOceanReleaseValidationError,
    CodeOceanServerError,
)
from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook
from airflow_provider_codeocean.models import CapsuleReleaseJob, GitSyncResult, ReleaseJobStatus
from airflow_provider_codeocean.testing import ECHO_CAPSULE_ID
from tests import git_remote
from tests.git_remote import LINKED_CAPSULE, LINKED_PIPELINE, commit, git
from tests.git_remote import SEEDED_ASSET as SEEDED

# The emulator of these tests has the linked capsules and seeded assets (see tests/git_remote.py).
linked_capsules = git_remote.linked_emulator_capsules
lifecycle_options = git_remote.lifecycle_emulator_options
remote_fixture = git_remote.remote_fixture


@pytest.fixture
def hook(emulator: Any) -> CodeOceanHook:
    return CodeOceanHook()


def test_sync_pulls_the_remotes_commits_into_code(emulator: Any, hook: CodeOceanHook, remote: Path) -> None:
    head = commit(remote, {"code/VERSION": "v2\n", "code/new.txt": "new\n"}, "v2")

    assert hook.git_sync_capsule(LINKED_CAPSULE) == GitSyncResult(pushed=0, pulled=1, new_branch=False)

    code = emulator.capsule_code_dir(LINKED_CAPSULE)
    assert git(code.parent, "rev-parse", "HEAD") == head
    assert (code / "VERSION").read_text() == "v2\n" and (code / "new.txt").read_text() == "new\n"
    assert hook.git_sync_capsule(LINKED_CAPSULE).pulled == 0


def test_sync_pushes_commits_made_in_the_capsule(emulator: Any, hook: CodeOceanHook, remote: Path) -> None:
    repo = emulator.capsule_code_dir(LINKED_CAPSULE).parent
    made = commit(repo, {"code/VERSION": "edited in Code Ocean\n"}, "edit")

    assert hook.git_sync_capsule(LINKED_CAPSULE).to_dict() == {"pushed": 1, "pulled": 0, "new_branch": False}
    assert git(remote, "rev-parse", "HEAD") == made


def test_sync_refusals(emulator: Any, hook: CodeOceanHook, remote: Path) -> None:
    with pytest.raises(CodeOceanBadRequestError, match="not linked to a Git repository"):
        hook.git_sync_capsule(ECHO_CAPSULE_ID)

    repo = emulator.capsule_code_dir(LINKED_CAPSULE).parent
    (repo / "code" / "VERSION").write_text("dirty\n")
    with pytest.raises(CodeOceanPermissionError, match="uncommitted changes"):
        hook.git_sync_capsule(LINKED_CAPSULE)
    git(repo, "checkout", "--", ".")

    # Histories diverge: a commit on each side.
    commit(repo, {"code/local.txt": "x\n"}, "local")
    commit(remote, {"code/remote.txt": "y\n"}, "remote")
    with pytest.raises(CodeOceanConflictError, match="diverged") as conflict:
        hook.git_sync_capsule(LINKED_CAPSULE)
    assert conflict.value.status_code == 409


def test_release_and_wait_then_the_version_runs_its_snapshot(emulator: Any, hook: CodeOceanHook, remote: Path) -> None:
    commit(remote, {"code/VERSION": "v2\n"}, "v2")
    hook.git_sync_capsule(LINKED_CAPSULE)

    job = hook.release_capsule(LINKED_CAPSULE)
    assert job.status == ReleaseJobStatus.CREATED and not job.is_terminal
    done = hook.wait_for_release(LINKED_CAPSULE, job.job_id, poll_interval=0.05, timeout=30)

    assert done.succeeded and done.release_capsule == LINKED_CAPSULE
    assert done.release_version is not None and done.release_version.major_version == 2
    assert done.describe() == f"release job {job.job_id} (completed): version 2.0"
    snapshot = emulator.capsule_code_dir(LINKED_CAPSULE, version=2)
    assert (snapshot / "VERSION").read_text() == "v2\n" and not (snapshot / ".git").exists()


def test_release_refusals_are_readable(emulator: Any, hook: CodeOceanHook) -> None:
    emulator.configure_release(LINKED_CAPSULE, issues=["missing_metadata", "invalid_app_panel"])
    with pytest.raises(CodeOceanReleaseValidationError) as refused:
        hook.release_capsule(LINKED_CAPSULE)
    message = str(refused.value)
    assert "HTTP 403" in message
    assert "- missing_metadata: required metadata is missing" in message
    assert "- invalid_app_panel: the app panel is invalid" in message
    assert [name for name, _ in refused.value.issues] == ["missing_metadata", "invalid_app_panel"]
    assert isinstance(refused.value, CodeOceanPermissionError)

    emulator.configure_release(LINKED_CAPSULE, released=False, issues=[])
    with pytest.raises(CodeOceanBadRequestError, match="release the first version in the Code Ocean app"):
        hook.release_capsule(LINKED_CAPSULE)
    assert emulator.release_jobs(LINKED_CAPSULE) == []


def test_an_ambiguous_release_request_is_not_sent_again(emulator: Any, hook: CodeOceanHook) -> None:
    emulator.add_fault("ambiguous:502 method=POST path=/api/v1/capsules/*/release times=1")

    with pytest.raises(CodeOceanServerError):
        hook.release_capsule(LINKED_CAPSULE)

    assert len(emulator.release_jobs(LINKED_CAPSULE)) == 1
    posts = [r for r in emulator.requests() if r["method"] == "POST" and r["path"].endswith("/release")]
    assert len(posts) == 1


def test_attach_and_detach(emulator: Any, hook: CodeOceanHook) -> None:
    (result,) = hook.attach_data_assets(LINKED_CAPSULE, [{"id": SEEDED, "mount": "input"}])
    assert (result.id, result.mount, result.mount_state, result.ready) == (SEEDED, "input", "mounted", True)
    assert hook.get_app_panel(LINKED_CAPSULE).data_assets == [
        {"id": SEEDED, "mount": "input", "name": "reference", "kind": "internal", "accessible": True}
    ]
    hook.detach_data_assets(LINKED_CAPSULE, [SEEDED])
    hook.detach_data_assets(LINKED_CAPSULE, [SEEDED])  # not attached: the API ignores it
    assert emulator.attached_data_assets(LINKED_CAPSULE) == []


def test_bad_input_fails_before_any_request(emulator: Any, hook: CodeOceanHook) -> None:
    emulator.clear_requests()
    for bad in ([], ["not an id!"], [{"id": SEEDED, "mount": "a/b"}], [SEEDED, SEEDED], [{"id": SEEDED, "x": 1}]):
        with pytest.raises(CodeOceanConfigError):
            hook.attach_data_assets(LINKED_CAPSULE, bad)
    assert emulator.requests() == []


def test_async_variants(emulator: Any, hook: CodeOceanHook, remote: Path) -> None:
    commit(remote, {"code/VERSION": "v2\n"}, "v2")

    async def flow() -> tuple[GitSyncResult, CapsuleReleaseJob]:
        async with hook:
            synced = await hook.agit_sync_capsule(LINKED_PIPELINE, pipeline=True)
            job = await hook.arelease_capsule(LINKED_PIPELINE, pipeline=True)
            while not job.is_terminal:
                await asyncio.sleep(0.05)
                job = await hook.aget_release_job(LINKED_PIPELINE, job.job_id, pipeline=True)
            attached = await hook.aattach_data_assets(LINKED_PIPELINE, [SEEDED], pipeline=True)
            assert [(a.id, a.mount) for a in attached] == [(SEEDED, "reference")]
            await hook.adetach_data_assets(LINKED_PIPELINE, [SEEDED], pipeline=True)
            return synced, job

    synced, job = asyncio.run(flow())
    assert emulator.attached_data_assets(LINKED_PIPELINE) == []
    assert synced.pulled == 0  # the pipeline's own remote did not move
    assert job.succeeded and job.release_version is not None and job.release_version.major_version == 2


def test_delete_is_refused_unless_archived_and_unreleased(emulator: Any, hook: CodeOceanHook) -> None:
    with pytest.raises(CodeOceanPermissionError, match="archived"):
        hook.delete_capsule(LINKED_CAPSULE)
    hook.archive_capsule(LINKED_CAPSULE)
    with pytest.raises(CodeOceanPermissionError, match="released versions"):
        hook.delete_capsule(LINKED_CAPSULE)

    unreleased = emulator.capsule_id("failing")
    hook.archive_capsule(unreleased)
    asyncio.run(hook.adelete_capsule(unreleased))
    with pytest.raises(CodeOceanNotFoundError):
        hook.get_capsule(unreleased)
