"""Deferring to a trigger and resuming from its event, for the operators and the sensors alike.

Also how errors leave a task: those that retrying cannot fix are retyped so Airflow does not retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from datetime import timedelta
from typing import Any, NamedTuple, NoReturn, TypeVar, cast

from airflow_provider_codeocean import errors as _errors
from airflow_provider_codeocean.errors import (
    CodeOceanApiError,
    CodeOceanConfigError,
    CodeOceanError,
    CodeOceanTransportError,
    error_for_status,
)

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)

#: HTTP statuses that sending the same request again cannot fix (bad input, token, scope, unknown id).
PERMANENT_STATUSES = frozenset({400, 401, 403, 404})


class EventSpec(NamedTuple):
    """What a trigger's events carry: the item's id and JSON keys, and every status it can fire."""

    id_key: str
    item_key: str
    kind: str
    statuses: frozenset[str]


# Defined here rather than in the trigger modules, so a task resumes without importing Airflow's triggers.
COMPUTATION_EVENTS = EventSpec(
    "computation_id", "computation", "computation", frozenset({"success", "failed", "stopped", "timeout", "error"})
)
DATA_ASSET_EVENTS = EventSpec(
    "data_asset_id", "data_asset", "data asset", frozenset({"success", "failed", "timeout", "error"})
)


def deadlines(wait_timeout: float | None, execution_timeout: timedelta | None) -> tuple[float | None, float | None]:
    """Absolute epoch deadlines ``(end_time, execution_deadline)`` for a trigger, measured from now.

    The task defers with ``timeout=None`` and lets the trigger enforce both: a framework deferral
    timeout would fail the task without ``execute_complete``, so the remote work could not be stopped.
    """
    now = time.time()
    end_time = now + wait_timeout if wait_timeout is not None else None
    execution_deadline = now + execution_timeout.total_seconds() if execution_timeout is not None else None
    return end_time, execution_deadline


def resume(
    event: Any,
    spec: EventSpec,
    finish: Callable[[dict[str, Any], dict[str, Any]], T],
    on_timeout: Callable[[dict[str, Any]], NoReturn],
) -> T:
    """What a task does when its trigger fires: check the event, then finish, time out or raise its error.

    ``finish(event, item_json)`` handles ``success``, ``failed`` and ``stopped``; ``on_timeout(event)``
    a ``timeout``; an ``error`` event raises the error it describes. Errors leave through :func:`reraise`.
    """
    try:
        checked = validate_event(event, spec.id_key, spec.statuses)
        status = checked["status"]
        if status == "timeout":
            on_timeout(checked)
        if status == "error":
            raise error_from_event(checked)
        raw = checked.get(spec.item_key)
        if not isinstance(raw, dict):
            raise CodeOceanError(f"the trigger's {status!r} event has no {spec.kind}: {checked!r}")
        return finish(checked, raw)
    except CodeOceanError as exc:
        reraise(exc)


def validate_event(event: Any, id_key: str, statuses: Collection[str]) -> dict[str, Any]:
    """The trigger event as a dict, or an error saying why it cannot be used.

    A missing or malformed event means the payload was lost or the triggerer and worker run different
    versions of this provider; failing loudly beats guessing the run's outcome.
    """
    if not isinstance(event, Mapping):
        raise CodeOceanError(f"the trigger resumed the task without a usable event (got {event!r})")
    status = event.get("status")
    if status not in statuses:
        raise CodeOceanError(
            f"the trigger sent an unknown status {status!r} (expected one of {sorted(statuses)}): "
            f"{event.get('message', '')}"
        )
    if not isinstance(event.get(id_key), str) or not event[id_key]:
        raise CodeOceanError(f"the trigger event has no {id_key}: {dict(event)!r}")
    return dict(event)


def error_from_event(event: Mapping[str, Any]) -> CodeOceanError:
    """Rebuild the typed error an ``error`` event describes (API error, transport error or config error)."""
    message = str(event.get("message") or "Code Ocean API error")
    error_type = str(event.get("error_type") or "")
    status_code = event.get("status_code")
    method = str(event.get("method") or "GET")
    path = str(event.get("path") or "")
    if isinstance(status_code, int):
        return error_for_status(status_code, str(event.get("api_message") or message), method=method, path=path)
    cls = getattr(_errors, error_type, None)
    if isinstance(cls, type) and issubclass(cls, CodeOceanTransportError):
        return cls(message, method=method, path=path)
    if isinstance(cls, type) and issubclass(cls, CodeOceanConfigError):
        return cls(message)
    return CodeOceanError(message)


def is_permanent(exc: BaseException) -> bool:
    """Whether retrying the task cannot help: bad input, or an API answer of 400/401/403/404."""
    if isinstance(exc, CodeOceanConfigError):
        return True
    return isinstance(exc, CodeOceanApiError) and exc.status_code in PERMANENT_STATUSES


_FAIL_FAST_TYPES: dict[type[BaseException], type[BaseException]] = {}


def fail_fast(exc: BaseException) -> BaseException:
    """``exc`` retyped so it is *also* an ``AirflowFailException``: Airflow then fails the task without retries.

    The new exception keeps the original class as its first base (``except CodeOceanNotFoundError`` and
    retry policies keyed on ``CodeOceanApiError`` still match it), its attributes and its message.
    Anything that is not permanent (see :func:`is_permanent`) is returned unchanged.
    """
    return never_retried(exc) if is_permanent(exc) else exc


def never_retried(exc: E) -> E:
    """``exc`` retyped so it is also an ``AirflowFailException``, whatever it is (see :func:`fail_fast`)."""
    from airflow.providers.common.compat.sdk import AirflowFailException

    if isinstance(exc, AirflowFailException):
        return exc
    cls: type[BaseException] = type(exc)
    combined = _FAIL_FAST_TYPES.get(cls)
    if combined is None:
        combined = type(
            cls.__name__,
            (cls, AirflowFailException),
            {"__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__},
        )
        _FAIL_FAST_TYPES[cls] = combined
    retyped = cast("E", combined.__new__(combined))
    retyped.__dict__.update(exc.__dict__)
    retyped.args = exc.args
    retyped.__cause__ = exc.__cause__
    retyped.__traceback__ = exc.__traceback__
    return retyped


def reraise(exc: CodeOceanError) -> NoReturn:
    """Raise ``exc``, retyped by :func:`fail_fast` when retrying cannot help."""
    retyped = fail_fast(exc)
    if retyped is exc:
        raise exc
    raise retyped from exc.__cause__
