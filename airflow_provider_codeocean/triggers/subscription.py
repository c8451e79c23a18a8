"""What a trigger sees of the shared poller (:mod:`.poller`): its subscription, and the outcomes it reads.

Kept apart from the poller's scheduling and HTTP calls so the waiting side can be read on its own.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from airflow_provider_codeocean.api import endpoints
    from airflow_provider_codeocean.errors import CodeOceanError
    from airflow_provider_codeocean.triggers.poller import Poller


class Outcome(NamedTuple):
    """What one poll found: the item, or the error that stopped the poll."""

    item: Any = None
    error: CodeOceanError | None = None


class Group(NamedTuple):
    """Computations of one capsule or pipeline, listable with one request."""

    kind: endpoints.Kind
    capsule_id: str


class Subscription:
    """One trigger's registration; :meth:`next` returns each outcome polled after the last one read."""

    __slots__ = ("_matters", "_pending", "_poller", "_waiter", "_want_any", "last_ok", "watch")

    def __init__(self, poller: Poller, watch: Watch, matters: Callable[[Any], bool] | None = None) -> None:
        self._poller = poller
        self.watch = watch
        self._matters = matters
        self._want_any = False
        self._pending: Outcome | None = None
        self._waiter: asyncio.Future[Outcome | None] | None = None
        #: ``time.time()`` of the last poll that answered, delivered or not.
        self.last_ok: float | None = None

    def deliver(self, outcome: Outcome) -> None:
        if outcome.error is None:
            self.last_ok = time.time()
            # "Still running" wakes nobody: at 10,000 waits, waking each trigger on every poll would
            # cost more than the polls themselves.
            if self._matters is not None and not self._want_any and not self._matters(outcome.item):
                return
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(outcome)
        else:
            self._pending = outcome

    def poll_now(self) -> None:
        """Poll this item as soon as a slot is free (unless a poll of it is already under way)."""
        self._poller.poll_now(self.watch)

    async def next(self, timeout: float | None = None, *, any_outcome: bool = False) -> Outcome | None:
        """The next outcome that matters (or any, with ``any_outcome``), or None after ``timeout`` seconds."""
        if self._pending is not None:
            outcome, self._pending = self._pending, None
            return outcome
        self._want_any = any_outcome
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Outcome | None] = loop.create_future()
        self._waiter = waiter
        # A timer, not asyncio.wait_for: no extra task per wait at 10,000 waits.
        timer = None if timeout is None else loop.call_later(max(0.0, timeout), _resolve, waiter, None)
        try:
            return await waiter
        finally:
            self._waiter = None
            self._want_any = False
            if timer is not None:
                timer.cancel()


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


@dataclass(eq=False)
class Watch:
    """One polled item and its subscribers."""

    kind: str
    resource_id: str
    group: Group | None
    interval: float
    due: float = 0.0
    urgent: bool = False
    failures: int = 0
    subscribers: list[Subscription] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.resource_id)

    def deliver(self, outcome: Outcome) -> None:
        for subscriber in list(self.subscribers):
            subscriber.deliver(outcome)


# One poller per (event loop, connection id)

_pollers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Poller]] = weakref.WeakKeyDictionary()


def _forget(poller: Poller) -> None:
    pollers = _pollers.get(poller._loop)
    if pollers is not None and pollers.get(poller.conn_id) is poller:
        del pollers[poller.conn_id]


def poller_for(conn_id: str) -> Poller:
    loop = asyncio.get_running_loop()
    pollers = _pollers.setdefault(loop, {})
    poller = pollers.get(conn_id)
    if poller is None:
        from airflow_provider_codeocean.triggers.poller import Poller

        poller = pollers[conn_id] = Poller(conn_id, loop)
    return poller


def active_pollers() -> dict[str, Poller]:
    """The pollers on the running loop, by connection id (for tests and benchmarks)."""
    return dict(_pollers.get(asyncio.get_running_loop(), {}))


@contextmanager
def subscription(
    conn_id: str,
    kind: str,
    resource_id: str,
    interval: float,
    group: Group | None = None,
    matters: Callable[[Any], bool] | None = None,
) -> Iterator[Subscription]:
    """Register a wait with the connection's poller for the duration of the block.

    ``matters(item)`` says whether a polled item is news to the waiter (a terminal state); items for
    which it is false only update :attr:`Subscription.last_ok`. Errors are always delivered.
    """
    poller = poller_for(conn_id)
    registered = poller.subscribe(kind, resource_id, interval, group, matters)
    try:
        yield registered
    finally:
        poller.unsubscribe(registered)
