"""The wire level: what an API call is (:class:`Endpoint`), independent of how it is sent, how its answer
is decoded, and which typed error an error answer becomes. The calls themselves are catalogued in
:mod:`airflow_provider_codeocean.api.endpoints`.

Both transports (requests for sync, aiohttp for async) hand the status, headers and body to
:func:`decode`, so parsing and error mapping exist once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import quote

from airflow_provider_codeocean.errors import (
    CodeOceanApiError,
    CodeOceanConnectionError,
    CodeOceanTimeoutError,
    error_for_status,
)

if TYPE_CHECKING:
    from airflow_provider_codeocean.api.settings import ClientSettings

T = TypeVar("T")


def _ignore(_: Any) -> None:
    return None


@dataclass(frozen=True)
class Endpoint(Generic[T]):
    """One API call: method, path under ``/api/v1/``, query, body, and how to parse the answer.

    ``idempotent`` says whether sending it twice is harmless; only idempotent calls are retried on
    server errors and lost connections (a POST that creates something is not).
    """

    method: str
    path: str
    parse: Callable[[Any], T] = field(default=_ignore)  # type: ignore[assignment]
    params: Mapping[str, str] | None = None
    json: Any = None
    idempotent: bool = True

    def describe(self) -> str:
        return f"{self.method} /api/v1/{self.path}"


def seg(value: str) -> str:
    """An id as one URL path segment, so a stray '/' or '?' cannot reach another endpoint."""
    return quote(str(value), safe="")


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import datetime, timezone

        when = parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def error_message(body: bytes, status_code: int) -> tuple[str, Any]:
    """The server's message and JSON body; a non-JSON page (a proxy's HTML 502) still reads well."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    if isinstance(data, Mapping):
        message = data.get("message") or data.get("error") or data.get("detail")
        if isinstance(message, str) and message:
            return message, data
    if text and not text.lstrip().startswith("<"):
        return text[:500], data
    if text:
        # HTML error page: keep its title, which is what a person would read.
        start, end = text.lower().find("<title>"), text.lower().find("</title>")
        if 0 <= start < end:
            return f"HTTP {status_code} {text[start + 7 : end].strip()} (HTML error page)", data
        # Object stores (S3, GCS) answer signed-URL errors in XML with a <Message>.
        start, end = text.find("<Message>"), text.find("</Message>")
        if 0 <= start < end:
            return f"HTTP {status_code} {text[start + 9 : end].strip()}", data
        return f"HTTP {status_code} (HTML error page)", data
    return f"HTTP {status_code} with an empty body", data


def decode(endpoint: Endpoint[T], status_code: int, headers: Mapping[str, str], body: bytes) -> T:
    """Turn an HTTP answer into the endpoint's result, or raise the typed error."""
    if status_code >= 400:
        raise build_error(endpoint, status_code, headers, body)
    if not body.strip():
        return endpoint.parse(None)
    try:
        data = json.loads(body)
    except ValueError:
        raise CodeOceanApiError(
            f"the answer is not JSON: {body[:200]!r}",
            status_code=status_code,
            method=endpoint.method,
            path=f"/api/v1/{endpoint.path}",
        ) from None
    return endpoint.parse(data)


def build_error(
    endpoint: Endpoint[Any], status_code: int, headers: Mapping[str, str], body: bytes
) -> CodeOceanApiError:
    message, data = error_message(body, status_code)
    hint = None
    if status_code == 405 or (status_code == 404 and not isinstance(data, Mapping)):
        # Code Ocean answers its API paths with JSON; a bare 404 page or a 405 comes from something else.
        hint = (
            "the answer does not look like Code Ocean's API: check the connection's Domain field "
            "(your deployment's address, such as https://acme.codeocean.com)"
        )
    return error_for_status(
        status_code,
        message,
        method=endpoint.method,
        path=f"/api/v1/{endpoint.path}",
        data=data,
        retry_after=retry_after_seconds(headers.get("Retry-After") or headers.get("retry-after")),
        hint=hint,
    )


def no_answer(settings: ClientSettings, endpoint: Endpoint[Any]) -> CodeOceanTimeoutError:
    """The error for a request that got no answer in time (both transports raise it alike)."""
    return CodeOceanTimeoutError(
        f"no answer within {settings.read_timeout:g} s (connect {settings.connect_timeout:g} s)",
        method=endpoint.method,
        path=f"/api/v1/{endpoint.path}",
    )


def connection_failed(
    settings: ClientSettings, endpoint: Endpoint[Any], exc: BaseException
) -> CodeOceanConnectionError:
    """The error for a request whose connection failed; names the client's error type, never the URL."""
    return CodeOceanConnectionError(
        f"connection to {settings.base_url} failed: {type(exc).__name__}",
        method=endpoint.method,
        path=f"/api/v1/{endpoint.path}",
    )
