"""One exception hierarchy for everything the provider raises about Code Ocean.

Every API error carries the HTTP status, the server's message and the request's method and path;
none of them ever carries the token (requests are described by method and path only, never by URL
with credentials or headers).
"""

from __future__ import annotations

from typing import Any


class CodeOceanError(Exception):
    """Base class of every error raised by this provider about Code Ocean."""

    #: Whether the same request may succeed if sent again later (429, 5xx, lost connections).
    transient: bool = False


class CodeOceanConfigError(CodeOceanError, ValueError):
    """The connection or an argument is invalid; the message says what to fix."""


class CodeOceanConnectionLookupError(CodeOceanError):
    """The Airflow connection could not be read (a secrets backend or database failure); may pass."""

    transient = True


class CodeOceanApiError(CodeOceanError):
    """Code Ocean answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        method: str,
        path: str,
        data: Any = None,
        hint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        #: Seconds the server asked the client to wait (Retry-After), when it said.
        self.retry_after = retry_after
        self.message = message
        self.method = method
        self.path = path
        self.data = data
        self.hint = hint
        text = f"{method} {path} failed with HTTP {status_code}: {message}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class CodeOceanBadRequestError(CodeOceanApiError):
    """400: a parameter is missing or malformed, or the server is older than Min-Server-Version."""


class CodeOceanAuthenticationError(CodeOceanApiError):
    """401: the API token is missing, wrong, expired or revoked."""


class CodeOceanPermissionError(CodeOceanApiError):
    """403: the token lacks a scope, or the caller may not act on this item."""


class CodeOceanReleaseValidationError(CodeOceanPermissionError):
    """403 to a release request: the capsule or pipeline does not meet the release requirements.

    ``issues`` lists ``(flag, what to do)`` for each unmet requirement the server named (the SDK's
    ``CapsuleReleaseValidationIssues`` flags); the message lists them all.
    """

    def __init__(self, *args: Any, issues: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        self.issues = list(issues or [])
        super().__init__(*args, **kwargs)


class CodeOceanNotFoundError(CodeOceanApiError):
    """404: no such capsule, pipeline, computation, data asset or path."""


class CodeOceanConflictError(CodeOceanApiError):
    """409 or 423: the item is busy or locked."""


class CodeOceanRateLimitError(CodeOceanApiError):
    """429: Code Ocean asks the client to slow down."""

    transient = True


class CodeOceanServerError(CodeOceanApiError):
    """5xx: Code Ocean or a proxy in front of it failed."""

    transient = True


class CodeOceanSignedUrlExpiredError(CodeOceanApiError):
    """400 or 403 from a signed file URL: object stores answer so when the signature has expired.

    Transient: the next download attempt asks the API for a fresh URL. (The same statuses from the API
    itself are :class:`CodeOceanBadRequestError` and :class:`CodeOceanPermissionError`, and final.)
    """

    transient = True


class CodeOceanTransportError(CodeOceanError):
    """The request got no HTTP answer: it timed out, or the connection failed or was reset."""

    transient = True

    def __init__(self, message: str, *, method: str, path: str) -> None:
        self.method = method
        self.path = path
        super().__init__(f"{method} {path}: {message}")


class CodeOceanTimeoutError(CodeOceanTransportError):
    """No answer within the request timeout."""


class CodeOceanConnectionError(CodeOceanTransportError):
    """The connection could not be made, or was dropped before an answer."""


class CodeOceanRunFailedError(CodeOceanError):
    """A computation finished without succeeding (failed, stopped, or a non-zero exit code).

    Distinct from the API errors, so a retry policy can tell "the run failed" from "the API was
    unavailable".
    """

    def __init__(self, message: str, *, computation: dict[str, Any] | None = None) -> None:
        self.computation = computation
        super().__init__(message)


class CodeOceanRunStartFailedError(CodeOceanRunFailedError):
    """The run failed before its code ran (Code Ocean state ``failed``, e.g. no capacity): a new run may work."""


class CodeOceanWaitTimeoutError(CodeOceanError, TimeoutError):
    """A task stopped waiting for a computation or data asset: its ``timeout`` or ``execution_timeout`` passed.

    ``deadline`` is ``"wait"`` (the operator's own ``timeout``) or ``"execution"`` (``execution_timeout``).
    """

    def __init__(self, message: str, *, deadline: str = "wait") -> None:
        self.deadline = deadline
        super().__init__(message)


class CodeOceanDataAssetFailedError(CodeOceanError):
    """A data asset ended in the failed state."""

    def __init__(self, message: str, *, data_asset: dict[str, Any] | None = None) -> None:
        self.data_asset = data_asset
        super().__init__(message)


class CodeOceanReleaseFailedError(CodeOceanError):
    """A release job ended ``failed`` or ``canceled``; the message carries the server's reason."""

    def __init__(self, message: str, *, release_job: dict[str, Any] | None = None) -> None:
        self.release_job = release_job
        super().__init__(message)


def error_details(exc: BaseException) -> dict[str, Any]:
    """JSON-primitive fields of an error, for a trigger event, so the worker can rebuild its type."""
    details: dict[str, Any] = {"error_type": type(exc).__name__}
    if isinstance(exc, CodeOceanApiError):
        details.update(status_code=exc.status_code, method=exc.method, path=exc.path, api_message=exc.message)
    elif isinstance(exc, CodeOceanTransportError):
        details.update(method=exc.method, path=exc.path)
    return details


_STATUS_ERRORS: dict[int, type[CodeOceanApiError]] = {
    400: CodeOceanBadRequestError,
    401: CodeOceanAuthenticationError,
    403: CodeOceanPermissionError,
    404: CodeOceanNotFoundError,
    409: CodeOceanConflictError,
    423: CodeOceanConflictError,
    429: CodeOceanRateLimitError,
}

_HINTS: dict[int, str] = {
    401: "check the API Token field of the Code Ocean connection (its password); tokens start with 'cop_' "
    "and are shown only once when created under Account > Access Tokens",
    403: "the token needs the scope for this resource: Capsule (Read/Write) for capsules, pipelines and "
    "computations, Data Asset (Read/Write) for data assets; a run that mounts data assets also needs "
    "Data Asset Read",
    404: "check the id, and that the token's user can see the item",
}


def error_for_status(
    status_code: int,
    message: str,
    *,
    method: str,
    path: str,
    data: Any = None,
    retry_after: float | None = None,
    hint: str | None = None,
) -> CodeOceanApiError:
    """Build the typed error for an HTTP error status; ``hint`` replaces the status's usual hint."""
    if hint is None:
        hint = _HINTS.get(status_code)
        if status_code == 400 and "version" in message.lower():
            hint = "the deployment may be older than the connection's min_server_version extra; lower or remove it"
    cls = _STATUS_ERRORS.get(status_code)
    if cls is None:
        cls = CodeOceanServerError if status_code >= 500 else CodeOceanApiError
    return cls(
        message,
        status_code=status_code,
        method=method,
        path=path,
        data=data,
        hint=hint,
        retry_after=retry_after,
    )
