"""A data asset: a dataset, captured results, a combination of assets, or a model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from airflow_provider_codeocean.models._parse import (
    JSON,
    as_mapping,
    bool_or_none,
    enum_or_str,
    float_or_none,
    int_or_none,
    list_of,
    obj_or_none,
    str_list_or_empty,
    str_or_empty,
    str_or_none,
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
            commit=str_or_none(obj, "commit"),
            run_script=str_or_none(obj, "run_script"),
            docker_image=str_or_none(obj, "docker_image"),
            capsule=str_or_none(obj, "capsule"),
            computation=str_or_none(obj, "computation"),
            data_assets=str_list_or_empty(obj, "data_assets"),
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
            origin=str_or_none(obj, "origin"),
            bucket=str_or_none(obj, "bucket"),
            prefix=str_or_none(obj, "prefix"),
            external=bool_or_none(obj, "external"),
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
            id=str_or_empty(obj, "id"),
            name=str_or_empty(obj, "name"),
            state=enum_or_str(DataAssetState, _lower(obj.get("state"))),
            type=enum_or_str(DataAssetType, _lower(obj.get("type"))),
            mount=str_or_none(obj, "mount"),
            description=str_or_none(obj, "description"),
            created=int_or_none(obj, "created"),
            # The seed page's answer spells these lastUsed and sizeInBytes.
            last_used=_first(int_or_none(obj, "last_used"), int_or_none(obj, "lastUsed")),
            owner=str_or_none(obj, "owner"),
            owner_email=str_or_none(obj, "owner_email"),
            files=int_or_none(obj, "files"),
            size=_first(float_or_none(obj, "size"), float_or_none(obj, "sizeInBytes")),
            tags=str_list_or_empty(obj, "tags"),
            custom_metadata=as_mapping(obj.get("custom_metadata")),
            failure_reason=str_or_none(obj, "failure_reason"),
            provenance=obj_or_none(obj, "provenance", Provenance.from_json),
            source_bucket=obj_or_none(obj, "source_bucket", SourceBucket.from_json),
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
