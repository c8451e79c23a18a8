"""Every check of a task's (templated) arguments, with the error that says what to fix.

Checks that build models import them when called: a DAG file that only instantiates operators never
loads them.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import datetime
import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean.errors import CodeOceanConfigError

if TYPE_CHECKING:
    from airflow_provider_codeocean.models import CustomMetadataSchema, Permissions

_USER_ROLES = ("owner", "editor", "viewer")
_GROUP_ROLES = ("owner", "editor", "viewer", "discoverable")
_EVERYONE_ROLES = ("viewer", "discoverable", "none")


def positive_seconds(value: Any, what: str) -> float:
    """``value`` (seconds or a timedelta) as a positive float; a clear error otherwise."""
    seconds = value.total_seconds() if isinstance(value, datetime.timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise CodeOceanConfigError(f"{what} must be a number of seconds (or a timedelta) above 0, got {value!r}")
    return float(seconds)


def optional_seconds(value: Any, what: str) -> float | None:
    return None if value is None else positive_seconds(value, what)


def wait_seconds(poll_interval: Any, timeout: Any) -> tuple[float, float | None]:
    """``(poll_interval, timeout)`` of an operator that waits, checked when the DAG is parsed."""
    return positive_seconds(poll_interval, "poll_interval"), optional_seconds(timeout, "timeout")


def id_from(value: Any, what: str) -> str:
    """An id given directly, as the dict an upstream Code Ocean operator returned, or as that dict's text.

    Jinja renders a pulled dict as its Python repr unless the DAG renders native objects, so a
    rendered ``{'id': ...}`` string is read back too.
    """
    from airflow_provider_codeocean.models.params import check_id

    if isinstance(value, str) and value.strip().startswith("{"):
        text = value.strip()
        try:
            value = json.loads(text)
        except ValueError:
            with contextlib.suppress(ValueError, SyntaxError):
                value = ast.literal_eval(text)
    if isinstance(value, Mapping):
        value = value.get("id")
    return check_id(value, what)


def name_from(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CodeOceanConfigError(f"name must be a non-empty string, got {value!r}")
    return value.strip()


def check_description(value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise CodeOceanConfigError(f"description must be a string, got {value!r}")


def as_list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise CodeOceanConfigError(f"{what} must be a list, got {value!r}")
    return list(value)


def permissions_from(value: Any) -> Permissions | None:
    """Validate a permissions dict ``{users: [{email, role}], groups: [{group, role}], everyone, share_assets}``."""
    from airflow_provider_codeocean.models import GroupPermission, Permissions, UserPermission

    if value is None or isinstance(value, Permissions):
        return value
    if not isinstance(value, Mapping):
        raise CodeOceanConfigError(f"permissions must be a dict with users, groups, everyone, got {value!r}")
    unknown = sorted(set(value) - {"users", "groups", "everyone", "share_assets"})
    if unknown:
        raise CodeOceanConfigError(
            f"permissions has unknown key(s) {unknown}; use users, groups, everyone, share_assets"
        )
    users = [
        UserPermission(*_entry(item, "email", _USER_ROLES, "permissions users"))
        for item in as_list(value.get("users"), "permissions users")
    ]
    groups = [
        GroupPermission(*_entry(item, "group", _GROUP_ROLES, "permissions groups"))
        for item in as_list(value.get("groups"), "permissions groups")
    ]
    everyone = value.get("everyone")
    if everyone is not None and everyone not in _EVERYONE_ROLES:
        raise CodeOceanConfigError(f"permissions everyone must be one of {list(_EVERYONE_ROLES)}, got {everyone!r}")
    share = value.get("share_assets")
    if share is not None and not isinstance(share, bool):
        raise CodeOceanConfigError(f"permissions share_assets must be true or false, got {share!r}")
    return Permissions(users=users, groups=groups, everyone=everyone, share_assets=share)


def _entry(item: Any, key: str, roles: Sequence[str], what: str) -> tuple[str, str]:
    if not isinstance(item, Mapping) or not isinstance(item.get(key), str) or not item[key].strip():
        raise CodeOceanConfigError(f"each of {what} needs a {key!r} and a 'role', got {item!r}")
    if item.get("role") not in roles:
        raise CodeOceanConfigError(
            f"{what}: the role of {item[key]!r} must be one of {list(roles)}, got {item.get('role')!r}"
        )
    return item[key].strip(), item["role"]


def metadata_from(value: Any, what: str = "custom_metadata") -> dict[str, Any]:
    """A custom metadata dict; dates become epoch seconds, as the API expects for date fields."""
    if not isinstance(value, Mapping):
        raise CodeOceanConfigError(f"{what} must be a dict of field name to value, got {value!r}")
    result: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise CodeOceanConfigError(f"{what} keys must be field names (strings), got {key!r}")
        result[key] = _epoch(item)
    return result


def _epoch(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return int(value.timestamp())
    if isinstance(value, datetime.date):
        return int(datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc).timestamp())
    if isinstance(value, list):
        return [_epoch(v) for v in value]
    return value


_DATE_FORMS = (
    "epoch seconds (a number or numeric string), an ISO date '2026-03-02' or datetime "
    "'2026-03-02T10:00:00+00:00', or a datetime/date value"
)


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        for kind in (int, float):
            with contextlib.suppress(ValueError):
                number = kind(text)
                # JSON has no NaN or infinity.
                return number if math.isfinite(number) else None
    return None


def _date(value: Any) -> int | float | None:
    if isinstance(value, (datetime.date, datetime.datetime)):
        return _epoch(value)  # type: ignore[no-any-return]
    number = _number(value)
    if number is not None or not isinstance(value, str):
        return number
    text = value.strip()
    with contextlib.suppress(ValueError):
        if len(text) == 10:
            return _epoch(datetime.date.fromisoformat(text))  # type: ignore[no-any-return]
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
        # A datetime without an offset is read as UTC, as Airflow's own dates are.
        return _epoch(parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc))  # type: ignore[no-any-return]
    return None


def _converted(schema: CustomMetadataSchema, values: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    """``values`` with the ``keys`` of number and date fields converted; one error naming every field that cannot be."""
    by_name = {f.name: f for f in schema.fields}
    result, problems = dict(values), []
    for key in sorted(keys):
        spec = by_name.get(key)
        if spec is None or spec.type not in ("number", "date") or values[key] is None:
            continue
        convert, forms = (_date, _DATE_FORMS) if spec.type == "date" else (_number, "a number or a numeric string")
        items = values[key] if isinstance(values[key], list) else [values[key]]
        done = [convert(item) for item in items]
        if any(d is None for d in done):
            bad = [i for i, d in zip(items, done, strict=True) if d is None]
            problems.append(f"{key!r} is a {spec.type} field and cannot take {bad[0]!r}: give {forms}")
        else:
            result[key] = done if isinstance(values[key], list) else done[0]
    if problems:
        raise CodeOceanConfigError(f"custom_metadata: {'; '.join(problems)}")
    return result


def check_metadata(
    schema: CustomMetadataSchema, values: dict[str, Any], before: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``values`` converted to the deployment's custom metadata schema; raise if they do not fit it.

    Number and date fields take what templates render (numeric strings, ISO dates); the values sent are
    numbers, as the API stores them. Problems already present in ``before`` (the asset's current
    metadata) are not blamed on this change.
    """
    changed = {k for k, v in values.items() if before is None or before.get(k) != v}
    converted = _converted(schema, values, changed)
    existing = set(schema.problems(before)) if before is not None else set()
    problems = [p for p in schema.problems(converted) if p not in existing]
    if problems:
        known = ", ".join(f"{f.name} ({f.type})" for f in schema.fields) or "none"
        raise CodeOceanConfigError(
            f"custom_metadata does not fit this deployment's schema: {'; '.join(problems)}. Fields defined: {known}"
        )
    return converted


def bucket_fields(value: Any, what: str, cls: type[Any]) -> dict[str, Any]:
    """The fields of an S3/GCS source or target dict, checked against the dataclass ``cls``."""
    allowed = [f.name for f in dataclasses.fields(cls)]
    if not isinstance(value, Mapping):
        raise CodeOceanConfigError(f"{what} must be a dict with keys {allowed}, got {value!r}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise CodeOceanConfigError(f"{what} has unknown key(s) {unknown}; allowed: {allowed}")
    bucket = value.get("bucket")
    if not isinstance(bucket, str) or not bucket.strip() or "/" in bucket:
        raise CodeOceanConfigError(f"{what} needs 'bucket': a bucket name without '/', got {bucket!r}")
    return {k: v for k, v in value.items() if v is not None}


def check_max(value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise CodeOceanConfigError(f"max_results must be a whole number of 1 or more, got {value!r}")
    return value


def choice(value: Any, what: str, allowed: Sequence[str]) -> str | None:
    if value in (None, ""):
        return None
    if value not in allowed:
        raise CodeOceanConfigError(f"{what} must be one of {list(allowed)}, got {value!r}")
    return str(value)


def search_body(query: Any, filters: Any, max_results: int | None, **fields: Any) -> dict[str, Any]:
    """The search request's fields (``query`` included, if given) from an operator's arguments."""
    if query is not None and not isinstance(query, str):
        raise CodeOceanConfigError(f"query must be a string, got {query!r}")
    body: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    if query:
        body["query"] = query
    if filters:
        items = as_list(filters, "filters")
        for item in items:
            if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
                raise CodeOceanConfigError(f"each filter needs a 'key' and a value, values or range, got {item!r}")
        body["filters"] = [dict(i) for i in items]
    if max_results is not None:
        # No need to fetch a page of 1000 for a handful.
        body["limit"] = min(max_results, 1000)
    return body


def is_templated(value: Any) -> bool:
    """Whether ``value`` is only known once the task renders it: Jinja text, or an XComArg and the like."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if value is None or isinstance(value, (int, float, datetime.date, datetime.timedelta)):
        return False
    if isinstance(value, Mapping):
        return any(is_templated(k) or is_templated(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(is_templated(v) for v in value)
    return type(value).__module__.split(".")[0] in ("airflow", "jinja2")


#: The run operator's arguments that become ``RunParams``, all templated.
RUN_ARGUMENTS = (
    "capsule_id", "pipeline_id", "version", "data_assets", "parameters", "named_parameters", "processes",
    "nextflow_profile", "resume_run_id", "name",
)  # fmt: skip
# Stands in for a templated id so the other arguments can still be checked when the DAG is parsed.
_SOME_ID = "00000000-0000-4000-8000-000000000000"


def check_run_arguments(fields: dict[str, Any]) -> None:
    """The checks ``RunParams.build`` makes after rendering, on the arguments that are not templated.

    Called when the DAG file is parsed, so a typo fails there with the same message; never calls the API.
    """
    from airflow_provider_codeocean.models import RunParams

    name = fields.pop("name", None)
    if name is not None and not isinstance(name, str):
        raise CodeOceanConfigError(f"name must be a string, got {name!r}")
    literal: dict[str, Any] = {}
    for key, value in fields.items():
        if not is_templated(value):
            literal[key] = value
        elif key == "named_parameters" and isinstance(value, Mapping) and not is_templated(list(value)):
            # Names are rarely templated even when values are: check them now.
            literal[key] = dict.fromkeys(value, "")
    if is_templated(fields.get("capsule_id")) or is_templated(fields.get("pipeline_id")):
        # Which of the two the rendering fills is known only then.
        literal["capsule_id"], literal["pipeline_id"] = _SOME_ID, None
    RunParams.build(**literal)


def check_asset_arguments(fields: dict[str, Any]) -> None:
    """The data asset operators' shape checks on their literal arguments, when the DAG is parsed."""
    from airflow_provider_codeocean.models.params import check_id, check_mount, check_tags

    literal = {k: v for k, v in fields.items() if v is not None and not is_templated(v)}
    if "name" in literal:
        name_from(literal["name"])
    if literal.get("mount") not in (None, ""):
        check_mount(literal["mount"])
    for key in ("tags", "add_tags", "remove_tags"):
        if key in literal:
            check_tags(literal[key])
    check_description(literal.get("description"))
    if "custom_metadata" in literal:
        metadata_from(literal["custom_metadata"])
    for key in ("computation_id", "data_asset_id"):
        if literal.get(key) not in (None, ""):
            id_from(literal[key], key)
    for item in as_list(literal.get("data_asset_ids"), "data_asset_ids"):
        check_id(item, "data_asset_ids item")
