"""One page of a search, and the custom metadata schema."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from airflow_provider_codeocean.models._parse import (
    JSON,
    as_mapping,
    bool_or_none,
    list_of,
    str_list_or_empty,
    str_or_empty,
    str_or_none,
)

T = TypeVar("T")


@dataclass(frozen=True)
class SearchPage(Generic[T]):
    results: list[T]
    has_more: bool = False
    next_token: str | None = None

    @classmethod
    def parser(cls, parse_item: Callable[[Any], T]) -> Callable[[Any], SearchPage[T]]:
        def parse(data: Any) -> SearchPage[T]:
            obj = as_mapping(data)
            return cls(
                results=list_of(obj, "results", parse_item),
                has_more=bool(bool_or_none(obj, "has_more")),
                next_token=str_or_none(obj, "next_token") or None,
            )

        return parse


@dataclass(frozen=True)
class CustomMetadataField:
    name: str
    type: str | None = None
    required: bool = False
    multiple: bool = False
    allowed_values: list[str] = field(default_factory=list)
    range: JSON | None = None

    @classmethod
    def from_json(cls, data: Any) -> CustomMetadataField:
        obj = as_mapping(data)
        rng = obj.get("range")
        return cls(
            name=str_or_empty(obj, "name"),
            type=str_or_none(obj, "type"),
            required=bool(bool_or_none(obj, "required")),
            multiple=bool(bool_or_none(obj, "multiple")),
            allowed_values=str_list_or_empty(obj, "allowed_values"),
            range=as_mapping(rng) if isinstance(rng, dict) else None,
        )


@dataclass(frozen=True)
class CustomMetadataSchema:
    """The deployment's admin-defined custom metadata fields."""

    fields: list[CustomMetadataField] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> CustomMetadataSchema:
        obj = as_mapping(data)
        return cls(
            fields=list_of(obj, "fields", CustomMetadataField.from_json),
            categories=str_list_or_empty(obj, "categories"),
            raw=obj,
        )

    def problems(self, values: JSON) -> list[str]:
        """What is wrong with ``values`` under this schema; empty when they fit."""
        by_name = {f.name: f for f in self.fields}
        problems = [f"unknown key {key!r}" for key in values if key not in by_name]
        for key, value in values.items():
            spec = by_name.get(key)
            if spec is None:
                continue
            items = value if isinstance(value, list) and spec.multiple else [value]
            for item in items:
                if spec.type in ("number", "date") and (isinstance(item, bool) or not isinstance(item, (int, float))):
                    problems.append(f"{key!r} must be a number ({spec.type}), got {item!r}")
                elif spec.type == "string" and not isinstance(item, str):
                    problems.append(f"{key!r} must be a string, got {item!r}")
                elif spec.allowed_values and str(item) not in spec.allowed_values:
                    problems.append(f"{key!r} must be one of {spec.allowed_values}, got {item!r}")
        problems += [f"required key {f.name!r} is missing" for f in self.fields if f.required and f.name not in values]
        return problems
