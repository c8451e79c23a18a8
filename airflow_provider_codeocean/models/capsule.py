"""A capsule or pipeline, and its app panel."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from airflow_provider_codeocean.models._parse import (
    JSON,
    as_mapping,
    enum_or_str,
    list_of,
    opt_int,
    opt_str,
    req_str,
    str_list,
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
            id=req_str(obj, "id"),
            name=req_str(obj, "name"),
            created=opt_int(obj, "created"),
            owner=opt_str(obj, "owner"),
            status=enum_or_str(CapsuleStatus, obj.get("status")),
            slug=opt_str(obj, "slug"),
            description=opt_str(obj, "description"),
            field=opt_str(obj, "field"),
            cloned_from_url=opt_str(obj, "cloned_from_url"),
            # Platform 3.1 renamed "keywords" to "tags"; older deployments still send keywords.
            tags=str_list(obj, "tags") or str_list(obj, "keywords"),
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
            id=opt_str(obj, "id"),
            name=opt_str(obj, "name"),
            param_name=opt_str(obj, "param_name"),
            type=opt_str(obj, "type"),
            value_type=opt_str(obj, "value_type"),
            default_value=opt_str(obj, "default_value"),
            required=required if isinstance(required, bool) else None,
            value_options=str_list(obj, "value_options"),
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
