"""Run a Code Ocean capsule or pipeline from a DAG, wait for it (on the worker or deferred), never twice."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow.providers.common.compat.sdk import conf

from airflow_provider_codeocean._common.adoption import runs_of_task, unnamed_matches
from airflow_provider_codeocean._common.deferral import COMPUTATION_EVENTS, deadlines, resume
from airflow_provider_codeocean._common.identity import (
    MAX_NAME_LENGTH,
    TaskIdentity,
    TaskStore,
    run_marker,
    try_lineage,
)
from airflow_provider_codeocean._common.inputs import RUN_ARGUMENTS, check_run_arguments, wait_seconds
from airflow_provider_codeocean._common.lineage import ComputationLineageMixin
from airflow_provider_codeocean._common.outcome import failed_run_message, run_failed_error, with_output_tail
from airflow_provider_codeocean._common.refresh import refreshed
from airflow_provider_codeocean._common.xcom import push_computation_link
from airflow_provider_codeocean.errors import (
    CodeOceanError,
    CodeOceanNotFoundError,
    CodeOceanWaitTimeoutError,
)
from airflow_provider_codeocean.links import CodeOceanComputationLink
from airflow_provider_codeocean.operators.base import CodeOceanBaseOperator
from airflow_provider_codeocean.retry_policy import RetryOnRunFailure, rerun_reason, retry_on_run_failure_option

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_codeocean.models import Computation, RunParams

__all__ = [
    "MAX_NAME_LENGTH",
    "STATE_COMPUTATION_ID",
    "STATE_SUBMIT_STARTED",
    "CodeOceanRunCapsuleOperator",
    "CodeOceanRunPipelineOperator",
    "run_marker",
]

#: task_state_store keys (Airflow 3.3+): the run this task instance started, and "a submit is under way".
STATE_COMPUTATION_ID = "codeocean_computation_id"
STATE_SUBMIT_STARTED = "codeocean_submit_started"


class CodeOceanRunCapsuleOperator(ComputationLineageMixin, CodeOceanBaseOperator):
    """Run a Code Ocean capsule or pipeline and, by default, wait until it finishes.

    The run succeeds only if its state is ``completed``, its end status ``succeeded`` and its exit code
    0 or absent; anything else fails the task with :class:`~airflow_provider_codeocean.errors.CodeOceanRunFailedError`
    (state, end status, exit code, link, last lines of the run's ``output``). API outages raise
    ``CodeOceanApiError`` or ``CodeOceanTransportError``; bad input and 400/401/403/404 fail the task
    without Airflow retries (the error is also an ``AirflowFailException``).

    The computation id and URL go to XCom (``codeocean_computation_id``, ``codeocean_computation_url``)
    before waiting; the return value is the finished computation's JSON.

    **No duplicate runs.** Each run is named ``<name> [af-<hash of dag, run, task, map index>/<lineage>]``
    right after it starts. A retry reattaches to that run if it is still going, delivers it if it
    succeeded while no try watched, re-runs or reports it if it failed (``retry_on_run_failure``); a clear
    runs again. An ambiguous submit failure looks for the run before submitting again. See
    ``docs/computations.md``.

    :param capsule_id: the capsule to run (give this or ``pipeline_id``).
    :param pipeline_id: the pipeline to run (give this or ``capsule_id``).
    :param version: the release version to run; the latest state of the capsule if omitted.
    :param data_assets: data assets to attach, as a list of ``{"id": ..., "mount": ...}``; each mount is
        the folder under ``/data`` the code reads it from.
    :param parameters: ordered (positional) parameters, a list of strings.
    :param named_parameters: named parameters, a dict or a list of ``(name, value)`` pairs; string values.
    :param processes: per-process parameters of a pipeline: a list of
        ``{"name": <process name in main.nf>, "parameters": [...], "named_parameters": {...}}``.
    :param nextflow_profile: the Nextflow profile of a pipeline run.
    :param resume_run_id: a previous computation to resume from (pipelines).
    :param name: a name for the run; a ``[af-…]`` marker is appended. Defaults to
        ``airflow:<dag_id>:<run_id>:<task_id>:<map_index>``.
    :param wait_for_completion: wait for the run to finish (default); if False, return once it started.
    :param deferrable: wait in the triggerer instead of holding a worker slot. Defaults to
        ``[operators] default_deferrable``.
    :param poll_interval: seconds between status checks (a number or timedelta above 0).
    :param timeout: how long to wait for the run (seconds or timedelta); when it passes, the task fails and,
        with ``cancel_on_timeout``, the run is deleted. No limit by default (``execution_timeout`` still applies).
    :param cancel_on_kill: stop the run when the task is killed (marked failed or success, cleared, SIGTERM).
        Code Ocean's only way to stop a run is ``DELETE computations/{id}``, which **also deletes the run and
        its results**. Set to False to leave the run going; a retry of the task then reattaches to it.
    :param cancel_on_timeout: the same when ``timeout`` or ``execution_timeout`` passes. None (the default)
        follows ``cancel_on_kill``; False keeps the run and its results, and a retry reattaches to it.
    :param retry_on_run_failure: what an Airflow retry re-runs after the run finished without succeeding:
        True (default) any failed run; False only a run that failed before its code ran (state ``failed``),
        the others fail the task without retries; or a list of exit codes (e.g. ``[137, 143]``) worth a new
        run. See :mod:`airflow_provider_codeocean.retry_policy`.
    :param check_capture: the capture task (or its task_id): its name, mount, tags and custom metadata are
        rendered and checked before the run starts, except values pulled from XCom (``docs/computations.md``).
    """

    template_fields: Sequence[str] = (
        "capsule_id",
        "pipeline_id",
        "version",
        "data_assets",
        "parameters",
        "named_parameters",
        "processes",
        "nextflow_profile",
        "resume_run_id",
        "name",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "data_assets": "json",
        "parameters": "json",
        "named_parameters": "json",
        "processes": "json",
    }
    operator_extra_links = (CodeOceanComputationLink(),)
    ui_color = "#e3f1fb"

    #: Seconds to wait before each look for a run after an ambiguous submit failure (the run may show
    #: up in the list a moment late).
    reconcile_delays: ClassVar[tuple[float, ...]] = (0.0, 2.0, 5.0)
    #: How many times a submit that failed ambiguously (and whose run was not found) is tried in all.
    submit_attempts: ClassVar[int] = 3
    #: Allowance for the difference between this worker's clock and Code Ocean's, in seconds.
    clock_skew: ClassVar[float] = 30.0

    def __init__(
        self,
        *,
        capsule_id: str | None = None,
        pipeline_id: str | None = None,
        version: int | str | None = None,
        data_assets: list[dict[str, str]] | None = None,
        parameters: list[str] | None = None,
        named_parameters: dict[str, str] | list[Any] | None = None,
        processes: list[dict[str, Any]] | None = None,
        nextflow_profile: str | None = None,
        resume_run_id: str | None = None,
        name: str | None = None,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float | timedelta = 30.0,
        timeout: float | timedelta | None = None,
        cancel_on_kill: bool = True,
        cancel_on_timeout: bool | None = None,
        retry_on_run_failure: RetryOnRunFailure = True,
        check_capture: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.check_capture = check_capture
        self.capsule_id = capsule_id
        self.pipeline_id = pipeline_id
        self.version = version
        self.data_assets = data_assets
        self.parameters = parameters
        self.named_parameters = named_parameters
        self.processes = processes
        self.nextflow_profile = nextflow_profile
        self.resume_run_id = resume_run_id
        self.name = name
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        # Checked here so a typo fails at DAG parse time, not hours later.
        self.poll_interval, self.timeout = wait_seconds(poll_interval, timeout)
        self.cancel_on_kill = cancel_on_kill
        self.cancel_on_timeout = cancel_on_kill if cancel_on_timeout is None else bool(cancel_on_timeout)
        self.retry_on_run_failure = retry_on_run_failure_option(retry_on_run_failure)
        self._computation_id: str | None = None
        self._execution_timed_out = False
        check_run_arguments({f: getattr(self, f) for f in RUN_ARGUMENTS})

    # Execution

    def execute(self, context: Context) -> Any:
        from airflow.providers.common.compat.sdk import AirflowTaskTimeout

        try:
            return super().execute(context)
        except AirflowTaskTimeout:
            # Airflow calls on_kill next; this is how it tells an execution_timeout from a kill.
            self._execution_timed_out = True
            raise

    def _execute(self, context: Context) -> Any:
        params = self._run_params(context)
        name = self._run_name(context)
        store = TaskStore(context)
        computation = self._find_previous_run(params, context, store)
        if computation is None:
            computation = self._submit(params, store)
        elif computation.is_terminal:
            self.log.info("Taking over %s, which finished while no try was watching it", computation.describe())
        else:
            self.log.info("Reattaching to %s instead of starting a new run", computation.describe())
        self._claim(computation, name, store)
        self._computation_id = computation.id

        url = push_computation_link(context, self.hook, computation.id)
        self.log.info("Code Ocean computation %s (%s): %s", computation.id, name, url)

        if not self.wait_for_completion and not (computation.is_terminal and not computation.succeeded):
            if self.deferrable:
                self.log.warning("deferrable has no effect with wait_for_completion=False")
            store.delete(STATE_COMPUTATION_ID)
            return computation.to_dict()
        if computation.is_terminal:
            # Also without wait_for_completion: a failed run an earlier try started is reported, not
            # passed on as started.
            return self._finish(computation, store)
        if not self.deferrable:
            return self._finish(self._wait(computation.id), store)

        from airflow_provider_codeocean.triggers.computation import CodeOceanComputationTrigger

        end_time, execution_deadline = deadlines(self.timeout, self.execution_timeout)
        # One more look before deferring: a fast run may have finished already.
        computation = self.hook.get_computation(computation.id)
        if computation.is_terminal:
            return self._finish(computation, store)
        self.defer(
            trigger=CodeOceanComputationTrigger(
                conn_id=self.codeocean_conn_id,
                computation_id=computation.id,
                poll_interval=self.poll_interval,
                end_time=end_time,
                execution_deadline=execution_deadline,
                cancel_on_kill=self.cancel_on_kill,
                capsule_id=self.pipeline_id or self.capsule_id,
                pipeline=bool(self.pipeline_id),
            ),
            method_name="execute_complete",
            timeout=None,
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired, in a fresh process: the event says how the run ended."""
        from airflow_provider_codeocean.models import Computation

        def finish(event: dict[str, Any], raw: dict[str, Any]) -> Any:
            self._computation_id = computation_id = event["computation_id"]
            summary = Computation.from_json(raw)
            computation = refreshed(self.hook.get_computation, computation_id, summary, "computation")
            return self._finish(computation, TaskStore(context))

        return resume(event, COMPUTATION_EVENTS, finish, self._timed_out)

    def _timed_out(self, event: dict[str, Any]) -> NoReturn:
        self._computation_id = event["computation_id"]
        self._give_up(self._computation_id, str(event.get("deadline") or "wait"))

    def on_kill(self) -> None:
        """Delete the run when the task is killed (``cancel_on_kill``) or its execution_timeout passed
        (``cancel_on_timeout``)."""
        if not self._computation_id:
            return
        if not self._execution_timed_out:
            if self.cancel_on_kill:
                self._stop(self._computation_id, "the task was killed")
        elif self.cancel_on_timeout:
            self._stop(self._computation_id, "the task's execution_timeout passed")
        else:
            self.log.info("Leaving computation %s going (cancel_on_timeout=False)", self._computation_id)

    # Steps

    def _run_params(self, context: Context) -> RunParams:
        from airflow_provider_codeocean._common.preflight import checked_run_params

        return checked_run_params(self, context)

    def _run_name(self, context: Context) -> str:
        return TaskIdentity.of(context).run_name(self.name or None, try_lineage(context, self.retries))

    def _find_previous_run(self, params: RunParams, context: Context, store: TaskStore) -> Computation | None:
        """The run an earlier try of this task instance started that this try takes over, if any.

        Still going: reattach. Succeeded, in this try's lineage: deliver it. Failed, in this lineage:
        returned (to be reported) only if ``retry_on_run_failure`` does not re-run it.
        """
        # Stored only until the task is done with the run, so a run found here was never delivered:
        # reuse it even if it succeeded meanwhile (the worker died before it could report).
        stored_id = store.get(STATE_COMPUTATION_ID)
        if isinstance(stored_id, str) and stored_id:
            try:
                computation = self.hook.get_computation(stored_id)
            except CodeOceanNotFoundError:
                computation = None
            if computation is not None and (not computation.is_terminal or computation.succeeded):
                return computation
        submit_started = store.get(STATE_SUBMIT_STARTED)
        try_number = getattr(context["ti"], "try_number", 1) or 1
        if try_number <= 1 and not isinstance(submit_started, (int, float)):
            return None
        runs = self.hook.list_computations(params.target_id, pipeline=params.is_pipeline)
        candidates = runs_of_task(runs, TaskIdentity.of(context), try_lineage(context, self.retries))
        if not candidates and isinstance(submit_started, (int, float)):
            # An earlier try died between starting the run and naming it, so it never delivered it.
            candidates = [
                c
                for c in unnamed_matches(runs, params, submit_started - self.clock_skew)
                if not c.is_terminal or c.succeeded
            ]
        if not candidates:
            self.log.info("No earlier run of this task to reattach to (try %s)", try_number)
            return None
        latest = max(candidates, key=lambda c: c.created or 0)
        if latest.is_terminal and not latest.succeeded:
            reason = rerun_reason(self.retry_on_run_failure, latest)
            if reason is not None:
                self.log.info("The previous try's run %s failed; starting a new run because %s", latest.id, reason)
                return None
        return latest

    def _submit(self, params: RunParams, store: TaskStore) -> Computation:
        """Start the run; after an ambiguous failure, find the run the failed request may have started."""
        from airflow_provider_codeocean._common.reconcile import create_once

        started = time.time()

        def submit() -> Computation:
            nonlocal started
            started = time.time()
            store.set(STATE_SUBMIT_STARTED, started)
            return self.hook.run_computation(params)

        def find() -> Computation | None:
            runs = self.hook.list_computations(params.target_id, pipeline=params.is_pipeline)
            matches = unnamed_matches(runs, params, started - self.clock_skew)
            # The earliest match is most likely ours; a second one is someone else's identical run.
            return min(matches, key=lambda c: c.created or 0) if matches else None

        computation = create_once(
            submit, find, what="the run", log=self.log, delays=self.reconcile_delays, attempts=self.submit_attempts
        )
        self.log.info("Started %s", computation.describe())
        return computation

    def _claim(self, computation: Computation, name: str, store: TaskStore) -> None:
        """Name the run deterministically and remember it, so later tries find it."""
        store.set(STATE_COMPUTATION_ID, computation.id)
        store.delete(STATE_SUBMIT_STARTED)
        if computation.name == name:
            return
        try:
            self.hook.rename_computation(computation.id, name)
        except CodeOceanError as exc:
            # The run is going; failing now would make a retry start a second one.
            self.log.warning("Could not name computation %s %r: %s", computation.id, name, exc)

    def _wait(self, computation_id: str) -> Computation:
        """Poll on the worker, under the one poll policy (``_common.polling``) every wait follows."""
        last_state: list[str] = []

        def log_change(computation: Computation) -> None:
            if [str(computation.state)] != last_state:
                last_state[:] = [str(computation.state)]
                self.log.info("%s", computation.describe())

        try:
            return self.hook.wait_for_computation(
                computation_id, poll_interval=self.poll_interval, timeout=self.timeout, on_poll=log_change
            )
        except TimeoutError:
            self._give_up(computation_id, "wait")

    def _finish(self, computation: Computation, store: TaskStore) -> Any:
        # The task is done with this run: a later try (a clear) must start a new one, not reuse it.
        store.delete(STATE_COMPUTATION_ID)
        if computation.succeeded:
            self.log.info("%s succeeded", computation.describe())
            return computation.to_dict()
        message = with_output_tail(failed_run_message(self.hook, computation), self.hook, computation.id, self.log)
        raise run_failed_error(message, computation, self.retry_on_run_failure)

    def _give_up(self, computation_id: str, deadline: str) -> NoReturn:
        what = "execution_timeout" if deadline == "execution" else f"timeout of {self.timeout} s"
        message = f"Code Ocean computation {computation_id} did not finish within the task's {what}"
        if self.cancel_on_timeout:
            self._stop(computation_id, f"the task's {what} passed")
            message += (
                "; the run was deleted with its results (Code Ocean's only way to stop a run is to delete it; "
                "cancel_on_timeout=False keeps it)"
            )
        else:
            message += "; the run was left going (cancel_on_timeout=False), and a retry reattaches to it"
        raise CodeOceanWaitTimeoutError(message, deadline=deadline)

    def _stop(self, computation_id: str, reason: str) -> None:
        """Best effort: DELETE is the API's only stop, and it deletes the run too."""
        self.log.warning(
            "Deleting Code Ocean computation %s with its results (%s): Code Ocean's only way to stop a run "
            "is to delete it",
            computation_id,
            reason,
        )
        try:
            self.hook.delete_computation(computation_id)
        except CodeOceanNotFoundError:
            self.log.info("Computation %s was already gone", computation_id)
        except Exception as exc:
            self.log.warning("Could not stop computation %s: %s", computation_id, exc)


class CodeOceanRunPipelineOperator(CodeOceanRunCapsuleOperator):
    """Run a Code Ocean pipeline: :class:`CodeOceanRunCapsuleOperator` with ``pipeline_id`` required.

    :param pipeline_id: the pipeline to run.
    """

    def __init__(self, *, pipeline_id: str, **kwargs: Any) -> None:
        if "capsule_id" in kwargs:
            raise TypeError("CodeOceanRunPipelineOperator takes pipeline_id, not capsule_id")
        super().__init__(pipeline_id=pipeline_id, **kwargs)
