"""Loading capsule and pipeline folders (``DIR/<name>/code/run`` plus optional ``capsule.json``)."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_codeocean.testing.backend.validation import MOUNT_RE, UUID_RE

METADATA_FILE = "capsule.json"
# Stable ids for folders named like "echo": the same folder name gives the same id on every start.
ID_NAMESPACE = uuid.UUID("6f0f5f2e-9a77-4c1e-9d55-0c0de0cea001")
KNOWN_KEYS = {
    "id", "name", "description", "tags", "field", "kind", "versions", "parameters", "app_panel",
    "processes", "simulate", "created", "status", "data_assets", "slug", "cloned_from_url",
    "released", "git_remote", "release_issues",
}  # fmt: skip
# The release requirements Code Ocean can report unmet (the vendor SDK's CapsuleReleaseValidationIssues).
RELEASE_ISSUES = (
    "missing_reproducible_run", "uncommitted_files", "missing_metadata", "non_default_branch", "git_out_of_sync",
    "unreleased_pipeline_capsules", "missing_release_functionality", "invalid_app_panel",
    "unreleased_post_run_capsule",
)  # fmt: skip


class CapsuleConfigError(ValueError):
    """A capsule folder or its metadata cannot be used; the message names the folder."""


def folder_id(kind: str, folder_name: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"{kind}:{folder_name}"))


@dataclass
class SimulateSpec:
    """A run without a process: the state machine is driven by the clock alone."""

    duration: float = 1.0
    outcome: str = "succeeded"
    exit_code: int = 0
    result_files: dict[str, str] = field(default_factory=lambda: {"output": "simulated run\n"})


@dataclass
class CapsuleSpec:
    id: str
    folder_name: str
    folder: Path | None
    name: str
    kind: str = "capsule"
    description: str = ""
    tags: list[str] = field(default_factory=list)
    field_of_research: str = ""
    created: int = 0
    status: str = "non_release"
    slug: str = ""
    cloned_from_url: str = ""
    versions: list[dict[str, int]] = field(default_factory=list)
    app_panel: dict[str, Any] = field(default_factory=dict)
    processes: list[dict[str, Any]] = field(default_factory=list)
    simulate: SimulateSpec | None = None
    data_assets: list[dict[str, str]] = field(default_factory=list)
    # Whether a first version was released in the app: only later releases can be made through the API.
    released: bool = False
    # A local Git repository standing in for the capsule's external remote; its clone is the capsule's code.
    git_remote: Path | None = None
    release_issues: list[str] = field(default_factory=list)


def _fail(folder: str, message: str) -> CapsuleConfigError:
    return CapsuleConfigError(f"capsule folder '{folder}': {message}")


def _str_list(value: Any, folder: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(folder, f"'{key}' must be a list of strings")
    return list(value)


def _versions(value: Any, folder: str, created: int) -> list[dict[str, int]]:
    if not isinstance(value, list):
        raise _fail(folder, "'versions' must be a list")
    versions: list[dict[str, int]] = []
    for item in value:
        # A bare integer is the common case ("version 1 exists"); dicts give full control.
        if isinstance(item, int) and not isinstance(item, bool):
            versions.append({"major_version": item, "minor_version": 0, "release_time": created})
        elif isinstance(item, dict) and isinstance(item.get("major_version"), int):
            versions.append(
                {
                    "major_version": int(item["major_version"]),
                    "minor_version": int(item.get("minor_version", 0)),
                    "release_time": int(item.get("release_time", created)),
                }
            )
        else:
            raise _fail(folder, "each version must be an integer or {major_version, minor_version}")
    return versions


def _simulate(value: Any, folder: str) -> SimulateSpec:
    if not isinstance(value, dict):
        raise _fail(folder, "'simulate' must be an object")
    duration = value.get("duration", 1.0)
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration < 0:
        raise _fail(folder, "'simulate.duration' must be a number of seconds >= 0")
    outcome = value.get("outcome", "succeeded")
    if outcome not in ("succeeded", "failed"):
        raise _fail(folder, "'simulate.outcome' must be 'succeeded' or 'failed'")
    exit_code = value.get("exit_code", 0 if outcome == "succeeded" else 1)
    if isinstance(exit_code, bool) or not isinstance(exit_code, int):
        raise _fail(folder, "'simulate.exit_code' must be an integer")
    files = value.get("result_files", {"output": "simulated run\n"})
    if isinstance(files, list) and all(isinstance(f, str) for f in files):
        files = {name: f"simulated content of {name}\n" for name in files}
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise _fail(folder, "'simulate.result_files' must map relative paths to text contents")
    for rel in files:
        if rel.startswith("/") or ".." in rel.split("/"):
            raise _fail(folder, f"result file path '{rel}' must be relative and stay inside results")
    return SimulateSpec(float(duration), outcome, exit_code, dict(files))


def _processes(value: Any, folder: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise _fail(folder, "'processes' must be a list")
    processes: list[dict[str, Any]] = []
    for raw in value:
        item = {"name": raw} if isinstance(raw, str) else raw
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise _fail(folder, "each process needs a 'name'")
        proc: dict[str, Any] = {
            "name": item["name"],
            # The SDK requires capsule_id on every process of a computation.
            "capsule_id": item.get("capsule_id") or folder_id("process", item["name"]),
        }
        for key in ("version", "public"):
            if key in item:
                proc[key] = item[key]
        processes.append(proc)
    return processes


def _app_panel(meta: dict[str, Any], spec: CapsuleSpec) -> dict[str, Any]:
    panel = meta.get("app_panel")
    if panel is not None:
        if not isinstance(panel, dict):
            raise _fail(spec.folder_name, "'app_panel' must be an object")
        return panel
    params = meta.get("parameters", [])
    if not isinstance(params, list) or not all(isinstance(p, dict) and isinstance(p.get("name"), str) for p in params):
        raise _fail(spec.folder_name, "'parameters' must be a list of objects with a 'name'")
    return {
        "general": {"title": spec.name, "instructions": spec.description},
        "data_assets": [],
        "categories": [],
        "parameters": [{"type": "text", **p} for p in params],
        "results": [],
        "processes": [{"name": p["name"]} for p in spec.processes],
    }


def load_capsule(folder: Path) -> CapsuleSpec:
    name = folder.name
    meta: dict[str, Any] = {}
    meta_file = folder / METADATA_FILE
    if meta_file.is_file():
        try:
            loaded = json.loads(meta_file.read_text())
        except (OSError, ValueError) as exc:
            raise _fail(name, f"cannot read {METADATA_FILE}: {exc}") from None
        if not isinstance(loaded, dict):
            raise _fail(name, f"{METADATA_FILE} must contain a JSON object")
        unknown = sorted(set(loaded) - KNOWN_KEYS)
        if unknown:
            raise _fail(name, f"unknown key(s) in {METADATA_FILE}: {', '.join(unknown)}")
        meta = loaded
    kind = meta.get("kind", "capsule")
    if kind not in ("capsule", "pipeline"):
        raise _fail(name, "'kind' must be 'capsule' or 'pipeline'")
    if "id" in meta:
        if not isinstance(meta["id"], str) or not UUID_RE.match(meta["id"]):
            raise _fail(name, "'id' must be a UUID")
        capsule_id = meta["id"].lower()
    elif UUID_RE.match(name):
        capsule_id = name.lower()
    else:
        capsule_id = folder_id(kind, name)
    created = meta.get("created", int(os.stat(folder).st_mtime) if folder.exists() else int(time.time()))
    if isinstance(created, bool) or not isinstance(created, int):
        raise _fail(name, "'created' must be epoch seconds")
    for key in ("name", "description", "field", "status", "slug", "cloned_from_url"):
        if key in meta and not isinstance(meta[key], str):
            raise _fail(name, f"'{key}' must be a string")
    status = meta.get("status", "non_release")
    if status not in ("non_release", "release"):
        raise _fail(name, "'status' must be 'non_release' or 'release'")
    spec = CapsuleSpec(
        id=capsule_id,
        folder_name=name,
        folder=folder,
        name=meta.get("name", name),
        kind=kind,
        description=meta.get("description", ""),
        tags=_str_list(meta.get("tags", []), name, "tags"),
        field_of_research=meta.get("field", ""),
        created=created,
        status=status,
        slug=meta.get("slug", str(int(uuid.UUID(capsule_id)) % 10_000_000)),
        cloned_from_url=meta.get("cloned_from_url", ""),
        versions=_versions(meta.get("versions", []), name, created),
        processes=_processes(meta.get("processes", []), name),
        simulate=_simulate(meta["simulate"], name) if "simulate" in meta else None,
        data_assets=_attached(meta.get("data_assets", []), name),
    )
    spec.app_panel = _app_panel(meta, spec)
    _release_settings(meta, spec)
    return spec


def _release_settings(meta: dict[str, Any], spec: CapsuleSpec) -> None:
    name = spec.folder_name
    released = meta.get("released", bool(spec.versions))
    if not isinstance(released, bool):
        raise _fail(name, "'released' must be true or false")
    spec.released = released
    if released and not spec.versions:
        # A released capsule has its first version, made in the app.
        spec.versions = [{"major_version": 1, "minor_version": 0, "release_time": spec.created}]
    spec.release_issues = _str_list(meta.get("release_issues", []), name, "release_issues")
    unknown = sorted(set(spec.release_issues) - set(RELEASE_ISSUES))
    if unknown:
        raise _fail(name, f"unknown release issue(s) {', '.join(unknown)}; known: {', '.join(RELEASE_ISSUES)}")
    remote = meta.get("git_remote")
    if remote is not None:
        if not isinstance(remote, str) or not remote:
            raise _fail(name, "'git_remote' must be the path of a local Git repository")
        assert spec.folder is not None
        path = (spec.folder / remote).resolve()
        if not path.is_dir():
            raise _fail(name, f"git_remote '{remote}' is not a directory (it resolves to {path})")
        spec.git_remote = path


def _attached(value: Any, folder: str) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise _fail(folder, "'data_assets' must be a list of {id, mount}")
    attached: list[dict[str, str]] = []
    for item in value:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("id"), str)
            and UUID_RE.match(item["id"])
            and isinstance(item.get("mount"), str)
            and MOUNT_RE.match(item["mount"])
        ):
            raise _fail(folder, "each attached data asset needs a UUID 'id' and a valid 'mount'")
        attached.append({"id": item["id"].lower(), "mount": item["mount"]})
    return attached


def load_capsules(directory: Path | None) -> list[CapsuleSpec]:
    if directory is None:
        return []
    if not directory.is_dir():
        raise CapsuleConfigError(f"capsules directory '{directory}' does not exist")
    specs: list[CapsuleSpec] = []
    seen: dict[str, str] = {}
    for folder in sorted(directory.iterdir()):
        if not folder.is_dir() or folder.name.startswith((".", "_")):
            continue
        spec = load_capsule(folder)
        if spec.id in seen:
            raise _fail(folder.name, f"id {spec.id} is already used by folder '{seen[spec.id]}'")
        seen[spec.id] = folder.name
        specs.append(spec)
    return specs
