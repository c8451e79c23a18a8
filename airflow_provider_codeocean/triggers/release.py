"""CodeOceanReleaseTrigger: wait in the triggerer until a Code Ocean release job is completed, failed or canceled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_codeocean.errors import CodeOceanError, error_details
from airflow_provider_codeocean.triggers.base import DEFAULT_TRANSIENT_GRACE, CodeOceanPollTrigger
from airflow_provider_codeocean.triggers.poller import Outcome

#: Every status the trigger can fire; ``execute_complete`` rejects anything else.
EVENT_STATUSES = frozenset({"success", "failed", "canceled", "timeout", "error"})
RELEASE_JOB = "release_job"


class CodeOceanReleaseTrigger(CodeOceanPollTrigger):
    """Poll ``GET capsules/{id}/release/{job_id}`` (or ``pipelines/…``) until the job ends or a deadline passes.

    Fires exactly one event, a dict with ``status``, ``job_id``, ``message`` and, when known,
    ``release_job`` (the job's JSON):

    * ``success``: the job completed; ``release_job`` names the released version;
    * ``failed`` / ``canceled``: the job ended so; ``message`` carries the server's ``error``;
    * ``timeout`` with ``deadline``: ``execution`` (the task's ``execution_timeout``) or ``wait``
      (the operator's ``timeout``); the release itself goes on (the API cannot cancel it);
    * ``error`` with ``error_type``: a permanent API error such as 404, or transient errors that lasted
      longer than ``transient_grace`` seconds.

    Unlike the computation and data asset triggers it polls on its own rather than through the shared
    poller (:mod:`.poller`), which knows only those two kinds of item: a DAG releases a handful of
    versions, not thousands, so one request per job per interval costs nothing worth sharing. Deadlines,
    transient-error grace and events are the base class's. Every kwarg is a JSON primitive; the token is
    never among them.

    :param conn_id: the Code Ocean connection id.
    :param job_id: the release job to wait for.
    :param capsule_id: the capsule or pipeline being released.
    :param pipeline: whether ``capsule_id`` is a pipeline.
    :param poll_interval: seconds between polls.
    :param end_time: epoch seconds after which a ``timeout`` event with ``deadline="wait"`` fires.
    :param execution_deadline: epoch seconds after which a ``timeout`` event with ``deadline="execution"`` fires.
    :param transient_grace: how many seconds transient API errors are tolerated before an ``error``.
    """

    id_key = "job_id"
    item_key = RELEASE_JOB
    kind = RELEASE_JOB

    def __init__(
        self,
        conn_id: str,
        job_id: str,
        capsule_id: str,
        pipeline: bool = False,
        poll_interval: float = 30.0,
        end_time: float | None = None,
        execution_deadline: float | None = None,
        transient_grace: float = DEFAULT_TRANSIENT_GRACE,
    ) -> None:
        # The base class keeps the job id as resource_id and checks the interval.
        super().__init__(conn_id, job_id, poll_interval, end_time, execution_deadline, transient_grace)
        self.capsule_id, self.pipeline = capsule_id, bool(pipeline)

    def _extra_kwargs(self) -> dict[str, Any]:
        # The job is polled under its capsule's path, so the trigger must be rebuilt with it.
        return {"capsule_id": self.capsule_id, "pipeline": self.pipeline}

    def terminal_event(self, item: Any) -> dict[str, Any] | None:
        if not item.is_terminal:
            return None
        if item.succeeded:
            return {"status": "success", "message": f"{item.describe()} completed"}
        status = "canceled" if str(item.status) == "canceled" else "failed"
        return {"status": status, "message": f"{item.describe()}: {item.error or 'no reason given'}"}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        self._start_policy()
        try:
            async with self._hook() as hook:
                event = await self._poll_until_event(hook)
        except CodeOceanError as exc:
            event = self._event("error", f"Code Ocean connection {self.conn_id!r}: {exc}", **error_details(exc))
        except Exception as exc:  # the connection lookup: a missing connection or a secrets backend failure
            event = self._event(
                "error", f"Code Ocean connection {self.conn_id!r} could not be used: {type(exc).__name__}: {exc}"
            )
        yield event

    async def _poll_until_event(self, hook: Any) -> TriggerEvent:
        last_ok: float | None = None
        while True:
            try:
                outcome = Outcome(
                    item=await hook.aget_release_job(self.capsule_id, self.resource_id, pipeline=self.pipeline)
                )
                last_ok = time.time()
            except CodeOceanError as exc:
                outcome = Outcome(error=exc)
            event = self._judge(outcome, last_ok)
            if event is not None:
                return event
            until = self._policy.until_deadline(time.time())
            # Wake at the deadline to take the last look there (a job that completed meanwhile wins).
            await asyncio.sleep(self.poll_interval if until is None else min(self.poll_interval, until))
