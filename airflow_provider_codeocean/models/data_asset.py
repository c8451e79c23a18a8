"""A data asset: a dataset, captured results, a combination of assets, or a model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from airflow_provider_codeocean.models._parse import (
    JSON,
    as_mapping,
    enum_or_str,
    list_of,
    opt_bool,
    opt_float,
    opt_int,
    opt_obj,
    opt_str,
    req_str,
    str_list,
)
from airflow_provider_codeocean.models.enums import DataAssetState, DataAssetType

T = TypeVar("T")


@dataclass(frozen=True)
class Provenance:
    commit: str | None = None
    run_script: str | None = None
    docker_image: str | None = None
    capsule: str | None = None
    computation: str | None = None
    data_assets: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Any) -> Provenance:
        obj = as_mapping(data)
        return cls(
            commit=opt_str(obj, "commit"),
            run_script=opt_str(obj, "run_script"),
            docker_image=opt_str(obj, "docker_image"),
            capsule=opt_str(obj, "capsule"),
            computation=opt_str(obj, "computation"),
            data_assets=str_list(obj, "data_assets"),
        )


@dataclass(frozen=True)
class SourceBucket:
    origin: str | None = None
    bucket: str | None = None
    prefix: str | None = None
    external: bool | None = None

    @classmethod
    def from_json(cls, data: Any) -> SourceBucket:
        obj = as_mapping(data)
        return cls(
            origin=opt_str(obj, "origin"),
            bucket=opt_str(obj, "bucket"),
            prefix=opt_str(obj, "prefix"),
            external=opt_bool(obj, "external"),
        )


@dataclass(frozen=True)
class DataAsset:
    """A Code Ocean data asset. ``raw`` keeps the JSON as the server sent it."""

    id: str
    name: str
    state: DataAssetState | str | None
    type: DataAssetType | str | None = None
    mount: str | None = None
    description: str | None = None
    created: int | None = None
    last_used: int | None = None
    owner: str | None = None
    owner_email: str | None = None
    files: int | None = None
    size: float | None = None
    tags: list[str] = field(default_factory=list)
    custom_metadata: JSON = field(default_factory=dict)
    failure_reason: str | None = None
    provenance: Provenance | None = None
    source_bucket: SourceBucket | None = None
    contained_data_assets: list[JSON] = field(default_factory=list)
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> DataAsset:
        obj = as_mapping(data)
        return cls(
            id=req_str(obj, "id"),
            name=req_str(obj, "name"),
            state=enum_or_str(DataAssetState, _lower(obj.get("state"))),
            type=enum_or_str(DataAssetType, _lower(obj.get("type"))),
            mount=opt_str(obj, "mount"),
            description=opt_str(obj, "description"),
            created=opt_int(obj, "created"),
            # The seed page's answer spells these lastUsed and sizeInBytes.
            last_used=_first(opt_int(obj, "last_used"), opt_int(obj, "lastUsed")),
            owner=opt_str(obj, "owner"),
            owner_email=opt_str(obj, "owner_email"),
            files=opt_int(obj, "files"),
            size=_first(opt_float(obj, "size"), opt_float(obj, "sizeInBytes")),
            tags=str_list(obj, "tags"),
            custom_metadata=as_mapping(obj.get("custom_metadata")),
            failure_reason=opt_str(obj, "failure_reason"),
            provenance=opt_obj(obj, "provenance", Provenance.from_json),
            source_bucket=opt_obj(obj, "source_bucket", SourceBucket.from_json),
            contained_data_assets=list_of(obj, "contained_data_assets", as_mapping),
            raw=obj,
        )

    @property
    def ready(self) -> bool:
        return self.state == DataAssetState.READY

    @property
    def failed(self) -> bool:
        return self.state == DataAssetState.FAILED

    @property
    def is_terminal(self) -> bool:
        return self.ready or self.failed

    def describe(self) -> str:
        text = f"data asset {self.id} ({self.name!r}) state={self.state}"
        if self.failure_reason:
            text += f" failure_reason={self.failure_reason!r}"
        return text

    def to_dict(self) -> JSON:
        return dict(self.raw)


def _first(value: T | None, fallback: T | None) -> T | None:
    return value if value is not None else fallback


def _lower(value: Any) -> Any:
    # The seed page shows "DATA_ASSET_STATE_DRAFT"-style values; normalise them to the documented ones.
    if isinstance(value, str):
        lowered = value.lower()
        for prefix in ("data_asset_state_", "data_asset_type_"):
            if lowered.startswith(prefix):
                return lowered[len(prefix) :]
        return lowered
    return value
