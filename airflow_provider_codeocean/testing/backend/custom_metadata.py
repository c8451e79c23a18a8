"""The deployment's custom metadata schema and validation of values against it."""

from __future__ import annotations

from typing import Any

from airflow_provider_codeocean.testing.http.messages import bad_request


def _check_one(name: str, field: dict[str, Any], value: Any) -> None:
    kind = field.get("type", "string")
    if kind == "string":
        if not isinstance(value, str):
            raise bad_request(f"custom_metadata.{name} must be a string")
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        # Dates are epoch seconds, so both number and date fields take numbers.
        raise bad_request(f"custom_metadata.{name} must be a number ({kind} field)")
    allowed = field.get("allowed_values")
    if allowed and value not in allowed:
        raise bad_request(f"custom_metadata.{name} must be one of {', '.join(map(str, allowed))}")
    bounds = field.get("range") or {}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = bounds.get("min"), bounds.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            raise bad_request(f"custom_metadata.{name} is outside its range {low}..{high}")


def validate(schema: dict[str, Any], values: Any) -> dict[str, Any]:
    """The custom metadata to store; unknown keys or wrong types are a 400. A null value drops the key."""
    if not isinstance(values, dict):
        raise bad_request("custom_metadata must be a JSON object")
    fields = {f["name"]: f for f in schema.get("fields", []) if isinstance(f, dict) and "name" in f}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise bad_request(f"unknown custom metadata field(s): {', '.join(unknown)}")
    result: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        field = fields[name]
        if field.get("multiple"):
            items = value if isinstance(value, list) else [value]
            for item in items:
                _check_one(name, field, item)
            result[name] = list(items)
        else:
            if isinstance(value, list):
                raise bad_request(f"custom_metadata.{name} takes a single value")
            _check_one(name, field, value)
            result[name] = value
    for name, field in fields.items():
        if field.get("required") and name not in result:
            raise bad_request(f"custom_metadata.{name} is required")
    return result
