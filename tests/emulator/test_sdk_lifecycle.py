"""The vendor SDK's capsule lifecycle calls, unchanged, against the emulator: git sync, release and
wait, attach and detach data assets, delete; for capsules and pipelines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from codeocean import CodeOcean, Error
from codeocean.capsule import CapsuleReleaseJobStatus, CapsuleReleaseValidationIssues, GitSyncResults
from codeocean.computation import ComputationEndStatus, RunParams
from codeocean.data_asset import DataAssetAttachParams

from airflow_provider_codeocean.testing import ECHO_CAPSULE_ID, CodeOceanEmulator
from tests.emulator.conftest import wait_until
from tests.git_remote import LINKED_CAPSULE as CAPSULE
from tests.git_remote import LINKED_PIPELINE as PIPELINE
from tests.git_remote import add_linked_capsules, commit

SEEDED_ASSET = "5eed5eed-0000-4000-8000-000000000001"


@pytest.fixture
def capsules_dir(capsules_dir: Path, tmp_path: Path) -> Path:
    add_linked_capsules(capsules_dir, tmp_path / "remotes")
    return capsules_dir


@pytest.fixture
def remote(capsules_dir: Path, tmp_path: Path) -> Path:
    return tmp_path / "remotes" / "capsule-remote"


@pytest.fixture
def emu_options() -> dict[str, Any]:
    return {"release_delay": 0.3}


@pytest.fixture
def client(emu: CodeOceanEmulator) -> CodeOcean:
    return CodeOcean(domain=emu.base_url, token=emu.token)


def _settled(emu: CodeOceanEmulator, capsule_id: str) -> None:
    # The SDK polls every >= 5 s; let the job finish first so its first (immediate) poll sees the end.
    wait_until(lambda: all(j["status"] in ("completed", "failed", "canceled") for j in emu.release_jobs(capsule_id)))


def test_sync_release_and_run_the_released_version(emu: CodeOceanEmulator, client: CodeOcean, remote: Path) -> None:
    assert client.capsules.sync_capsule(CAPSULE) == GitSyncResults(pushed=0, pulled=0, new_branch=False)
    commit(remote, {"code/VERSION": "v2\n"}, "v2")

    assert client.capsules.sync_capsule(CAPSULE) == GitSyncResults(pushed=0, pulled=1, new_branch=False)
    job = client.capsules.release_capsule(CAPSULE)
    assert job.status == CapsuleReleaseJobStatus.Created
    _settled(emu, CAPSULE)
    done = client.capsules.wait_until_release_completed(CAPSULE, job)
    assert done.status == CapsuleReleaseJobStatus.Completed
    assert done.release_capsule == CAPSULE
    assert done.release_version is not None and done.release_version.major_version == 2
    assert [v.major_version for v in client.capsules.get_capsule(CAPSULE).versions or []] == [1, 2]

    # The remote moves on; version 2 still runs the code it was released with.
    commit(remote, {"code/VERSION": "v3\n"}, "v3")
    client.capsules.sync_capsule(CAPSULE)
    run = client.computations.run_capsule(RunParams(capsule_id=CAPSULE, version=2))
    emu.wait_for_computation(run.id)
    finished = client.computations.get_computation(run.id)
    assert finished.end_status == ComputationEndStatus.Succeeded
    assert (emu.run_dir(run.id) / "results" / "version.txt").read_text() == "v2\n"


def test_release_refusals_carry_the_sdk_shapes(emu: CodeOceanEmulator, client: CodeOcean, remote: Path) -> None:
    emu.configure_release(CAPSULE, released=False)
    with pytest.raises(Error) as never:
        client.capsules.release_capsule(CAPSULE)
    assert never.value.status_code == 400

    emu.configure_release(CAPSULE, released=True, issues=["missing_metadata", "uncommitted_files"])
    with pytest.raises(Error) as refused:
        client.capsules.release_capsule(CAPSULE)
    assert refused.value.status_code == 403
    issues = CapsuleReleaseValidationIssues.from_dict(refused.value.data)
    assert (issues.missing_metadata, issues.uncommitted_files, issues.git_out_of_sync) == (True, True, None)

    # Unpulled commits on the remote are a real git_out_of_sync.
    emu.configure_release(CAPSULE, issues=[])
    commit(remote, {"code/VERSION": "v2\n"}, "v2")
    with pytest.raises(Error) as behind:
        client.capsules.release_capsule(CAPSULE)
    assert CapsuleReleaseValidationIssues.from_dict(behind.value.data).git_out_of_sync is True
    assert emu.release_jobs(CAPSULE) == []


def test_failed_release_job(emu: CodeOceanEmulator, client: CodeOcean) -> None:
    emu.configure_release(CAPSULE, outcome="failed", error="build failed: missing dependency")
    job = client.capsules.release_capsule(CAPSULE)
    _settled(emu, CAPSULE)
    done = client.capsules.wait_until_release_completed(CAPSULE, job)
    assert (done.status, done.error, done.release_version) == (
        CapsuleReleaseJobStatus.Failed,
        "build failed: missing dependency",
        None,
    )


def test_pipeline_sync_release_attach_detach(emu: CodeOceanEmulator, client: CodeOcean) -> None:
    pipelines = client.pipelines
    assert pipelines.sync_pipeline(PIPELINE).pulled == 0
    job = pipelines.release_pipeline(PIPELINE)
    _settled(emu, PIPELINE)
    assert pipelines.wait_until_release_completed(PIPELINE, job).release_version.major_version == 2  # type: ignore[union-attr]
    assert pipelines.get_release_job(PIPELINE, job.job_id).status == CapsuleReleaseJobStatus.Completed

    (attached,) = pipelines.attach_data_assets(PIPELINE, [DataAssetAttachParams(id=SEEDED_ASSET, mount="ref")])
    assert (attached.id, attached.mount, attached.ready) == (SEEDED_ASSET, "ref", True)
    assert emu.attached_data_assets(PIPELINE) == [{"id": SEEDED_ASSET, "mount": "ref"}]
    pipelines.detach_data_assets(PIPELINE, [SEEDED_ASSET])
    assert emu.attached_data_assets(PIPELINE) == []


def test_attached_assets_are_mounted_in_runs_and_shown_in_the_app_panel(
    emu: CodeOceanEmulator, client: CodeOcean
) -> None:
    client.capsules.attach_data_assets(CAPSULE, [DataAssetAttachParams(id=SEEDED_ASSET)])
    panel = client.capsules.get_capsule_app_panel(CAPSULE)
    assert [(d.id, d.mount) for d in panel.data_assets or []] == [(SEEDED_ASSET, "genome")]
    run = client.computations.run_capsule(RunParams(capsule_id=CAPSULE))
    emu.wait_for_computation(run.id)
    assert (emu.run_dir(run.id) / "results" / "inputs.txt").read_text() == "./genome/chr1/seq.fa\n"

    client.capsules.detach_data_assets(CAPSULE, [SEEDED_ASSET])
    assert client.capsules.get_capsule_app_panel(CAPSULE).data_assets == []


def test_delete_capsule(emu: CodeOceanEmulator, client: CodeOcean) -> None:
    with pytest.raises(Error) as not_archived:
        client.capsules.delete_capsule(ECHO_CAPSULE_ID)
    assert not_archived.value.status_code == 403
    emu.configure_release(CAPSULE, released=False)
    unreleased = emu.capsule_id("failing")
    client.capsules.archive_capsule(unreleased, True)
    client.capsules.delete_capsule(unreleased)
    with pytest.raises(Error) as gone:
        client.capsules.get_capsule(unreleased)
    assert gone.value.status_code == 404


def test_the_control_routes_match_the_python_helpers(emu: CodeOceanEmulator, tmp_path: Path) -> None:
    import requests

    from tests.git_remote import make_remote

    control = f"{emu.base_url}/_emulator/capsules"
    other = make_remote(tmp_path / "other-remote", version="other")
    with requests.Session() as http:
        http.auth = (emu.token, "")
        assert http.post(f"{control}/{ECHO_CAPSULE_ID}/git_remote", json={"path": str(other)}, timeout=10).ok
        settings = {"outcome": "canceled", "error": "stopped by an admin", "delay": 0}
        assert http.post(f"{control}/{ECHO_CAPSULE_ID}/release_settings", json=settings, timeout=10).ok
        bad = http.post(f"{control}/{ECHO_CAPSULE_ID}/release_settings", json={"issues": ["nope"]}, timeout=10)
        assert bad.status_code == 400
        client = CodeOcean(domain=emu.base_url, token=emu.token)
        assert client.capsules.sync_capsule(ECHO_CAPSULE_ID).pulled == 0
        job = client.capsules.release_capsule(ECHO_CAPSULE_ID)
        jobs = http.get(f"{control}/{ECHO_CAPSULE_ID}/release_jobs", timeout=10).json()
    assert jobs == emu.release_jobs(ECHO_CAPSULE_ID)
    assert [(j["job_id"], j["status"], j["error"]) for j in jobs] == [(job.job_id, "canceled", "stopped by an admin")]
    code = emu.capsule_code_dir(ECHO_CAPSULE_ID)
    assert code is not None and (code / "VERSION").read_text() == "other\n"


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"git_remote": "no-such-folder"}, "is not a directory"),
        ({"release_issues": ["not_a_flag"]}, "unknown release issue"),
        ({"released": "yes"}, "'released' must be true or false"),
    ],
)
def test_capsule_json_lifecycle_keys_are_checked(tmp_path: Path, meta: dict[str, Any], message: str) -> None:
    import json

    folder = tmp_path / "capsules" / "bad"
    (folder / "code").mkdir(parents=True)
    (folder / "capsule.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=message):
        CodeOceanEmulator(tmp_path / "capsules", state_dir=tmp_path / "state").start()
