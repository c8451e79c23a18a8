"""In-memory records of computations and data assets, guarded by one lock.

The HTTP loop, the run threads and the Python-side control API all touch these records, so every read
or write of a record happens under ``Store.lock``. States that depend only on the clock (simulated runs,
data assets becoming ready) are computed when read instead of by timers, which is what lets the
emulator hold tens of thousands of computations without a thread or timer each.
"""

from __future__ import annotations

import random
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_codeocean.testing.backend.capsules import CapsuleSpec, SimulateSpec
from airflow_provider_codeocean.testing.backend.releases import ReleaseJob, ReleaseSettings
from airflow_provider_codeocean.testing.backend.validation import new_uuid
from airflow_provider_codeocean.testing.http.messages import JsonObject, not_found

TERMINAL = ("completed", "failed")


@dataclass(eq=False)
class Computation:
    id: str
    capsule_id: str
    kind: str
    created: int
    created_mono: float
    name: str
    owner: str
    owner_email: str
    data_assets: list[dict[str, str]]
    parameters: list[dict[str, str]]
    processes: list[dict[str, Any]] | None = None
    nextflow_profile: str | None = None
    version: int | None = None
    simulate: SimulateSpec | None = None
    run_dir: Path | None = None
    state: str = "initializing"
    end_status: str | None = None
    exit_code: int | None = None
    has_results: bool = False
    started_mono: float | None = None
    ended_mono: float | None = None
    held: bool = False
    # Seconds after creation before which the run may not complete (a test's guard against fast capsules).
    min_duration: float = 0.0
    # Exit code of a finished process whose completion is postponed by a hold.
    pending_exit: int | None = None
    process: subprocess.Popen[bytes] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def results_dir(self) -> Path | None:
        return None if self.run_dir is None else self.run_dir / "results"

    def advance(self, now: float) -> None:
        """Move a simulated run along its clock-driven timeline (no-op for real runs)."""
        sim = self.simulate
        if sim is None or self.state in TERMINAL:
            return
        elapsed = now - self.created_mono
        duration = max(sim.duration, self.min_duration)
        start, finish = duration * 0.1, duration * 0.9
        if elapsed >= start and self.started_mono is None:
            self.started_mono = self.created_mono + start
        if self.held:
            if elapsed >= start:
                self.state = "running"
            return
        if elapsed >= duration:
            self.state = "completed"
            self.end_status = sim.outcome
            self.exit_code = sim.exit_code
            self.has_results = bool(sim.result_files)
            self.ended_mono = max(self.created_mono + duration, self.started_mono or 0.0)
        elif elapsed >= finish:
            self.state = "finalizing"
        elif elapsed >= start:
            self.state = "running"

    def run_time(self, now: float) -> int:
        if self.started_mono is None:
            return 0
        end = self.ended_mono if self.ended_mono is not None else now
        return max(0, int(end - self.started_mono))

    def to_json(self, now: float) -> JsonObject:
        self.advance(now)
        body: JsonObject = {
            "id": self.id,
            "created": self.created,
            "name": self.name,
            "owner": self.owner,
            "owner_email": self.owner_email,
            "run_time": self.run_time(now),
            "state": self.state,
            "cloud_workstation": False,
            "has_results": self.has_results,
            "data_assets": [dict(d) for d in self.data_assets],
            "parameters": [dict(p) for p in self.parameters],
        }
        if self.processes is not None:
            body["processes"] = self.processes
        if self.nextflow_profile is not None:
            body["nextflow_profile"] = self.nextflow_profile
        # The docs: end_status and exit_code "only exist once state is completed".
        if self.state in TERMINAL:
            body["end_status"] = self.end_status
            body["exit_code"] = self.exit_code
        return body

    def control_json(self, now: float) -> JsonObject:
        """The API view plus what only the control API shows."""
        return {**self.to_json(now), "capsule_id": self.capsule_id, "held": self.held}


@dataclass(eq=False)
class DataAsset:
    id: str
    created: int
    created_mono: float
    name: str
    mount: str
    type: str
    owner: str
    owner_email: str
    description: str = ""
    tags: list[str] = field(default_factory=list)
    custom_metadata: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None
    # Only folders the emulator made are removed on DELETE; seeded folders belong to the user.
    owns_folder: bool = False
    source_bucket: dict[str, Any] | None = None
    provenance: dict[str, Any] | None = None
    contained: list[dict[str, Any]] | None = None
    app_parameters: list[dict[str, str]] | None = None
    nextflow_profile: str | None = None
    ready_at: float = 0.0
    outcome: str = "ready"
    failure_reason: str | None = None
    forced_state: str | None = None
    files: int = 0
    size: int = 0
    archived: bool = False
    favorite: bool = False
    last_used: int = 0
    permissions: dict[str, Any] = field(default_factory=dict)

    def state(self, now: float) -> str:
        if self.forced_state is not None:
            return self.forced_state
        return self.outcome if now >= self.ready_at else "draft"

    @property
    def external(self) -> bool:
        return bool(self.source_bucket and self.source_bucket.get("external"))

    def to_json(self, now: float) -> JsonObject:
        state = self.state(now)
        body: JsonObject = {
            "id": self.id,
            "created": self.created,
            "name": self.name,
            "mount": self.mount,
            "last_used": self.last_used,
            "owner": self.owner,
            "owner_email": self.owner_email,
            "state": state,
            "type": self.type,
            "description": self.description,
            "tags": list(self.tags),
            "custom_metadata": dict(self.custom_metadata),
        }
        if state == "ready":
            body["files"] = self.files
            body["size"] = self.size
        if self.source_bucket is not None:
            body["source_bucket"] = dict(self.source_bucket)
        if self.provenance is not None:
            body["provenance"] = dict(self.provenance)
        if self.contained is not None:
            body["contained_data_assets"] = [dict(c) for c in self.contained]
        if self.app_parameters is not None:
            body["app_parameters"] = [dict(p) for p in self.app_parameters]
        if self.nextflow_profile is not None:
            body["nextflow_profile"] = self.nextflow_profile
        if state == "failed":
            body["failure_reason"] = self.failure_reason or "data asset creation failed"
        return body


@dataclass
class CapsuleRecord:
    spec: CapsuleSpec
    archived: bool = False
    attached: list[dict[str, str]] = field(default_factory=list)
    permissions: dict[str, Any] = field(default_factory=dict)
    # The lifecycle (backend/lifecycle.py, backend/releases.py): released versions, the snapshot of
    # code/ each one runs, release jobs and how the next ones end, and the Git working copy if linked.
    versions: list[dict[str, int]] = field(default_factory=list)
    snapshots: dict[int, Path] = field(default_factory=dict)
    release_jobs: dict[str, ReleaseJob] = field(default_factory=dict)
    release: ReleaseSettings = field(default_factory=ReleaseSettings)
    # The clone of the Git remote, laid out as a Code Ocean capsule repository (code/ at its top).
    repo_dir: Path | None = None
    git_remote: Path | None = None

    @classmethod
    def seeded(cls, spec: CapsuleSpec) -> CapsuleRecord:
        return cls(
            spec,
            attached=[dict(d) for d in spec.data_assets],
            versions=[dict(v) for v in spec.versions],
            release=ReleaseSettings(released=spec.released, issues=list(spec.release_issues)),
            git_remote=spec.git_remote,
        )

    def has_version(self, major: int) -> bool:
        return any(v["major_version"] == major for v in self.versions)

    def code(self, version: int | None = None) -> Path | None:
        """The code/ folder a run of ``version`` (None: the latest state) starts from."""
        if version is not None and version in self.snapshots:
            return self.snapshots[version]
        if self.repo_dir is not None:
            return self.repo_dir / "code"
        return None if self.spec.folder is None else self.spec.folder / "code"


class Store:
    def __init__(self, seed: int | None) -> None:
        self.lock = threading.RLock()
        self._rng = random.Random(seed) if seed is not None else None
        self.capsules: dict[str, CapsuleRecord] = {}
        self.computations: dict[str, Computation] = {}
        self.by_capsule: dict[str, dict[str, None]] = {}
        self.data_assets: dict[str, DataAsset] = {}
        self.created_computations: Counter[str] = Counter()
        self.created_data_assets = 0

    def new_id(self) -> str:
        with self.lock:
            return new_uuid(self._rng.getrandbits(128) if self._rng is not None else None)

    def capsule(self, capsule_id: str, kind: str | None = None) -> CapsuleRecord:
        record = self.capsules.get(capsule_id)
        if record is None or (kind is not None and record.spec.kind != kind):
            raise not_found(f"{kind or 'capsule'} {capsule_id} not found")
        return record

    def computation(self, computation_id: str) -> Computation:
        comp = self.computations.get(computation_id)
        if comp is None:
            raise not_found(f"computation {computation_id} not found")
        return comp

    def data_asset(self, data_asset_id: str) -> DataAsset:
        asset = self.data_assets.get(data_asset_id)
        if asset is None:
            raise not_found(f"data asset {data_asset_id} not found")
        return asset

    def add_computation(self, comp: Computation) -> None:
        self.computations[comp.id] = comp
        self.by_capsule.setdefault(comp.capsule_id, {})[comp.id] = None
        self.created_computations[comp.capsule_id] += 1

    def remove_computation(self, comp: Computation) -> None:
        self.computations.pop(comp.id, None)
        self.by_capsule.get(comp.capsule_id, {}).pop(comp.id, None)

    def add_data_asset(self, asset: DataAsset) -> None:
        self.data_assets[asset.id] = asset
        self.created_data_assets += 1


def now_epoch() -> int:
    return int(time.time())


def run_name(created: int) -> str:
    # Code Ocean names unnamed runs after the last seven digits of their creation time.
    return f"Run {created % 10_000_000:07d}"
