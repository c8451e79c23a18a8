"""Release jobs: ``POST …/release`` starts one, it moves created → started → completed (or failed or
canceled) on the clock, and a completed job adds a version whose code is the snapshot taken at the start.

Like simulated runs, a job's status is computed when read, and :func:`settle` turns the jobs that have
completed by now into versions: every reader of a capsule's versions settles first, so the versions,
the jobs and what ``version=N`` runs always agree.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean.testing.http.messages import ApiError, JsonObject, bad_request, not_found

if TYPE_CHECKING:
    from airflow_provider_codeocean.testing.backend.backend import Backend
    from airflow_provider_codeocean.testing.backend.store import CapsuleRecord

OUTCOMES = ("completed", "failed", "canceled")
# Share of the delay a job spends "created" before it is "started".
_CREATED_SHARE = 0.2


@dataclass
class ReleaseSettings:
    """How a capsule's next releases go; capsule.json seeds them, ``configure`` changes them."""

    released: bool = False
    issues: list[str] = field(default_factory=list)
    outcome: str = "completed"
    error: str | None = None
    delay: float | None = None


@dataclass(eq=False)
class ReleaseJob:
    id: str
    capsule_id: str
    created: int
    created_mono: float
    delay: float
    snapshot: Path
    outcome: str = "completed"
    error: str | None = None
    release_capsule: str = ""
    version: dict[str, int] | None = None

    def status(self, now: float) -> str:
        elapsed = now - self.created_mono
        if elapsed >= self.delay:
            return self.outcome
        return "started" if elapsed >= self.delay * _CREATED_SHARE else "created"

    def to_json(self, now: float) -> JsonObject:
        status = self.status(now)
        body: JsonObject = {"job_id": self.id, "status": status}
        if status != "created":
            body["started"] = self.created + int(self.delay * _CREATED_SHARE)
        if status in OUTCOMES:
            body["duration"] = int(self.delay * (1 - _CREATED_SHARE))
        if status == "completed" and self.version is not None:
            body["release_capsule"] = self.release_capsule
            body["release_version"] = dict(self.version)
        if status in ("failed", "canceled"):
            body["error"] = self.error or f"the release was {status}"
        return body


def settle(record: CapsuleRecord, now: float) -> None:
    """Give each job that has completed by ``now`` its version, in the order the jobs started."""
    for job in sorted(record.release_jobs.values(), key=lambda j: j.created_mono):
        if job.version is not None or job.status(now) != "completed":
            continue
        major = max((v["major_version"] for v in record.versions), default=0) + 1
        job.version = {"major_version": major, "minor_version": 0, "release_time": job.created + int(job.delay)}
        record.versions.append(dict(job.version))
        record.snapshots[major] = job.snapshot


def start_release(backend: Backend, record: CapsuleRecord) -> ReleaseJob:
    """Check the release requirements, snapshot the code, and start the job (``POST …/release``)."""
    from airflow_provider_codeocean.testing.backend import lifecycle

    spec = record.spec
    if not record.release.released:
        raise bad_request(
            f"{spec.kind} {spec.id} has never been released: only later releases can be made through the API"
        )
    issues = list(record.release.issues)
    if "git_out_of_sync" not in issues and lifecycle.behind_remote(record):
        issues.append("git_out_of_sync")
    if issues:
        raise ApiError(
            403, f"{spec.kind} {spec.id} does not meet the release requirements", **dict.fromkeys(issues, True)
        )
    job_id = backend.store.new_id()
    snapshot = backend.state_root / "releases" / job_id / "code"
    code = record.code()
    if code is not None and code.is_dir():
        shutil.copytree(code, snapshot, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    else:
        snapshot.mkdir(parents=True)
    delay = backend.config.release_delay if record.release.delay is None else record.release.delay
    job = ReleaseJob(
        id=job_id,
        capsule_id=spec.id,
        created=int(time.time()),
        created_mono=backend.now(),
        delay=delay,
        snapshot=snapshot,
        outcome=record.release.outcome,
        error=record.release.error,
        # The emulator releases in place: the released versions belong to the capsule itself.
        release_capsule=spec.id,
    )
    record.release_jobs[job.id] = job
    return job


def release_job(backend: Backend, record: CapsuleRecord, job_id: str) -> JsonObject:
    now = backend.now()
    settle(record, now)
    job = record.release_jobs.get(job_id)
    if job is None:
        raise not_found(f"release job {job_id} of {record.spec.kind} {record.spec.id} not found")
    return job.to_json(now)


def configure(record: CapsuleRecord, settings: dict[str, Any]) -> None:
    """Set how the next releases of a capsule go: ``released``, ``issues``, ``outcome``, ``error``, ``delay``."""
    from airflow_provider_codeocean.testing.backend.capsules import RELEASE_ISSUES

    unknown = sorted(set(settings) - {"released", "issues", "outcome", "error", "delay"})
    if unknown:
        raise bad_request(f"unknown release setting(s): {', '.join(unknown)}")
    if "released" in settings:
        if not isinstance(settings["released"], bool):
            raise bad_request("released must be true or false")
        record.release.released = settings["released"]
    if "issues" in settings:
        issues = settings["issues"]
        if not isinstance(issues, list) or not set(issues) <= set(RELEASE_ISSUES):
            raise bad_request(f"issues must be a list of: {', '.join(RELEASE_ISSUES)}")
        record.release.issues = list(issues)
    if "outcome" in settings:
        if settings["outcome"] not in OUTCOMES:
            raise bad_request(f"outcome must be one of {', '.join(OUTCOMES)}")
        record.release.outcome = settings["outcome"]
    if "error" in settings:
        if settings["error"] is not None and not isinstance(settings["error"], str):
            raise bad_request("error must be a string or null")
        record.release.error = settings["error"]
    if "delay" in settings:
        delay = settings["delay"]
        if delay is not None and (isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0):
            raise bad_request("delay must be a number of seconds >= 0, or null for the emulator's default")
        record.release.delay = None if delay is None else float(delay)
