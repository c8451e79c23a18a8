"""The retry policy both transports share, built on tenacity.

Retried: errors marked ``transient`` (429, 5xx, timeouts, lost connections, an expired signed URL),
with exponential backoff and full jitter, waiting
as long as the server's Retry-After says (capped). A request that is not idempotent (a POST that
creates a computation or data asset) is retried only on 429: the server refused it, so nothing was
created. On a 5xx or a lost connection it may have been created, so the caller must look first.
"""

from __future__ import annotations

import logging
from typing import Any

import tenacity

from airflow_provider_codeocean.api.settings import ClientSettings
from airflow_provider_codeocean.api.wire import Endpoint
from airflow_provider_codeocean.errors import CodeOceanApiError, CodeOceanError, CodeOceanRateLimitError

log = logging.getLogger(__name__)


def is_retryable(exc: BaseException, *, idempotent: bool) -> bool:
    if not isinstance(exc, CodeOceanError) or not exc.transient:
        return False
    # A 429 means the server refused the request; any other transient failure may have let it act.
    return idempotent or isinstance(exc, CodeOceanRateLimitError)


class _WaitRetryAfterOrBackoff(tenacity.wait.wait_base):
    def __init__(self, initial: float, maximum: float) -> None:
        self._backoff = tenacity.wait_random_exponential(multiplier=initial, max=maximum)
        self._maximum = maximum

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, CodeOceanApiError) and exc.retry_after is not None:
            return min(exc.retry_after, self._maximum)
        return float(self._backoff(retry_state))


def _log_retry(endpoint: Endpoint[Any]) -> Any:
    def before_sleep(retry_state: tenacity.RetryCallState) -> None:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        log.warning(
            "Code Ocean %s failed (attempt %d): %s; retrying in %.1f s",
            endpoint.describe(),
            retry_state.attempt_number,
            exc,
            wait,
        )

    return before_sleep


def retry_kwargs(settings: ClientSettings, endpoint: Endpoint[Any], *, attempts: int | None = None) -> dict[str, Any]:
    """Arguments for ``tenacity.Retrying`` or ``tenacity.AsyncRetrying`` for one call.

    ``attempts`` is the budget including the first try (default: the connection's ``retry_limit`` + 1).
    """
    return {
        "stop": tenacity.stop_after_attempt(settings.retry_limit + 1 if attempts is None else attempts),
        "wait": _WaitRetryAfterOrBackoff(settings.retry_backoff, settings.retry_max_wait),
        "retry": tenacity.retry_if_exception(lambda e: is_retryable(e, idempotent=endpoint.idempotent)),
        "before_sleep": _log_retry(endpoint),
        "reraise": True,
    }
