"""Lenient readers for response JSON: a missing or mistyped optional field becomes None, never a crash.

Each name says what a missing field becomes (``str_or_none``, ``str_or_empty``): the emulator's request
readers in ``testing.validation`` are strict and raise instead, so the two must not share names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, TypeVar

E = TypeVar("E", bound=Enum)
T = TypeVar("T")

JSON = dict[str, Any]


def as_mapping(data: Any) -> JSON:
    return dict(data) if isinstance(data, Mapping) else {}


def str_or_none(data: JSON, key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def str_or_empty(data: JSON, key: str) -> str:
    return str_or_none(data, key) or ""


def int_or_none(data: JSON, key: str) -> int | None:
    value = data.get(key)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return None
    return None


def float_or_none(data: JSON, key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def bool_or_none(data: JSON, key: str) -> bool | None:
    value = data.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def str_list_or_empty(data: JSON, key: str) -> list[str]:
    value = data.get(key)
    if isinstance(value, list):
        return [item if isinstance(item, str) else str(item) for item in value if item is not None]
    if isinstance(value, str) and value:
        return [value]
    return []


def enum_or_str(enum_cls: type[E], value: Any) -> E | str | None:
    """The enum member for a known value, the raw string for an unknown one (a newer server)."""
    if value is None:
        return None
    try:
        return enum_cls(value)
    except ValueError:
        return str(value)


def list_of(data: JSON, key: str, parse: Callable[[Any], T]) -> list[T]:
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [parse(item) for item in value if isinstance(item, Mapping)]


def obj_or_none(data: JSON, key: str, parse: Callable[[Any], T]) -> T | None:
    value = data.get(key)
    return parse(value) if isinstance(value, Mapping) else None


def drop_none(data: Mapping[str, Any]) -> JSON:
    """Request bodies leave unset fields out rather than sending explicit nulls."""
    return {key: value for key, value in data.items() if value is not None}
