"""How a failed computation is reported, by the run operator and the computation sensor alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean._common.deferral import never_retried
from airflow_provider_codeocean.errors import (
    CodeOceanConfigError,
    CodeOceanRunFailedError,
    CodeOceanRunStartFailedError,
)
from airflow_provider_codeocean.retry_policy import rerun_reason

if TYPE_CHECKING:
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook
    from airflow_provider_codeocean.models import Computation

#: How many bytes and lines of a failed run's ``output`` file go into the error message.
OUTPUT_TAIL_MAX_BYTES = 2 * 1024 * 1024
OUTPUT_TAIL_LINES = 40
OUTPUT_TAIL_CHARS = 4000
OUTPUT_FILE = "output"


def failed_run_message(hook: CodeOceanHook, computation: Computation) -> str:
    return f"Code Ocean {computation.describe()} {computation.outcome}: {hook.computation_url(computation.id)}"


def run_failed_error(message: str, computation: Computation, retry_on_run_failure: bool | tuple[int, ...]) -> Exception:
    """The error a failed run fails the task with: an ``AirflowFailException`` too if a retry would not re-run it."""
    from airflow_provider_codeocean.models import ComputationState

    started = computation.state != ComputationState.FAILED
    error_type = CodeOceanRunFailedError if started else CodeOceanRunStartFailedError
    if rerun_reason(retry_on_run_failure, computation) is not None:
        return error_type(message, computation=computation.to_dict())
    message += f"\nNot retried: retry_on_run_failure={retry_on_run_failure!r}"
    return never_retried(error_type(message, computation=computation.to_dict()))


def with_output_tail(message: str, hook: CodeOceanHook, computation_id: str, log: Any) -> str:
    tail = tail_of_output(hook, computation_id, log)
    return f"{message}\nLast lines of the run's {OUTPUT_FILE}:\n{tail}" if tail else message


def tail_of_output(hook: CodeOceanHook, computation_id: str, log: Any) -> str:
    """The end of a run's ``output`` file; empty if it cannot be had (never fails the failure path)."""
    try:
        data = hook.read_result_file(computation_id, OUTPUT_FILE, max_bytes=OUTPUT_TAIL_MAX_BYTES)
    except Exception as exc:
        log.info("No output tail for computation %s: %s", computation_id, exc)
        return ""
    text = data.decode("utf-8", errors="replace").rstrip()
    tail = "\n".join(text.splitlines()[-OUTPUT_TAIL_LINES:])
    return tail[-OUTPUT_TAIL_CHARS:]


def finished_computation(hook: CodeOceanHook, computation_id: str, when_unfinished: str) -> Computation:
    """The computation, which must have finished: its results are complete only then."""
    computation = hook.get_computation(computation_id)
    if not computation.is_terminal:
        raise CodeOceanConfigError(f"{computation.describe()} has not finished; {when_unfinished}")
    return computation
