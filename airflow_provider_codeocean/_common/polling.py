"""One poll policy for every wait: the hook's, the operators' on a worker, the sensors' and the triggers'.

The policy is sans-I/O: it is told what happened and when, and says whether to go on, how long to
sleep, and which deadline passed. The rule it encodes (``docs/deferrable.md``, "What tolerates what"):

* a **transient** error (``exc.transient``: 429, 5xx, a lost connection, a failed connection lookup)
  is tolerated until errors have lasted ``transient_grace`` seconds without an answer in between;
* a **permanent** error (400/401/403/404, bad configuration) ends the wait at once;
* deadlines are checked after every poll, answered or not; ``execution`` (the task's
  ``execution_timeout``) wins over ``wait`` (the operator's ``timeout``) when both have passed.

Clocks are the caller's: the triggers compare epoch deadlines that survive a deferral, the hook a
monotonic clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from airflow_provider_codeocean.errors import CodeOceanError

log = logging.getLogger(__name__)

#: Seconds transient API errors are tolerated, in a row, before a wait gives up.
DEFAULT_TRANSIENT_GRACE = 600.0

T = TypeVar("T")


class PollPolicy:
    """Deadlines, transient grace and schedule of one wait."""

    __slots__ = ("end_time", "execution_deadline", "failing_since", "interval", "timeout", "transient_grace")

    def __init__(
        self,
        interval: float,
        *,
        end_time: float | None = None,
        execution_deadline: float | None = None,
        transient_grace: float = DEFAULT_TRANSIENT_GRACE,
        timeout: float | None = None,
    ) -> None:
        self.interval = interval
        self.end_time = end_time
        self.execution_deadline = execution_deadline
        self.transient_grace = transient_grace
        #: The wait's own timeout in seconds, for messages only (``end_time`` is what is enforced).
        self.timeout = timeout
        self.failing_since: float | None = None

    @classmethod
    def starting(
        cls, now: float, interval: float, timeout: float | None, transient_grace: float = DEFAULT_TRANSIENT_GRACE
    ) -> PollPolicy:
        """A wait that starts at ``now`` and may last ``timeout`` seconds (None: no limit)."""
        end_time = None if timeout is None else now + timeout
        return cls(interval, end_time=end_time, transient_grace=transient_grace, timeout=timeout)

    def answered(self) -> None:
        """A poll answered: any run of transient errors is over."""
        self.failing_since = None

    def tolerates(self, exc: CodeOceanError, now: float, last_ok: float | None = None) -> bool:
        """Whether the wait goes on after ``exc``.

        ``last_ok`` is when a poll last answered, for callers that do not see every answer (the shared
        poller delivers only news): an answer since the errors began starts their count again.
        """
        if not exc.transient:
            return False
        if self.failing_since is None or (last_ok is not None and last_ok > self.failing_since):
            self.failing_since = now
        return now - self.failing_since < self.transient_grace

    def failing_for(self, now: float) -> float:
        return 0.0 if self.failing_since is None else now - self.failing_since

    def deadline_passed(self, now: float) -> str | None:
        """``"execution"`` or ``"wait"`` once that deadline has passed, else None."""
        if self.execution_deadline is not None and now >= self.execution_deadline:
            return "execution"
        if self.end_time is not None and now >= self.end_time:
            return "wait"
        return None

    def until_deadline(self, now: float) -> float | None:
        deadlines = [d for d in (self.execution_deadline, self.end_time) if d is not None]
        return None if not deadlines else max(0.0, min(deadlines) - now)

    def sleep(self, now: float) -> float:
        """Seconds until the next poll: one interval, cut short by a deadline."""
        left = self.until_deadline(now)
        return self.interval if left is None else min(self.interval, left)


def wait_sync(
    get: Callable[[], T],
    policy: PollPolicy,
    what: str,
    on_poll: Callable[[T], None] | None = None,
) -> T:
    """Call ``get`` until its item ``is_terminal``; TimeoutError once a deadline passes.

    Errors the policy does not tolerate propagate unchanged. The clock is ``time.monotonic``.
    """
    last: Any = None
    while True:
        try:
            item = get()
        except CodeOceanError as exc:
            if not policy.tolerates(exc, time.monotonic()):
                raise
            log.warning("Checking %s failed, will retry: %s", what, exc)
        else:
            policy.answered()
            last = item
            if on_poll is not None:
                on_poll(item)
            if getattr(item, "is_terminal", False):
                return item
        now = time.monotonic()
        if policy.deadline_passed(now) is not None:
            subject = last.describe() if last is not None else what
            raise TimeoutError(f"{subject} did not finish within {policy.timeout} seconds")
        time.sleep(policy.sleep(now))
