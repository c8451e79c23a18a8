"""Creating something exactly once when a create request can fail without saying whether it acted.

A 5xx or a lost connection on a creating POST may come after the server created the thing. The request
is therefore never re-sent blindly: the caller's ``find`` looks for what it may have created, and only a
look that *succeeded* and found nothing allows another attempt. If every look failed, nothing is proven
and the original error is raised (it is transient, so Airflow retries the task, whose next try looks
again before creating).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from airflow_provider_codeocean.errors import CodeOceanError, CodeOceanServerError, CodeOceanTransportError

T = TypeVar("T")

#: Seconds to wait before each look after an ambiguous failure (a new item may be listed a moment late).
RECONCILE_DELAYS: tuple[float, ...] = (0.0, 2.0, 5.0)
#: How many times a create that failed ambiguously, and whose result was proven absent, is sent in all.
SUBMIT_ATTEMPTS = 3

#: The failures after which the server may have acted (a 429 is a refusal: the transport retries it).
AMBIGUOUS = (CodeOceanServerError, CodeOceanTransportError)


class _NotLooked:
    """``look`` could not complete a single lookup: absence is unproven."""


NOT_LOOKED = _NotLooked()


def look(find: Callable[[], T | None], delays: Sequence[float], log: Any, what: str) -> T | _NotLooked | None:
    """``find()`` after each delay until it finds something; :data:`NOT_LOOKED` if no lookup succeeded."""
    looked = False
    for delay in delays:
        if delay:
            time.sleep(delay)
        try:
            found = find()
        except CodeOceanError as exc:
            if not exc.transient:
                raise
            log.warning("Looking for %s failed: %s", what, exc)
            continue
        looked = True
        if found is not None:
            return found
    return None if looked else NOT_LOOKED


def create_once(
    submit: Callable[[], T],
    find: Callable[[], T | None],
    *,
    what: str,
    log: Any,
    delays: Sequence[float] = RECONCILE_DELAYS,
    attempts: int = SUBMIT_ATTEMPTS,
) -> T:
    """``submit()``; after an ambiguous failure adopt what ``find()`` finds, or submit again if it proves nothing.

    At most ``attempts`` submits. The last ambiguous error is raised when the attempts run out or when no
    lookup succeeded.
    """
    for attempt in range(1, attempts + 1):
        try:
            return submit()
        except AMBIGUOUS as exc:
            log.warning("Creating %s failed ambiguously (attempt %d of %d): %s", what, attempt, attempts, exc)
            found = look(find, delays, log, what)
            if isinstance(found, _NotLooked):
                log.warning("Could not look for %s, so it may exist: not sending the request again", what)
                raise
            if found is not None:
                log.info("Found %s, created by the failed request", what)
                return found
            if attempt == attempts:
                raise
            log.info("%s was not created; sending the request again", what)
    raise AssertionError("unreachable")  # pragma: no cover
