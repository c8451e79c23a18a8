"""Request and response values passed between the HTTP layer and the route handlers.

Handlers never touch sockets: they take a :class:`Request` and return a :class:`Response` (or raise
:class:`ApiError`), which keeps them synchronous, testable and independent of the fault machinery.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

JsonObject = dict[str, Any]


class ApiError(Exception):
    """An error the API reports to the client as ``{"message": ...}`` with an HTTP status."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


@dataclass
class FileBody:
    """A byte range of a file on disk, streamed by the server instead of being loaded into memory."""

    path: Path
    offset: int
    length: int


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    file: FileBody | None = None

    @property
    def content_length(self) -> int:
        return self.file.length if self.file is not None else len(self.body)


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(value: Any, status: int = 200) -> Response:
    return Response(status, dumps(value))


def error_response(status: int, message: str, **extra: Any) -> Response:
    return Response(status, dumps({"message": message, **extra}))


def no_content() -> Response:
    return Response(204, b"", content_type=None)


_MISSING = object()


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes = b""
    path: str = ""
    query: dict[str, list[str]] = field(default_factory=dict)
    _json: Any = field(default=_MISSING, repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.target)
        self.path = unquote(parts.path)
        self.query = parse_qs(parts.query, keep_blank_values=True)

    @property
    def host(self) -> str:
        return self.headers.get("host", "")

    def query_value(self, name: str) -> str | None:
        """The single value of a query parameter; repeating it is ambiguous, so it is rejected."""
        values = self.query.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise bad_request(f"query parameter '{name}' given more than once")
        return values[0]

    def json(self, *, empty: Any = _MISSING) -> Any:
        """The parsed body. ``empty`` is returned for an empty body when given, else it is a 400."""
        if self._json is not _MISSING:
            return self._json
        if not self.body.strip():
            if empty is _MISSING:
                raise bad_request("request body is required (JSON)")
            return empty
        try:
            value = json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise bad_request(f"request body is not valid JSON: {exc}") from None
        self._json = value
        return value
