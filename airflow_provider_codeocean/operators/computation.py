"""Run a Code Ocean capsule or pipeline from a DAG, wait for it (on the worker or deferred), never twice."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow.providers.common.compat.sdk import conf

from airflow_provider_codeocean._common.deferral import COMPUTATION_EVENTS, deadlines, resume
from airflow_provider_codeocean._common.identity import MAX_NAME_LENGTH, TaskIdentity, TaskStore, run_marker
from airflow_provider_codeocean._common.inputs import RUN_ARGUMENTS, check_run_arguments, wait_seconds
from airflow_provider_codeocean._common.outcome import failed_run_message, with_output_tail
from airflow_provider_codeocean._common.xcom import push_computation_link
from airflow_provider_codeocean.errors import (
    CodeOceanError,
    CodeOceanNotFoundError,
    CodeOceanRunFailedError,
    CodeOceanServerError,
    CodeOceanTransportError,
    CodeOceanWaitTimeoutError,
)
from airflow_provider_codeocean.links import CodeOceanComputationLink
from airflow_provider_codeocean.operators.base import CodeOceanBaseOperator

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
#: The name Code Ocean gives a run nobody named ("Run 1234567").
_DEFAULT_RUN_NAME = re.compile(r"^Run \d+$")


class CodeOceanRunCapsuleOperator(CodeOceanBaseOperator):
    """Run a Code Ocean capsule or pipeline and, by default, wait until it finishes.

    The run succeeds only if its state is ``completed``, its end status ``succeeded`` and its exit code
    0 or absent; anything else fails the task with :class:`~airflow_provider_codeocean.errors.CodeOceanRunFailedError`
    carrying the state, end status, exit code, the link and the last lines of the run's ``output`` file.
    An API that stays unavailable raises :class:`~airflow_provider_codeocean.errors.CodeOceanApiError` or
    :class:`~airflow_provider_codeocean.errors.CodeOceanTransportError` instead, so a retry policy can tell
    them apart. Bad input and API answers 400/401/403/404 fail the task without Airflow retries (the raised
    error is also an ``AirflowFailException``).

    The computation id and its Code Ocean URL are pushed to XCom (keys ``codeocean_computation_id`` and
    ``codeocean_computation_url``) before waiting, so the "Code Ocean computation" link works while the task
    waits. The return value (XCom ``return_value``) is the finished computation's JSON.

    **No duplicate runs.** Each run is renamed right after it starts to a deterministic name ending in
    ``[af-<hash of dag, run, task, map index>]``. A retry first looks for that run and reattaches to it if it
    is still going (on Airflow 3.3+ the run id is also kept in ``task_state_store`` until the task is done
    with it, so a run that succeeded while the worker was dead is reused too). If submitting fails
    ambiguously (5xx, timeout, dropped connection: the run may exist), the operator looks for an unnamed run
    of the same capsule created since the submit, with the same parameters and data assets, before it
    submits again. See ``docs/computations.md``.

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
        with ``cancel_on_kill``, the run is stopped. No limit by default (``execution_timeout`` still applies).
    :param cancel_on_kill: stop the run when the task stops waiting for it without a result: it is killed
        (marked failed or success, cleared, SIGTERM), or ``timeout`` or ``execution_timeout`` passes. Code
        Ocean's only way to stop a run is ``DELETE computations/{id}``, which **also deletes the run and its
        results**. Set to False to leave the run going; a retry of the task then reattaches to it.
    :param check_capture: the task (or its task_id) that captures this run's results as a data asset: its
        name, mount, tags and custom metadata are rendered and checked before the run starts; values pulled
        from XCom are not (see ``docs/computations.md``).
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
        self._computation_id: str | None = None
        check_run_arguments({f: getattr(self, f) for f in RUN_ARGUMENTS})

    # Execution

    def _execute(self, context: Context) -> Any:
        params = self._run_params(context)
        name = self._run_name(context)
        store = TaskStore(context)
        computation = self._find_previous_run(params, name, context, store)
        if computation is None:
            computation = self._submit(params, store)
        else:
            self.log.info("Reattaching to %s instead of starting a new run", computation.describe())
        self._claim(computation, name, store)
        self._computation_id = computation.id

        url = push_computation_link(context, self.hook, computation.id)
        self.log.info("Code Ocean computation %s (%s): %s", computation.id, name, url)

        if not self.wait_for_completion:
            if self.deferrable:
                self.log.warning("deferrable has no effect with wait_for_completion=False")
            store.delete(STATE_COMPUTATION_ID)
            return computation.to_dict()
        if computation.is_terminal:
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
        """Resume after the trigger fired. Runs in a fresh process: everything comes from the event."""
        from airflow_provider_codeocean.models import Computation

        def finish(event: dict[str, Any], raw: dict[str, Any]) -> Any:
            self._computation_id = event["computation_id"]
            return self._finish(Computation.from_json(raw), TaskStore(context))

        return resume(event, COMPUTATION_EVENTS, finish, self._timed_out)

    def _timed_out(self, event: dict[str, Any]) -> NoReturn:
        self._computation_id = event["computation_id"]
        self._give_up(self._computation_id, str(event.get("deadline") or "wait"))

    def on_kill(self) -> None:
        """Stop the run when the worker task is killed (SIGTERM, execution_timeout), if ``cancel_on_kill``."""
        if self.cancel_on_kill and self._computation_id:
            self._stop(self._computation_id, "the task was killed")

    # Steps

    def _run_params(self, context: Context) -> RunParams:
        """The checked request: its arguments, then (with GETs only) the target, App Panel and capture task."""
        from airflow_provider_codeocean._common import preflight
        from airflow_provider_codeocean.models import RunParams

        if self.name is not None and not isinstance(self.name, str):
            raise self._config_error(f"name must be a string, got {self.name!r}")
        params = RunParams.build(
            capsule_id=self.capsule_id,
            pipeline_id=self.pipeline_id,
            version=self.version,
            resume_run_id=self.resume_run_id,
            nextflow_profile=self.nextflow_profile,
            data_assets=self.data_assets,
            parameters=self.parameters,
            named_parameters=self.named_parameters,
            processes=self.processes,
        )
        preflight.check_before_run(self, params, context)
        return params

    @staticmethod
    def _config_error(message: str) -> CodeOceanError:
        from airflow_provider_codeocean.errors import CodeOceanConfigError

        return CodeOceanConfigError(message)

    def _run_name(self, context: Context) -> str:
        return TaskIdentity.of(context).run_name(self.name or None)

    def _find_previous_run(
        self, params: RunParams, name: str, context: Context, store: TaskStore
    ) -> Computation | None:
        """The run an earlier try of this task instance started, if it is still going or succeeded."""
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
        marker = f"[{TaskIdentity.of(context).run_marker}]"
        # By name only runs still going: a finished one may be a result the task already delivered, and
        # a cleared task must run again.
        candidates = [c for c in runs if c.name.endswith(marker) and not c.is_terminal]
        if not candidates and isinstance(submit_started, (int, float)):
            # An earlier try died between starting the run and naming it, so it never delivered it.
            candidates = [
                c for c in self._unnamed_matches(runs, params, submit_started) if not c.is_terminal or c.succeeded
            ]
        if not candidates:
            self.log.info("No earlier run of this task to reattach to (try %s)", try_number)
            return None
        return max(candidates, key=lambda c: c.created or 0)

    def _submit(self, params: RunParams, store: TaskStore) -> Computation:
        """Start the run; after an ambiguous failure, find the run the failed request may have started."""
        for attempt in range(1, self.submit_attempts + 1):
            started = time.time()
            store.set(STATE_SUBMIT_STARTED, started)
            try:
                computation = self.hook.run_computation(params)
            except (CodeOceanServerError, CodeOceanTransportError) as exc:
                self.log.warning(
                    "Starting the run failed ambiguously (attempt %d of %d), it may exist anyway: %s",
                    attempt,
                    self.submit_attempts,
                    exc,
                )
                found = self._reconcile(params, started)
                if found is not None:
                    self.log.info("Found the run the failed request started: %s", found.describe())
                    return found
                if attempt == self.submit_attempts:
                    raise
                continue
            self.log.info("Started %s", computation.describe())
            return computation
        raise AssertionError("unreachable")  # pragma: no cover

    def _reconcile(self, params: RunParams, since: float) -> Computation | None:
        for delay in self.reconcile_delays:
            if delay:
                time.sleep(delay)
            try:
                runs = self.hook.list_computations(params.target_id, pipeline=params.is_pipeline)
            except CodeOceanError as exc:
                if not exc.transient:
                    raise
                self.log.warning("Listing runs to find the new one failed: %s", exc)
                continue
            matches = self._unnamed_matches(runs, params, since)
            if matches:
                # The earliest match is most likely ours; a second one is someone else's identical run.
                return min(matches, key=lambda c: c.created or 0)
        return None

    def _unnamed_matches(self, runs: list[Computation], params: RunParams, since: float) -> list[Computation]:
        earliest = since - self.clock_skew
        return [
            c
            for c in runs
            if _DEFAULT_RUN_NAME.match(c.name or "")
            and c.created is not None
            and c.created >= earliest
            and _same_request(c, params)
        ]

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
        raise CodeOceanRunFailedError(message, computation=computation.to_dict())

    def _give_up(self, computation_id: str, deadline: str) -> NoReturn:
        what = "execution_timeout" if deadline == "execution" else f"timeout of {self.timeout} s"
        message = f"Code Ocean computation {computation_id} did not finish within the task's {what}"
        if self.cancel_on_kill:
            self._stop(computation_id, f"the task's {what} passed")
            message += "; the run was stopped"
        raise CodeOceanWaitTimeoutError(message, deadline=deadline)

    def _stop(self, computation_id: str, reason: str) -> None:
        """Best effort: DELETE is the API's only stop, and it deletes the run too."""
        self.log.info("Stopping Code Ocean computation %s: %s", computation_id, reason)
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


def _same_request(computation: Computation, params: RunParams) -> bool:
    """Whether a listed run could come from this request. Fields the list leaves out are not compared."""
    raw = computation.raw
    wanted_assets = {d.id for d in params.data_assets}
    if "data_assets" in raw and not wanted_assets <= set(computation.data_asset_ids):
        return False
    if "parameters" in raw:
        sent = list(params.parameters or []) + [p.value for p in params.named_parameters or []]
        reported = Counter(p.value for p in computation.parameters if p.value is not None)
        if Counter(sent) - reported:
            return False
    return True
