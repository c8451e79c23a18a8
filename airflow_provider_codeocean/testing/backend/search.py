"""Search semantics shared by capsule, pipeline and data asset search: query, filters, sort, paging."""

from __future__ import annotations

import base64
import binascii
import json
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from airflow_provider_codeocean.testing.backend import validation as validate
from airflow_provider_codeocean.testing.http.messages import JsonObject, bad_request

T = TypeVar("T")
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
COMMON_FIELDS = (
    "query", "next_token", "offset", "limit", "sort_field", "sort_order", "ownership", "favorite",
    "archived", "filters",
)  # fmt: skip


@dataclass
class Searchable:
    """The searchable view of one record."""

    text: dict[str, list[str]]  # query field -> values ("name", "tag", ...)
    values: dict[str, Any]  # filter key -> value (str, number or list)


def paging(body: JsonObject) -> tuple[int, int]:
    limit = validate.opt_int(body, "limit", "body")
    if limit is None or limit == 0:
        limit = DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"limit must be between 1 and {MAX_LIMIT}")
    offset = validate.opt_int(body, "offset", "body") or 0
    if offset < 0:
        raise bad_request("offset must be >= 0")
    token = validate.opt_str(body, "next_token", "body")
    if token:
        # The token wins over offset, as documented.
        offset = _decode_token(token)
    return offset, limit


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def _decode_token(token: str) -> int:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = decoded["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise bad_request("invalid next_token") from None
    if not isinstance(offset, int) or offset < 0:
        raise bad_request("invalid next_token")
    return offset


def page(items: Sequence[T], offset: int, limit: int, render: Callable[[T], JsonObject]) -> JsonObject:
    chunk = items[offset : offset + limit]
    has_more = offset + limit < len(items)
    result: JsonObject = {"has_more": has_more, "results": [render(item) for item in chunk]}
    if has_more:
        result["next_token"] = _encode_token(offset + limit)
    return result


def parse_query(query: str | None, fields: Sequence[str]) -> dict[str, list[str]]:
    """``field:value`` terms grouped by field; free words under ``""``. Values are lower-cased."""
    if not query or not query.strip():
        return {}
    try:
        tokens = shlex.split(query)
    except ValueError:
        raise bad_request("query has an unbalanced quote") from None
    groups: dict[str, list[str]] = {}
    for token in tokens:
        field, sep, value = token.partition(":")
        if sep and field.lower() in fields:
            groups.setdefault(field.lower(), []).append(value.lower())
        else:
            groups.setdefault("", []).append(token.lower())
    return groups


def query_matches(groups: dict[str, list[str]], item: Searchable, free_fields: Sequence[str]) -> bool:
    # Same field repeated = OR, different fields = AND; every free word must appear somewhere.
    for field, terms in groups.items():
        if field == "":
            haystack = " ".join(v for f in free_fields for v in item.text.get(f, [])).lower()
            if not all(term in haystack for term in terms):
                return False
        else:
            values = [v.lower() for v in item.text.get(field, [])]
            if not any(term in value for term in terms for value in values):
                return False
    return True


def parse_filters(body: JsonObject, allowed_keys: Sequence[str]) -> list[JsonObject]:
    raw = body.get("filters")
    if raw is None:
        return []
    filters: list[JsonObject] = []
    for index, item in enumerate(validate.expect_list(raw, "filters")):
        where = f"filters[{index}]"
        entry = validate.expect_object(item, where, ("key", "value", "values", "range", "exclude"))
        key = validate.opt_str(entry, "key", where)
        if not key:
            raise bad_request(f"{where}.key is required")
        if key not in allowed_keys:
            raise bad_request(f"{where}.key '{key}' is not a searchable field")
        value = entry.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
            raise bad_request(f"{where}.value must be a string or a number")
        values = entry.get("values")
        if values is not None and not all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in validate.expect_list(values, where)
        ):
            raise bad_request(f"{where}.values must be strings or numbers")
        rng = entry.get("range")
        if rng is not None:
            rng = validate.expect_object(rng, f"{where}.range", ("min", "max"))
            for bound in ("min", "max"):
                v = rng.get(bound)
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise bad_request(f"{where}.range.{bound} must be a number")
        if value is None and values is None and rng is None:
            raise bad_request(f"{where} needs one of value, values or range")
        validate.opt_bool(entry, "exclude", where)
        filters.append(entry)
    return filters


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def filters_match(filters: list[JsonObject], item: Searchable) -> bool:
    for entry in filters:
        actual = item.values.get(entry["key"])
        actual_list = actual if isinstance(actual, list) else ([] if actual is None else [actual])
        actual_norm = [_norm(a) for a in actual_list]
        if entry.get("value") is not None:
            hit = _norm(entry["value"]) in actual_norm
        elif entry.get("values") is not None:
            hit = any(_norm(v) in actual_norm for v in entry["values"])
        else:
            rng = entry["range"]
            hit = any(isinstance(a, (int, float)) and rng["min"] <= a <= rng["max"] for a in actual_list)
        if hit == bool(entry.get("exclude")):
            return False
    return True


def sort_items(items: list[T], body: JsonObject, sort_keys: dict[str, Callable[[T], Any]], default: str) -> list[T]:
    field = validate.opt_enum(body, "sort_field", "body", sort_keys)
    order = validate.opt_enum(body, "sort_order", "body", ("asc", "desc"))
    if field is None:
        # sort_order is ignored without sort_field (documented); newest first.
        return sorted(items, key=sort_keys[default], reverse=True)
    return sorted(items, key=sort_keys[field], reverse=order == "desc")
