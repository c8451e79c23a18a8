"""CodeOceanReleaseTrigger: wait in the triggerer until a Code Ocean release job is completed, failed or canceled."""

from __future__ import annotations

from typing import Any

from airflow_provider_codeocean.triggers.base import DEFAULT_TRANSIENT_GRACE, CodeOceanPollTrigger
from airflow_provider_codeocean.triggers.poll_kinds import RELEASE_JOB, release_key

#: Every status the trigger can fire; ``execute_complete`` rejects anything else.
EVENT_STATUSES = frozenset({"success", "failed", "canceled", "timeout", "error"})


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

    It polls through the connection's shared poller (:mod:`.poller`), as every Code Ocean wait does: one
    connection lookup, bounded requests in flight, and the connection's pause after a 429 or 503.
    Deadlines, transient-error grace and events are the base class's. Every kwarg is a JSON primitive;
    the token is never among them.

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

    def poll_key(self) -> str:
        return release_key(self.capsule_id, self.resource_id, self.pipeline)

    def terminal_event(self, item: Any) -> dict[str, Any] | None:
        if not item.is_terminal:
            return None
        if item.succeeded:
            return {"status": "success", "message": f"{item.describe()} completed"}
        status = "canceled" if str(item.status) == "canceled" else "failed"
        return {"status": status, "message": f"{item.describe()}: {item.error or 'no reason given'}"}
