"""Shared helpers for the hook tests: the connection in the environment, and reading what the server got."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

#: A recognisable token, so tests can prove it never shows up anywhere.
TOKEN = "cop_TESTtoken1234567890abcdefSECRET"
#: How the token looks on the wire (HTTP Basic, token as the user name, empty password).
TOKEN_B64 = base64.b64encode(f"{TOKEN}:".encode()).decode()

#: Small waits so retried tests stay fast; nothing asserts durations.
FAST_EXTRA: dict[str, Any] = {
    "retry_backoff": 0.01,
    "retry_max_wait": 0.02,
    "retry_limit": 2,
    "request_timeout": 5,
    "connect_timeout": 2,
}


def set_connection(
    monkeypatch: pytest.MonkeyPatch,
    host: str,
    *,
    conn_id: str = "codeocean_default",
    token: str | None = TOKEN,
    **extra: Any,
) -> None:
    """Put a ``codeocean`` connection in the environment, in the JSON form, with fast retry extras."""
    conn: dict[str, Any] = {"conn_type": "codeocean", "host": host, "extra": {**FAST_EXTRA, **extra}}
    if token is not None:
        conn["password"] = token
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def body(request: Any) -> Any:
    """The JSON body a werkzeug request carried (None when it had none)."""
    data = request.get_data()
    return json.loads(data) if data else None
