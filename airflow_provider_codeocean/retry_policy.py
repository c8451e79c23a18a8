"""What an Airflow retry of a Code Ocean task may re-run, and an Airflow 3.3 retry policy over the provider's errors.

``retry_on_run_failure`` on the run operator decides whether a run that finished without succeeding is
worth running again:

* ``True`` (the default): any failed run; a retry starts a new run;
* ``False``: only a run that failed *before its code ran* (Code Ocean state ``failed``, e.g. no capacity);
  a run whose code ran and failed (state ``completed``, end status ``failed`` or ``stopped``) fails the
  task without Airflow retries;
* a list of exit codes, e.g. ``[137, 143]`` (killed, out of memory): those, and runs that never started.

:func:`codeocean_retry_policy` (Airflow 3.3+) maps the provider's errors to retry decisions.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean import errors

if TYPE_CHECKING:
    from airflow_provider_codeocean.models import Computation

__all__ = ["RetryOnRunFailure", "codeocean_retry_policy", "rerun_reason", "retry_on_run_failure_option"]

#: ``True``, ``False``, or the exit codes worth a new run.
RetryOnRunFailure = bool | Collection[int]


def retry_on_run_failure_option(value: Any) -> bool | tuple[int, ...]:
    """``value`` checked: a bool, or a non-empty collection of exit codes (returned sorted, without repeats)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, Collection) and not isinstance(value, (str, bytes, dict)) and value:
        codes = list(value)
        if all(isinstance(code, int) and not isinstance(code, bool) for code in codes):
            return tuple(sorted(set(codes)))
    raise errors.CodeOceanConfigError(
        f"retry_on_run_failure must be True, False or a list of exit codes such as [137, 143], got {value!r}"
    )


def rerun_reason(option: bool | tuple[int, ...], computation: Computation) -> str | None:
    """Why a finished, unsuccessful run may be run again under ``option``; None if it may not."""
    from airflow_provider_codeocean.models import ComputationState

    if computation.state == ComputationState.FAILED:
        return "it failed before its code ran (state failed)"
    if option is True:
        return "retry_on_run_failure=True"
    if option is not False and computation.exit_code in option:
        return f"its exit code {computation.exit_code} is in retry_on_run_failure={list(option)}"
    return None


def codeocean_retry_policy(
    *,
    retry_on_run_failure: bool = True,
    api_retry_delay: timedelta = timedelta(minutes=5),
) -> Any:
    """An ``ExceptionRetryPolicy`` (Airflow 3.3+) for the provider's tasks: ``retry_policy=codeocean_retry_policy()``.

    * bad input and API answers 400, 401, 403, 404: fail (retrying cannot fix them);
    * 429, 5xx, lost connections, an unreadable connection: retry after ``api_retry_delay``;
    * a run that failed before its code ran: retry;
    * a run that finished without succeeding: retry if ``retry_on_run_failure``, else fail. Exit codes
      are the operator's ``retry_on_run_failure``: a run it will not re-run fails the task as an
      ``AirflowFailException``, which Airflow never hands to a policy;
    * anything else (a wait timeout, a conflict): the task's own ``retries``.

    A retry never goes past the task's ``retries``: give the task some. Raises ImportError on Airflow
    before 3.3, which has no retry policies; use ``retries`` and ``retry_on_run_failure`` there.
    """
    try:
        from airflow.sdk.definitions.retry_policy import ExceptionRetryPolicy, RetryAction, RetryRule
    except ImportError as exc:
        raise ImportError(
            "codeocean_retry_policy needs Airflow 3.3 or later (airflow.sdk.definitions.retry_policy); "
            "on older Airflow use the task's retries and the operator's retry_on_run_failure"
        ) from exc
    run_failed = RetryAction.RETRY if retry_on_run_failure else RetryAction.FAIL
    rules = [
        RetryRule(
            exception=[
                errors.CodeOceanConfigError,
                errors.CodeOceanBadRequestError,
                errors.CodeOceanAuthenticationError,
                errors.CodeOceanPermissionError,
                errors.CodeOceanNotFoundError,
            ],
            action=RetryAction.FAIL,
            reason="retrying cannot fix bad input or an API answer of 400, 401, 403 or 404",
        ),
        RetryRule(
            exception=[
                errors.CodeOceanRateLimitError,
                errors.CodeOceanServerError,
                errors.CodeOceanSignedUrlExpiredError,
                errors.CodeOceanTransportError,
                errors.CodeOceanConnectionLookupError,
            ],
            action=RetryAction.RETRY,
            retry_delay=api_retry_delay,
            reason="the Code Ocean API was unavailable",
        ),
        RetryRule(
            exception=errors.CodeOceanRunStartFailedError,
            action=RetryAction.RETRY,
            reason="the run failed before its code ran",
        ),
        RetryRule(
            exception=errors.CodeOceanRunFailedError,
            action=run_failed,
            reason=f"the run failed (retry_on_run_failure={retry_on_run_failure})",
        ),
    ]
    return ExceptionRetryPolicy(rules=rules, default=RetryAction.DEFAULT)
