"""Release a new version of a capsule or pipeline from a DAG, wait for it, and hand its number on."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow.providers.common.compat.sdk import conf

from airflow_provider_codeocean import errors
from airflow_provider_codeocean._common.deferral import EventSpec, deadlines, resume
from airflow_provider_codeocean._common.identity import TaskStore
from airflow_provider_codeocean._common.inputs import optional_seconds, positive_seconds
from airflow_provider_codeocean.errors import CodeOceanError, CodeOceanReleaseFailedError, CodeOceanWaitTimeoutError
from airflow_provider_codeocean.operators.capsule import CodeOceanCapsuleChangeOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_codeocean.models import CapsuleReleaseJob, ReleaseVersion

#: task_state_store keys (Airflow 3.3+): the job this task instance started, and the versions that
#: existed before its release request (to recognise the new one after an ambiguous answer).
STATE_RELEASE_JOB = "codeocean_release_job_id"
STATE_RELEASE_REQUESTED = "codeocean_release_requested"
RELEASE_JOB_ID_KEY = "codeocean_release_job_id"
#: What the release trigger's events carry (the trigger module is imported only when deferring).
RELEASE_EVENTS = EventSpec(
    "job_id", "release_job", "release job", frozenset({"success", "failed", "canceled", "timeout", "error"})
)
#: ``[operators] default_deferrable``, read once at import like every operator's default.
DEFAULT_DEFERRABLE = conf.getboolean("operators", "default_deferrable", fallback=False)


class CodeOceanReleaseOperator(CodeOceanCapsuleChangeOperator):
    """Release a new version of a capsule or pipeline and, by default, wait until the release job ends.

    Returns (XCom ``return_value``) ``{"capsule_id", "version", "minor_version", "release_time", "job_id",
    "pipeline"}``: ``capsule_id`` and ``version`` are what the run operator takes to run exactly this
    release, e.g. ``version="{{ ti.xcom_pull(task_ids='release')['version'] }}"``. ``capsule_id`` is the
    release capsule Code Ocean names (the capsule itself when it names none).

    Only later releases can be made through the API: a capsule never released fails with the server's
    400 and how to fix it; unmet release requirements fail with
    :class:`~airflow_provider_codeocean.errors.CodeOceanReleaseValidationError` listing each one. A job
    that ends ``failed`` or ``canceled`` fails the task with
    :class:`~airflow_provider_codeocean.errors.CodeOceanReleaseFailedError` and the server's reason.

    **Never two releases.** Starting a release is not retried on its own. If the request fails
    ambiguously (5xx, timeout, lost connection: the job may exist), the API offers no way to list jobs,
    so the operator waits on the worker for a new version to appear on the capsule, for up to
    ``reconcile_timeout``, and fails rather than release again if none does. On Airflow 3.3+ the job id
    is kept in ``task_state_store``, so a retry follows the job the failed try started.

    :param capsule_id: the capsule to release (templated).
    :param pipeline_id: the pipeline to release (templated); give this or ``capsule_id``.
    :param wait_for_completion: wait for the job to end (default); if False, return once it started,
        with ``version`` None.
    :param deferrable: wait in the triggerer instead of holding a worker slot. Defaults to
        ``[operators] default_deferrable``.
    :param poll_interval: seconds between status checks (a number or timedelta above 0).
    :param timeout: how long to wait for the job (seconds or timedelta); the release goes on regardless
        (the API cannot cancel it). No limit by default (``execution_timeout`` still applies).
    :param reconcile_timeout: how long to look for the version an ambiguous release request may have
        started, before failing (seconds or timedelta; default 30 minutes).
    """

    ui_color = "#d7ecd9"
    #: Allowance for the difference between this worker's clock and Code Ocean's, in seconds.
    clock_skew: ClassVar[float] = 30.0

    def __init__(
        self,
        capsule_id: str | None = None,
        pipeline_id: str | None = None,
        *,
        wait_for_completion: bool = True,
        deferrable: bool = DEFAULT_DEFERRABLE,
        poll_interval: float | timedelta = 30.0,
        timeout: float | timedelta | None = None,
        reconcile_timeout: float | timedelta = 1800.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(capsule_id=capsule_id, pipeline_id=pipeline_id, **kwargs)
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = positive_seconds(poll_interval, "poll_interval")
        self.timeout = optional_seconds(timeout, "timeout")
        self.reconcile_timeout = positive_seconds(reconcile_timeout, "reconcile_timeout")
        self._requested: dict[str, Any] | None = None

    def _execute(self, context: Context) -> Any:
        target = self.target_id()
        store = TaskStore(context)
        job = self._previous_job(target, store)
        if job is None:
            job = self._start(target, store)
            if job is None:
                return self._reconciled(target, store)
        else:
            self.log.info("Following %s, started by an earlier try, instead of releasing again", job.describe())
        context["ti"].xcom_push(key=RELEASE_JOB_ID_KEY, value=job.job_id)
        if not self.wait_for_completion:
            store.delete(STATE_RELEASE_JOB)
            return self._result(target, job.release_capsule, job.release_version, job.job_id)
        if not job.is_terminal and not self.deferrable:
            job = self._wait(target, job.job_id)
        if job.is_terminal:
            return self._finish(target, job, store)

        from airflow_provider_codeocean.triggers.release import CodeOceanReleaseTrigger

        end_time, execution_deadline = deadlines(self.timeout, self.execution_timeout)
        self.defer(
            trigger=CodeOceanReleaseTrigger(
                conn_id=self.codeocean_conn_id,
                job_id=job.job_id,
                capsule_id=target,
                pipeline=self.is_pipeline,
                poll_interval=self.poll_interval,
                end_time=end_time,
                execution_deadline=execution_deadline,
            ),
            method_name="execute_complete",
            timeout=None,
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired. Runs in a fresh process: everything comes from the event."""
        from airflow_provider_codeocean.models import CapsuleReleaseJob

        def finish(_: dict[str, Any], raw: dict[str, Any]) -> Any:
            return self._finish(self.target_id(), CapsuleReleaseJob.from_json(raw), TaskStore(context))

        def on_timeout(checked: dict[str, Any]) -> NoReturn:
            raise self._timed_out(checked["job_id"], str(checked.get("deadline") or "wait"))

        return resume(event, RELEASE_EVENTS, finish, on_timeout)

    # Steps

    def _previous_job(self, target: str, store: TaskStore) -> CapsuleReleaseJob | None:
        job_id = store.get(STATE_RELEASE_JOB)
        if not isinstance(job_id, str) or not job_id:
            return None
        try:
            job = self.hook.get_release_job(target, job_id, pipeline=self.is_pipeline)
        except errors.CodeOceanNotFoundError:
            return None
        return job if not job.is_terminal or job.succeeded else None

    def _start(self, target: str, store: TaskStore) -> CapsuleReleaseJob | None:
        """Start the release; None if the request failed ambiguously (the job may exist)."""
        # Lists, not tuples: the task state store keeps JSON.
        before = [list(self._version_key(v)) for v in self._versions(target)]
        # Kept here for this try and in the store for a retry (Airflow 3.3+).
        self._requested = {"at": time.time(), "versions": before}
        store.set(STATE_RELEASE_REQUESTED, self._requested)
        try:
            job = self.hook.release_capsule(target, pipeline=self.is_pipeline)
        except (errors.CodeOceanServerError, errors.CodeOceanTransportError) as exc:
            self.log.warning("The release request failed ambiguously; the release may have started anyway: %s", exc)
            return None
        store.set(STATE_RELEASE_JOB, job.job_id)
        store.delete(STATE_RELEASE_REQUESTED)
        self.log.info("Started %s of %s %s", job.describe(), self.what, target)
        return job

    def _reconciled(self, target: str, store: TaskStore) -> Any:
        """Wait for the version an ambiguous request may have released to appear; never release again."""
        requested = self._requested or store.get(STATE_RELEASE_REQUESTED) or {}
        since = float(requested.get("at") or time.time()) - self.clock_skew
        known = {tuple(v) for v in requested.get("versions") or []}
        deadline = time.monotonic() + self.reconcile_timeout
        while True:
            new = [
                v
                for v in self._versions(target)
                if self._version_key(v) not in known and (v.release_time is None or v.release_time >= since)
            ]
            if new:
                version = max(new, key=lambda v: (v.major_version or 0, v.minor_version or 0))
                self.log.info("Found the version the failed request released: %s", version.label())
                store.delete(STATE_RELEASE_REQUESTED)
                return self._result(target, None, version, None)
            if time.monotonic() >= deadline:
                raise CodeOceanError(
                    f"the release request for {self.what} {target} failed ambiguously and no new version appeared "
                    f"within {self.reconcile_timeout:g} s; check the {self.what} in Code Ocean before trying again "
                    "(releasing again could make two versions)"
                )
            time.sleep(min(self.poll_interval, max(0.0, deadline - time.monotonic())))

    def _versions(self, target: str) -> list[ReleaseVersion]:
        from airflow_provider_codeocean.models import ReleaseVersion

        capsule = self.hook.get_pipeline(target) if self.is_pipeline else self.hook.get_capsule(target)
        return [ReleaseVersion.from_json(v) for v in capsule.versions]

    @staticmethod
    def _version_key(version: ReleaseVersion) -> tuple[int, int]:
        return (version.major_version or 0, version.minor_version or 0)

    def _wait(self, target: str, job_id: str) -> CapsuleReleaseJob:
        last: list[str] = []

        def log_status(job: CapsuleReleaseJob) -> None:
            if [str(job.status)] != last:
                last[:] = [str(job.status)]
                self.log.info("%s", job.describe())

        try:
            return self.hook.wait_for_release(
                target,
                job_id,
                pipeline=self.is_pipeline,
                poll_interval=self.poll_interval,
                timeout=self.timeout,
                on_poll=log_status,
            )
        except TimeoutError:
            raise self._timed_out(job_id, "wait") from None

    def _timed_out(self, job_id: str, deadline: str) -> CodeOceanWaitTimeoutError:
        what = "execution_timeout" if deadline == "execution" else f"timeout of {self.timeout} s"
        return CodeOceanWaitTimeoutError(
            f"Code Ocean release job {job_id} did not end within the task's {what}; the release goes on",
            deadline=deadline,
        )

    def _finish(self, target: str, job: CapsuleReleaseJob, store: TaskStore) -> Any:
        # The task is done with this job: a later try (a clear) must release anew, not reuse it.
        store.delete(STATE_RELEASE_JOB)
        if not job.succeeded:
            raise CodeOceanReleaseFailedError(
                f"Code Ocean {job.describe()} of {self.what} {target} ended {job.status}: "
                f"{job.error or 'the server gave no reason'}",
                release_job=job.to_dict(),
            )
        if job.release_version is None or job.release_version.major_version is None:
            raise CodeOceanError(f"Code Ocean {job.describe()} completed without naming the released version")
        self.log.info("Released %s %s as version %s", self.what, target, job.release_version.label())
        return self._result(target, job.release_capsule, job.release_version, job.job_id)

    def _result(
        self, target: str, release_capsule: str | None, version: ReleaseVersion | None, job_id: str | None
    ) -> dict[str, Any]:
        return {
            "capsule_id": release_capsule or target,
            "version": None if version is None else version.major_version,
            "minor_version": None if version is None else version.minor_version,
            "release_time": None if version is None else version.release_time,
            "job_id": job_id,
            "pipeline": self.is_pipeline,
        }
