"""The waiting loop shared by the computation and data asset triggers.

The polling itself belongs to the connection's shared poller (:mod:`.poller`): a trigger registers
its wait, reads each outcome, and decides what it means: a terminal state, one of its own deadlines,
or an error (transient API failures are tolerated for ``transient_grace`` seconds). Kwargs are JSON
primitives; never the token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_codeocean._common.polling import DEFAULT_TRANSIENT_GRACE, PollPolicy
from airflow_provider_codeocean.errors import (
    CodeOceanConfigError,
    CodeOceanConnectionLookupError,
    CodeOceanError,
    error_details,
)
from airflow_provider_codeocean.triggers.subscription import Group, Outcome, Subscription, subscription

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_TRANSIENT_GRACE", "FINAL_LOOK_TIMEOUT", "CodeOceanPollTrigger"]

#: Seconds a trigger waits for its last look at the item once a deadline passed.
FINAL_LOOK_TIMEOUT = 30.0
#: Seconds between "still running" lines in the task log while the task is deferred.
PROGRESS_LOG_INTERVAL = 300.0


class CodeOceanPollTrigger(BaseTrigger):  # type: ignore[misc]  # Airflow is not type-followed
    """Poll one Code Ocean item until it is terminal or a deadline passes, then fire one event.

    Events are dicts with ``status`` (``success``, ``failed``, ``stopped``, ``timeout`` or ``error``),
    the item's id under ``id_key``, the item's JSON under ``item_key`` when known, and ``message``.
    A ``timeout`` event has ``deadline``: ``execution`` (the task's execution_timeout, after which the
    operator cancels the work) or ``wait`` (the operator's own ``timeout``).
    """

    id_key: ClassVar[str] = "id"
    item_key: ClassVar[str] = "item"
    #: The item's fields the event carries (None: all). Airflow logs the whole event when it fires, so
    #: it carries what the operator needs and nothing about people.
    event_item_fields: ClassVar[tuple[str, ...] | None] = None
    progress_log_interval: ClassVar[float] = PROGRESS_LOG_INTERVAL

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
        self._last_state: str | None = None

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

    # Subclasses say what is polled and what a terminal state means.

    kind: ClassVar[str]

    def poll_key(self) -> str:
        """What the poller fetches for this wait (the item's id, unless the kind needs more to find it)."""
        return self.resource_id

    def group(self) -> Group | None:
        """The capsule or pipeline whose list of computations may serve this wait, when known."""
        return None

    def terminal_event(self, item: Any) -> dict[str, Any] | None:
        raise NotImplementedError

    def _hook(self) -> Any:
        from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

        return CodeOceanHook(self.conn_id)

    def _event(self, status: str, message: str, item: Any = None, **extra: Any) -> TriggerEvent:
        payload: dict[str, Any] = {"status": status, self.id_key: self.resource_id, "message": message, **extra}
        if item is not None:
            data = item.to_dict()
            if self.event_item_fields is not None:
                data = {key: data[key] for key in self.event_item_fields if key in data}
            payload[self.item_key] = data
        self._fired = True
        return TriggerEvent(payload)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Leave the poller before yielding: the event is final, and the wait must not outlive it.
        with subscription(
            self.conn_id, self.kind, self.poll_key(), self.poll_interval, self.group(), matters=self._is_news
        ) as wait:
            event = await self._wait(wait)
        yield event

    def _is_news(self, item: Any) -> bool:
        # A state change is news too (it goes to the task log); it happens a few times per run.
        return self.terminal_event(item) is not None or _state(item) != self._last_state

    async def _wait(self, wait: Subscription) -> TriggerEvent:
        self._start_policy()
        self._since = time.time()
        self._next_progress = self._since + self.progress_log_interval
        log.info("Waiting for Code Ocean %s %s (checked every %g s)", self._noun, self.resource_id, self.poll_interval)
        while True:
            until_deadline = self._policy.until_deadline(time.time())
            until_progress = max(0.0, self._next_progress - time.time())
            outcome = await wait.next(
                timeout=until_progress if until_deadline is None else min(until_deadline, until_progress)
            )
            if outcome is None and self._policy.deadline_passed(time.time()) is None:
                self._log_progress(wait.last_ok)
                continue
            if outcome is None:
                # A deadline passed between polls: one last look, so a run that finished meanwhile
                # is reported as finished rather than timed out (and never cancelled).
                wait.poll_now()
                outcome = await wait.next(timeout=FINAL_LOOK_TIMEOUT, any_outcome=True)
            if outcome is not None and outcome.error is None:
                self._note_state(outcome.item)
            # Judged in a call of its own: the polled item is not kept alive while the wait goes on
            # (10,000 waits would hold 10,000 items between polls).
            event = self._judge(outcome, wait.last_ok)
            del outcome
            if event is not None:
                return event

    def _start_policy(self) -> None:
        """The deadlines and transient grace :meth:`_judge` applies, counted from now."""
        self._policy = PollPolicy(
            self.poll_interval,
            end_time=self.end_time,
            execution_deadline=self.execution_deadline,
            transient_grace=self.transient_grace,
        )

    @property
    def _noun(self) -> str:
        return self.kind.replace("_", " ")

    def _note_state(self, item: Any) -> None:
        state = _state(item)
        if state == self._last_state:
            return
        created = getattr(item, "created", None)
        if self._last_state is None and isinstance(created, (int, float)) and 0 < created <= time.time():
            self._since = float(created)
        self._last_state = state
        log.info("Code Ocean %s", item.describe())

    def _log_progress(self, last_ok: float | None) -> None:
        now = time.time()
        self._next_progress = now + self.progress_log_interval
        state = self._last_state or "not seen yet"
        text = f"Code Ocean {self._noun} {self.resource_id} still {state} after {_duration(now - self._since)}"
        failing_since = self._policy.failing_since
        if failing_since is not None and (last_ok is None or last_ok < failing_since):
            text += f"; Code Ocean has not answered for {_duration(now - failing_since)}"
        log.info("%s", text)

    def _judge(self, outcome: Outcome | None, last_ok: float | None) -> TriggerEvent | None:
        """The event this outcome (None: no answer before the deadline) calls for, or None to go on.

        ``last_ok`` is when a poll last answered: polls that found the item still going are not
        delivered, so it is what ends a run of transient errors.
        """
        policy, now = self._policy, time.time()
        if outcome is None or outcome.error is None:
            policy.answered()
            if outcome is not None:
                event = self.terminal_event(outcome.item)
                if event is not None:
                    return self._event(item=outcome.item, **event)
            return self._deadline_event(now)
        exc = outcome.error
        if not exc.transient:
            return self._event("error", _describe(self.conn_id, exc), **error_details(exc))
        if not policy.tolerates(exc, now, last_ok):
            return self._event(
                "error",
                f"Code Ocean API unavailable for {policy.failing_for(now):.0f} s: {exc}",
                **error_details(exc),
            )
        log.warning("Polling %s %s failed, will retry: %s", self.id_key, self.resource_id, exc)
        return self._deadline_event(now)

    def _deadline_event(self, now: float) -> TriggerEvent | None:
        deadline = self._policy.deadline_passed(now)
        if deadline == "execution":
            return self._event("timeout", "the task's execution_timeout passed", deadline="execution")
        if deadline == "wait":
            return self._event("timeout", "the wait timeout passed", deadline="wait")
        return None


def _state(item: Any) -> str | None:
    state = getattr(item, "state", None)
    return None if state is None else str(state)


def _duration(seconds: float) -> str:
    """``2 h 13 min``, ``4 min``, ``35 s``."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    if hours:
        return f"{hours} h {rest // 60} min"
    return f"{rest // 60} min" if rest >= 60 else f"{rest} s"


def _describe(conn_id: str, exc: CodeOceanError) -> str:
    if isinstance(exc, (CodeOceanConfigError, CodeOceanConnectionLookupError)):
        return f"Code Ocean connection {conn_id!r}: {exc}"
    return f"Code Ocean API error: {exc}"
