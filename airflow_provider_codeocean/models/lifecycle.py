"""The capsule lifecycle: git sync results, release jobs and versions, release refusals, attached assets.

Shapes follow the vendor SDK 0.17.0 (``GitSyncResults``, ``CapsuleReleaseJob``, ``Version``,
``CapsuleReleaseValidationIssues``, ``DataAssetAttachResults``), read leniently like the other models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from airflow_provider_codeocean.errors import CodeOceanConfigError
from airflow_provider_codeocean.models._parse import (
    JSON,
    as_mapping,
    bool_or_none,
    enum_or_str,
    int_or_none,
    obj_or_none,
    str_or_empty,
    str_or_none,
)
from airflow_provider_codeocean.models.computation import DataAssetMount
from airflow_provider_codeocean.models.enums import ReleaseJobStatus
from airflow_provider_codeocean.models.params import check_id, check_mount

TERMINAL_RELEASE_STATES = frozenset(
    {ReleaseJobStatus.COMPLETED.value, ReleaseJobStatus.FAILED.value, ReleaseJobStatus.CANCELED.value}
)

#: The release requirements the API can report unmet (a 403 body), with what each asks of the user.
RELEASE_REQUIREMENTS: dict[str, str] = {
    "missing_reproducible_run": "the capsule has no completed reproducible run: run it once in Code Ocean",
    "uncommitted_files": "the capsule has uncommitted files: commit or discard them",
    "missing_metadata": "required metadata is missing: fill in the capsule's metadata",
    "non_default_branch": "the capsule is not on its default branch: switch to it",
    "git_out_of_sync": "the capsule is out of sync with its Git remote: sync it first",
    "unreleased_pipeline_capsules": "capsules used by the pipeline are not released: release them first",
    "missing_release_functionality": "required release functionality is missing",
    "invalid_app_panel": "the app panel is invalid: fix it",
    "unreleased_post_run_capsule": "the post-run capsule is not released: release it first",
}


@dataclass(frozen=True)
class GitSyncResult:
    """What ``POST capsules/{id}/sync`` did: commits pushed to and pulled from the Git remote."""

    pushed: int = 0
    pulled: int = 0
    new_branch: bool = False
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> GitSyncResult:
        obj = as_mapping(data)
        return cls(
            pushed=int_or_none(obj, "pushed") or 0,
            pulled=int_or_none(obj, "pulled") or 0,
            new_branch=bool(bool_or_none(obj, "new_branch")),
            raw=obj,
        )

    def to_dict(self) -> JSON:
        return {"pushed": self.pushed, "pulled": self.pulled, "new_branch": self.new_branch}


@dataclass(frozen=True)
class ReleaseVersion:
    """A released version of a capsule or pipeline; ``major_version`` is what a run's ``version`` takes."""

    major_version: int | None = None
    minor_version: int | None = None
    #: Epoch seconds.
    release_time: int | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> ReleaseVersion:
        obj = as_mapping(data)
        number = partial(int_or_none, obj)
        return cls(number("major_version"), number("minor_version"), number("release_time"), raw=obj)

    def label(self) -> str:
        return f"{self.major_version}.{self.minor_version or 0}"


@dataclass(frozen=True)
class CapsuleReleaseJob:
    """An asynchronous release of a new capsule or pipeline version. ``raw`` keeps the JSON as sent."""

    job_id: str
    status: ReleaseJobStatus | str | None = None
    """``created``, ``started``, ``completed``, ``failed``, ``canceled`` or ``canceling`` (a newer value as is)."""
    started: int | None = None
    """When the job started, in epoch seconds."""
    duration: int | None = None
    """How many seconds the job ran."""
    release_capsule: str | None = None
    """Set once completed: the id of the released (release) capsule."""
    release_version: ReleaseVersion | None = None
    """Set once completed: the released version."""
    error: str | None = None
    """Why a failed job failed."""
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> CapsuleReleaseJob:
        obj = as_mapping(data)
        timing = {key: int_or_none(obj, key) for key in ("started", "duration")}
        return cls(
            job_id=str_or_empty(obj, "job_id"),
            status=enum_or_str(ReleaseJobStatus, obj.get("status")),
            release_capsule=str_or_none(obj, "release_capsule"),
            release_version=obj_or_none(obj, "release_version", ReleaseVersion.from_json),
            error=str_or_none(obj, "error"),
            raw=obj,
            **timing,
        )

    @property
    def is_terminal(self) -> bool:
        return str(self.status) in TERMINAL_RELEASE_STATES

    @property
    def succeeded(self) -> bool:
        return str(self.status) == ReleaseJobStatus.COMPLETED.value

    def describe(self) -> str:
        text = f"release job {self.job_id} ({self.status})"
        if self.release_version is not None:
            text += f": version {self.release_version.label()}"
        return text

    def to_dict(self) -> JSON:
        return dict(self.raw)


@dataclass(frozen=True)
class ReleaseValidationIssues:
    """The unmet release requirements in a 403 answer to ``POST …/release``: each flag set to true."""

    flags: dict[str, bool] = field(default_factory=dict)
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> ReleaseValidationIssues:
        obj = as_mapping(data)
        flags = {key: value for key, value in obj.items() if isinstance(value, bool)}
        return cls(flags=flags, raw=obj)

    @property
    def issues(self) -> list[str]:
        """The unmet requirements, known ones first in the SDK's order, then any newer ones."""
        known = [name for name in RELEASE_REQUIREMENTS if self.flags.get(name)]
        return known + sorted(name for name, on in self.flags.items() if on and name not in RELEASE_REQUIREMENTS)

    def describe(self) -> list[str]:
        return [f"{name}: {RELEASE_REQUIREMENTS.get(name, 'unmet release requirement')}" for name in self.issues]


@dataclass(frozen=True)
class DataAssetAttachResult:
    """One entry of the answer to ``POST capsules/{id}/data_assets``."""

    id: str
    mount: str | None = None
    """The folder under ``/data`` the asset is mounted at."""
    mount_state: str | None = None
    """Whether it is mounted yet."""
    job_id: str | None = None
    """The job mounting it, when mounting takes a while."""
    external: bool | None = None
    ready: bool | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> DataAssetAttachResult:
        obj = as_mapping(data)
        texts = {key: str_or_none(obj, key) for key in ("mount", "mount_state", "job_id")}
        flag = partial(bool_or_none, obj)
        return cls(id=str_or_empty(obj, "id"), external=flag("external"), ready=flag("ready"), raw=obj, **texts)

    def to_dict(self) -> JSON:
        return dict(self.raw)


def attach_params_from(value: Any) -> list[DataAssetMount]:
    """Data assets to attach: ids, or ``{"id": ..., "mount": ...}`` (no mount: the asset's own mount)."""
    if isinstance(value, (str, Mapping)):
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, bytes) or not value:
        raise CodeOceanConfigError(f"data_assets must be a non-empty list of ids or {{'id', 'mount'}}, got {value!r}")
    mounts: list[DataAssetMount] = []
    for given in value:
        item = (
            {"id": given} if isinstance(given, str) else given.to_json() if isinstance(given, DataAssetMount) else given
        )
        if not isinstance(item, Mapping) or set(item) - {"id", "mount"}:
            raise CodeOceanConfigError(f"each data asset must be an id or {{'id': ..., 'mount': ...}}, got {item!r}")
        asset_id = check_id(item.get("id"), "data asset id")
        mount = item.get("mount")
        mounts.append(DataAssetMount(asset_id, None if mount is None else check_mount(mount, f"mount of {asset_id}")))
    ids = [m.id for m in mounts]
    named = [m.mount for m in mounts if m.mount is not None]
    dupes = sorted({i for i in ids if ids.count(i) > 1} | {n for n in named if named.count(n) > 1})
    if dupes:
        raise CodeOceanConfigError(f"each data asset and each mount may appear once; repeated: {dupes}")
    return mounts


def data_asset_ids_from(value: Any) -> list[str]:
    """Data asset ids to detach: a list of ids (or ``{"id": ...}``)."""
    return [mount.id for mount in attach_params_from(value)]
