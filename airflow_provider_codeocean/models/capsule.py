"""A capsule or pipeline, and its app panel."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from airflow_provider_codeocean.models._parse import (
    JSON,
    as_mapping,
    enum_or_str,
    int_or_none,
    list_of,
    str_list_or_empty,
    str_or_empty,
    str_or_none,
)
from airflow_provider_codeocean.models.enums import CapsuleStatus


@dataclass(frozen=True)
class Capsule:
    """A capsule or a pipeline. ``raw`` keeps the JSON as the server sent it."""

    id: str
    name: str
    created: int | None = None
    owner: str | None = None
    status: CapsuleStatus | str | None = None
    slug: str | None = None
    description: str | None = None
    field: str | None = None
    cloned_from_url: str | None = None
    tags: list[str] = dataclasses.field(default_factory=list)
    versions: list[JSON] = dataclasses.field(default_factory=list)
    raw: JSON = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Capsule:
        obj = as_mapping(data)
        return cls(
            id=str_or_empty(obj, "id"),
            name=str_or_empty(obj, "name"),
            created=int_or_none(obj, "created"),
            owner=str_or_none(obj, "owner"),
            status=enum_or_str(CapsuleStatus, obj.get("status")),
            slug=str_or_none(obj, "slug"),
            description=str_or_none(obj, "description"),
            field=str_or_none(obj, "field"),
            cloned_from_url=str_or_none(obj, "cloned_from_url"),
            # Platform 3.1 renamed "keywords" to "tags"; older deployments still send keywords.
            tags=str_list_or_empty(obj, "tags") or str_list_or_empty(obj, "keywords"),
            versions=list_of(obj, "versions", as_mapping),
            raw=obj,
        )

    def to_dict(self) -> JSON:
        return dict(self.raw)


@dataclass(frozen=True)
class AppPanelParameter:
    id: str | None = None
    name: str | None = None
    param_name: str | None = None
    type: str | None = None
    value_type: str | None = None
    default_value: str | None = None
    required: bool | None = None
    value_options: list[str] = dataclasses.field(default_factory=list)

    @classmethod
    def from_json(cls, data: Any) -> AppPanelParameter:
        obj = as_mapping(data)
        required = obj.get("required")
        return cls(
            id=str_or_none(obj, "id"),
            name=str_or_none(obj, "name"),
            param_name=str_or_none(obj, "param_name"),
            type=str_or_none(obj, "type"),
            value_type=str_or_none(obj, "value_type"),
            default_value=str_or_none(obj, "default_value"),
            required=required if isinstance(required, bool) else None,
            value_options=str_list_or_empty(obj, "value_options"),
        )


@dataclass(frozen=True)
class AppPanel:
    """The app panel of a capsule or pipeline: its documented parameters and data assets."""

    parameters: list[AppPanelParameter] = dataclasses.field(default_factory=list)
    data_assets: list[JSON] = dataclasses.field(default_factory=list)
    processes: list[JSON] = dataclasses.field(default_factory=list)
    raw: JSON = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> AppPanel:
        obj = as_mapping(data)
        return cls(
            parameters=list_of(obj, "parameters", AppPanelParameter.from_json),
            data_assets=list_of(obj, "data_assets", as_mapping),
            processes=list_of(obj, "processes", as_mapping),
            raw=obj,
        )
