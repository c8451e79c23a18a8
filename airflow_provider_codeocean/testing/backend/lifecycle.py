"""A capsule's lifecycle besides releases: its Git working copy and sync, attached data assets, deletion.

A capsule whose ``capsule.json`` names a ``git_remote`` (a local Git repository standing in for GitHub
or GitLab) gets a real clone of it, laid out as a Code Ocean capsule repository (the capsule's code is its
``code/`` folder); ``POST …/sync`` fetches and fast-forwards that clone with the ``git`` command, so
the next run (and the next release's snapshot) has the pulled commits.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean.testing.backend import validation as validate
from airflow_provider_codeocean.testing.backend.releases import settle
from airflow_provider_codeocean.testing.http.messages import ApiError, JsonObject, bad_request

if TYPE_CHECKING:
    from airflow_provider_codeocean.testing.backend.backend import Backend
    from airflow_provider_codeocean.testing.backend.store import CapsuleRecord

GIT_TIMEOUT = 60.0


class GitError(Exception):
    pass


def _git(cwd: Path, *args: str) -> str:
    # Never prompt: a remote that needs credentials must fail, as a missing credential does on Code Ocean.
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT, env=env, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git {args[0]}: {exc}") from None
    if proc.returncode != 0:
        raise GitError(proc.stderr.strip() or proc.stdout.strip() or f"git {args[0]} exited {proc.returncode}")
    return proc.stdout.strip()


def check_out(record: CapsuleRecord, root: Path) -> None:
    """Clone the capsule's Git remote as its code (at start, on reset, on linking); no-op for unlinked capsules."""
    remote = record.git_remote
    if remote is None:
        return
    repo = root / "capsules" / record.spec.id / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    repo.parent.mkdir(parents=True, exist_ok=True)
    try:
        _git(repo.parent, "clone", "--quiet", str(remote), str(repo))
    except GitError as exc:
        raise ValueError(
            f"capsule folder '{record.spec.folder_name}': cannot clone git_remote {remote}: {exc}"
        ) from None
    record.repo_dir = repo


def behind_remote(record: CapsuleRecord) -> bool:
    """Whether the remote has commits the capsule has not pulled (a release then reports git_out_of_sync)."""
    if record.repo_dir is None:
        return False
    try:
        _git(record.repo_dir, "fetch", "--quiet", "origin")
        return _git(record.repo_dir, "rev-parse", "HEAD") != _git(record.repo_dir, "rev-parse", "@{u}")
    except GitError:
        return False


def sync(record: CapsuleRecord) -> JsonObject:
    """``POST …/sync``: push the capsule's commits and pull the remote's (fast-forward only)."""
    spec = record.spec
    code = record.repo_dir
    if code is None:
        raise bad_request(f"{spec.kind} {spec.id} is not linked to a Git repository")
    try:
        _git(code, "fetch", "--quiet", "origin")
    except GitError as exc:
        raise ApiError(403, f"cannot reach the Git remote of {spec.kind} {spec.id}: {exc}") from None
    try:
        dirty = _git(code, "status", "--porcelain")
        ahead, behind = (int(n) for n in _git(code, "rev-list", "--left-right", "--count", "HEAD...@{u}").split())
    except GitError as exc:  # e.g. a remote with no commits yet, so no upstream branch
        raise ApiError(409, f"cannot compare {spec.kind} {spec.id} with its Git remote: {exc}") from None
    if dirty:
        raise ApiError(403, f"{spec.kind} {spec.id} has uncommitted changes: commit or discard them first")
    if ahead and behind:
        raise ApiError(
            409,
            f"{spec.kind} {spec.id} and its Git remote have diverged ({ahead} local and {behind} remote "
            "commits): resolve the conflict in the capsule",
        )
    try:
        if ahead:
            _git(code, "push", "--quiet", "origin", "HEAD")
        if behind:
            _git(code, "merge", "--ff-only", "--quiet", "@{u}")
    except GitError as exc:
        raise ApiError(409, f"syncing {spec.kind} {spec.id} failed: {exc}") from None
    return {"pushed": ahead, "pulled": behind, "new_branch": False}


# Attached data assets: the capsule's default inputs, mounted into every run under /data/<mount>


def attach(backend: Backend, record: CapsuleRecord, body: Any) -> list[JsonObject]:
    wanted: list[dict[str, str]] = []
    for index, item in enumerate(validate.expect_list(body, "body")):
        entry = validate.expect_object(item, f"body[{index}]", ("id", "mount"))
        asset = backend.store.data_asset(validate.check_uuid(validate.req_str(entry, "id", f"body[{index}]"), "id"))
        mount = entry.get("mount")
        mount = asset.mount if mount is None else validate.check_mount(mount, f"body[{index}].mount")
        wanted.append({"id": asset.id, "mount": mount})
    mounts = [w["mount"] for w in wanted]
    for item in wanted:
        taken = [a for a in record.attached if a["mount"] == item["mount"] and a["id"] != item["id"]]
        if taken or mounts.count(item["mount"]) > 1:
            raise bad_request(f"mount '{item['mount']}' is already used by another data asset")
    results: list[JsonObject] = []
    for item in wanted:
        record.attached = [a for a in record.attached if a["id"] != item["id"]] + [item]
        asset = backend.store.data_assets[item["id"]]
        results.append({
            "id": item["id"], "mount": item["mount"], "mount_state": "mounted",
            "external": asset.external, "ready": asset.state(backend.now()) == "ready",
        })  # fmt: skip
    return results


def detach(record: CapsuleRecord, body: Any) -> None:
    ids = validate.expect_list(body, "body")
    if not all(isinstance(i, str) for i in ids):
        raise bad_request("body must be an array of data asset ids")
    drop = {validate.check_uuid(i, "data asset id") for i in ids}
    record.attached = [a for a in record.attached if a["id"] not in drop]


def app_panel(backend: Backend, record: CapsuleRecord, version: int | None) -> JsonObject:
    """The capsule's app panel, whose data assets are the ones attached now."""
    settle(record, backend.now())
    if version is not None and not record.has_version(version):
        raise ApiError(404, f"{record.spec.kind} {record.spec.id} has no version {version}")
    panel = dict(record.spec.app_panel)
    assets = []
    for item in record.attached:
        asset = backend.store.data_assets.get(item["id"])
        assets.append({
            "id": item["id"], "mount": item["mount"], "name": asset.name if asset else item["id"],
            "kind": "external" if asset is not None and asset.external else "internal",
            "accessible": asset is not None,
        })  # fmt: skip
    panel["data_assets"] = assets
    return panel


def delete(backend: Backend, record: CapsuleRecord) -> None:
    """``DELETE capsules/{id}``: refused unless archived and never released, as Code Ocean does."""
    spec = record.spec
    if not record.archived:
        raise ApiError(403, f"{spec.kind} {spec.id} must be archived before deletion")
    settle(record, backend.now())
    if record.versions:
        raise ApiError(403, f"{spec.kind} {spec.id} has released versions and cannot be deleted")
    del backend.store.capsules[spec.id]
    if record.repo_dir is not None:
        shutil.rmtree(record.repo_dir, ignore_errors=True)
