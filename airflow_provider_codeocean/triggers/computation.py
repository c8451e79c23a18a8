"""CodeOceanComputationTrigger: wait in the triggerer until a Code Ocean computation finishes."""

from __future__ import annotations

import logging
from typing import Any

from airflow_provider_codeocean._common.deferral import COMPUTATION_EVENTS
from airflow_provider_codeocean._common.polling import DEFAULT_TRANSIENT_GRACE
from airflow_provider_codeocean.errors import CodeOceanNotFoundError
from airflow_provider_codeocean.triggers.base import CodeOceanPollTrigger
from airflow_provider_codeocean.triggers.poller import COMPUTATION
from airflow_provider_codeocean.triggers.subscription import Group

log = logging.getLogger(__name__)

#: Every status the trigger can fire; ``execute_complete`` rejects anything else.
EVENT_STATUSES = COMPUTATION_EVENTS.statuses


class CodeOceanComputationTrigger(CodeOceanPollTrigger):
    """Poll ``GET computations/{id}`` until the run finishes, a deadline passes, or the API fails for good.

    Fires exactly one event, a dict with ``status``, ``computation_id``, ``message`` and, when known,
    ``computation`` (the run's JSON):

    * ``success``: completed, end status succeeded, exit code 0 or absent (the only success);
    * ``failed``: finished any other way except stopped (includes a non-zero exit code);
    * ``stopped``: the run was stopped;
    * ``timeout`` with ``deadline``: ``execution`` (the task's ``execution_timeout``) or ``wait``
      (the operator's ``timeout``);
    * ``error`` with ``error_type`` (and ``status_code``, ``method``, ``path`` for an HTTP error): a
      permanent API error such as 404, or transient errors (429, 5xx, lost connections) that lasted
      longer than ``transient_grace`` seconds.

    Every kwarg is a JSON primitive; the token is never among them (the trigger looks the connection up).
    All triggers of one connection share one poller (:mod:`.poller`), so one triggerer holds thousands.

    :param conn_id: the Code Ocean connection id.
    :param computation_id: the run to wait for.
    :param poll_interval: seconds between polls (the first one is spread over the interval).
    :param end_time: epoch seconds after which a ``timeout`` event with ``deadline="wait"`` fires.
    :param execution_deadline: epoch seconds after which a ``timeout`` event with
        ``deadline="execution"`` fires.
    :param transient_grace: how many seconds transient API errors are tolerated before an ``error``.
    :param capsule_id: the capsule or pipeline the run belongs to, when known: waits on runs of one
        capsule may then share one ``GET capsules/{id}/computations`` per interval.
    :param pipeline: whether ``capsule_id`` is a pipeline.
    :param cancel_on_kill: on Airflow 3.3+, stop the run when a user marks the deferred task failed or
        success, or clears it. Stopping is ``DELETE computations/{id}``, which also deletes the run. Bounded
        by ``[triggerer] on_kill_timeout`` (30 s by default). Airflow before 3.3 never calls it.
    """

    id_key = COMPUTATION_EVENTS.id_key
    item_key = COMPUTATION_EVENTS.item_key
    kind = COMPUTATION
    event_item_fields = ("id", "name", "state", "end_status", "exit_code", "has_results", "run_time", "created")

    def __init__(
        self,
        conn_id: str,
        computation_id: str,
        poll_interval: float = 30.0,
        end_time: float | None = None,
        execution_deadline: float | None = None,
        transient_grace: float = DEFAULT_TRANSIENT_GRACE,
        cancel_on_kill: bool = False,
        capsule_id: str | None = None,
        pipeline: bool = False,
    ) -> None:
        super().__init__(
            conn_id,
            computation_id,
            poll_interval=poll_interval,
            end_time=end_time,
            execution_deadline=execution_deadline,
            transient_grace=transient_grace,
        )
        self.cancel_on_kill = bool(cancel_on_kill)
        self.capsule_id = capsule_id
        self.pipeline = bool(pipeline)

    @property
    def computation_id(self) -> str:
        return self.resource_id

    def _extra_kwargs(self) -> dict[str, Any]:
        return {"cancel_on_kill": self.cancel_on_kill, "capsule_id": self.capsule_id, "pipeline": self.pipeline}

    def group(self) -> Group | None:
        if not self.capsule_id:
            return None
        return Group("pipelines" if self.pipeline else "capsules", self.capsule_id)

    def terminal_event(self, item: Any) -> dict[str, Any] | None:
        if not item.is_terminal:
            return None
        if item.succeeded:
            return {"status": "success", "message": f"{item.describe()} succeeded"}
        if item.stopped:
            return {"status": "stopped", "message": f"{item.describe()} was stopped"}
        return {"status": "failed", "message": f"{item.describe()} failed"}

    async def on_kill(self) -> None:
        """Stop the run when a user kills the deferred task (Airflow 3.3+), unless an event already fired."""
        if not self.cancel_on_kill or self._fired:
            return
        log.warning(
            "The task was killed: deleting Code Ocean computation %s with its results "
            "(Code Ocean's only way to stop a run is to delete it; cancel_on_kill=False keeps it)",
            self.resource_id,
        )
        try:
            async with self._hook() as hook:
                await hook.adelete_computation(self.resource_id)
        except CodeOceanNotFoundError:
            log.info("Computation %s was already gone", self.resource_id)
