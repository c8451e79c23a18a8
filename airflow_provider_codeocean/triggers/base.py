"""The polling loop shared by the computation and data asset triggers.

Design for thousands of waits in one triggerer: every trigger of a connection shares one httpx client
(``async with hook``), the connection is looked up asynchronously once per run, polls are spread with
jitter, and a transient API failure (429, 5xx, lost connection) is tolerated for ``transient_grace``
seconds instead of failing the task on one blip. Kwargs are JSON primitives; never the token.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_codeocean.errors import CodeOceanError, error_details

log = logging.getLogger(__name__)

DEFAULT_TRANSIENT_GRACE = 600.0
JITTER = 0.1


class CodeOceanPollTrigger(BaseTrigger):  # type: ignore[misc]  # Airflow is not type-followed
    """Poll one Code Ocean item until it is terminal or a deadline passes, then fire one event.

    Events are dicts with ``status`` (``success``, ``failed``, ``stopped``, ``timeout`` or ``error``),
    the item's id under ``id_key``, the item's JSON under ``item_key`` when known, and ``message``.
    A ``timeout`` event has ``deadline``: ``execution`` (the task's execution_timeout, after which the
    operator cancels the work) or ``wait`` (the operator's own ``timeout``).
    """

    id_key: ClassVar[str] = "id"
    item_key: ClassVar[str] = "item"

    def __init__(
        self,
        conn_id: str,
        resource_id: str,
        poll_interval: float = 30.0,
        end_time: float | None = None,
        execution_deadline: float | None = None,
        transient_grace: float = DEFAULT_TRANSIENT_GRACE,
    ) -> None:
        super().__init__()
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be more than 0 seconds, got {poll_interval}")
        self.conn_id = conn_id
        self.resource_id = resource_id
        self.poll_interval = float(poll_interval)
        self.end_time = end_time
        self.execution_deadline = execution_deadline
        self.transient_grace = float(transient_grace)
        self._fired = False

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                self.id_key: self.resource_id,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "execution_deadline": self.execution_deadline,
                "transient_grace": self.transient_grace,
                **self._extra_kwargs(),
            },
        )

    def _extra_kwargs(self) -> dict[str, Any]:
        return {}

    # Subclasses say how to fetch the item and what a terminal state means.

    async def fetch(self, hook: Any) -> Any:
        raise NotImplementedError

    def terminal_event(self, item: Any) -> dict[str, Any] | None:
        raise NotImplementedError

    def _hook(self) -> Any:
        from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

        return CodeOceanHook(self.conn_id)

    def _event(self, status: str, message: str, item: Any = None, **extra: Any) -> TriggerEvent:
        payload: dict[str, Any] = {"status": status, self.id_key: self.resource_id, "message": message, **extra}
        if item is not None:
            payload[self.item_key] = item.to_dict()
        self._fired = True
        return TriggerEvent(payload)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        failing_since: float | None = None
        try:
            async with self._hook() as hook:
                while True:
                    try:
                        item = await self.fetch(hook)
                    except CodeOceanError as exc:
                        if not getattr(exc, "transient", False):
                            yield self._event("error", f"Code Ocean API error: {exc}", **error_details(exc))
                            return
                        now = time.time()
                        failing_since = failing_since or now
                        if now - failing_since >= self.transient_grace:
                            yield self._event(
                                "error",
                                f"Code Ocean API unavailable for {now - failing_since:.0f} s: {exc}",
                                **error_details(exc),
                            )
                            return
                        log.warning("Polling %s %s failed, will retry: %s", self.id_key, self.resource_id, exc)
                    else:
                        failing_since = None
                        event = self.terminal_event(item)
                        if event is not None:
                            yield self._event(item=item, **event)
                            return
                    deadline_event = self._deadline_event()
                    if deadline_event is not None:
                        yield deadline_event
                        return
                    await asyncio.sleep(self._next_sleep())
        except CodeOceanError as exc:
            # The connection itself could not be resolved or is invalid.
            yield self._event("error", f"Code Ocean connection {self.conn_id!r}: {exc}", **error_details(exc))

    def _deadline_event(self) -> TriggerEvent | None:
        now = time.time()
        if self.execution_deadline is not None and now >= self.execution_deadline:
            return self._event("timeout", "the task's execution_timeout passed", deadline="execution")
        if self.end_time is not None and now >= self.end_time:
            return self._event("timeout", "the wait timeout passed", deadline="wait")
        return None

    def _next_sleep(self) -> float:
        # Jitter spreads thousands of triggers that deferred together over the interval.
        sleep = self.poll_interval * random.uniform(1 - JITTER, 1 + JITTER)
        deadlines = [d for d in (self.execution_deadline, self.end_time) if d is not None]
        if deadlines:
            sleep = min(sleep, max(0.0, min(deadlines) - time.time()))
        return sleep
