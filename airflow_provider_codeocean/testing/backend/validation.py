"""Strict readers for JSON request bodies.

Every reader raises :class:`ApiError` 400 with a message naming the offending field, so a handler can
validate a whole body before touching any state (a rejected request must change nothing).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

from airflow_provider_codeocean.testing.http.messages import ApiError, JsonObject, bad_request

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Mounts become folder names under ../data/, so they must be one safe path segment: no "/", no "..",
# no leading dot or dash (hidden folders, option-like names).
MOUNT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")


def check_uuid(value: str, what: str) -> str:
    if not UUID_RE.match(value):
        raise bad_request(f"invalid {what} '{value}': expected a UUID")
    return value.lower()


def new_uuid(rand_bits: int | None = None) -> str:
    if rand_bits is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=rand_bits, version=4))


def check_mount(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise bad_request(f"{where} must be a string")
    if not MOUNT_RE.match(value):
        raise bad_request(
            f"invalid {where} '{value}': use 1-255 letters, digits, '_', '-' or '.', "
            "starting with a letter, digit or '_' (no '/')"
        )
    return value


def expect_object(value: Any, where: str, allowed: Iterable[str]) -> JsonObject:
    if not isinstance(value, dict):
        raise bad_request(f"{where} must be a JSON object")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise bad_request(f"unknown field(s) in {where}: {', '.join(unknown)}")
    return value


def expect_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise bad_request(f"{where} must be a JSON array")
    return value


def _optional(obj: JsonObject, key: str, where: str, kind: type[Any], what: str) -> Any:
    value = obj.get(key)
    # bool is an int subclass in Python; JSON true is not a number.
    if value is None or (isinstance(value, kind) and not (kind is int and isinstance(value, bool))):
        return value
    raise bad_request(f"{where}.{key} must be {what}")


def opt_str(obj: JsonObject, key: str, where: str) -> str | None:
    value: str | None = _optional(obj, key, where, str, "a string")
    return value


def req_str(obj: JsonObject, key: str, where: str, *, allow_empty: bool = False) -> str:
    value = opt_str(obj, key, where)
    if value is None:
        raise bad_request(f"{where}.{key} is required")
    if not allow_empty and not value.strip():
        raise bad_request(f"{where}.{key} must not be empty")
    return value


def opt_int(obj: JsonObject, key: str, where: str) -> int | None:
    value: int | None = _optional(obj, key, where, int, "an integer")
    return value


def opt_bool(obj: JsonObject, key: str, where: str) -> bool | None:
    value: bool | None = _optional(obj, key, where, bool, "a boolean")
    return value


def opt_str_list(obj: JsonObject, key: str, where: str) -> list[str] | None:
    value = obj.get(key)
    if value is None:
        return None
    items = expect_list(value, f"{where}.{key}")
    if not all(isinstance(item, str) for item in items):
        raise bad_request(f"{where}.{key} must be an array of strings")
    return list(items)


def opt_enum(obj: JsonObject, key: str, where: str, allowed: Iterable[str]) -> str | None:
    value = opt_str(obj, key, where)
    allowed_list = list(allowed)
    if value is not None and value not in allowed_list:
        raise bad_request(f"{where}.{key} must be one of {', '.join(allowed_list)}")
    return value


def parse_bool_query(value: str | None, name: str) -> bool:
    # The SDK sends Python's str(True) ("True"); curl users send "true".
    if value is None:
        raise bad_request(f"query parameter '{name}' is required")
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise bad_request(f"query parameter '{name}' must be true or false")


def reject(message: str, status: int = 400) -> ApiError:
    return ApiError(status, message)
