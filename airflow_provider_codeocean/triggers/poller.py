"""One shared poller per (event loop, connection): thousands of waiting triggers, one schedule.

A trigger subscribes to the item it waits for and awaits outcomes; the poller owns the schedule and
the HTTP calls:

* **Bounded requests in flight.** The scheduler takes a slot before it starts a poll, so polls beyond
  :data:`~airflow_provider_codeocean.api.async_transport.MAX_IN_FLIGHT` wait in the schedule (a heap,
  ordered by due time) and never queue inside the HTTP client. Beyond capacity every wait is polled
  later by the same amount: polls slow down evenly and none is lost.
* **One connection lookup** per (loop, connection), refreshed every :data:`SETTINGS_TTL` seconds and
  after a 401, so a rotated token is picked up without a lookup per trigger.
* **Coalescing.** Waits on the same item share one poll; waits on the same data asset search share
  one search (all its pages) per interval.
* **Batching.** Waits on computations of one capsule (or pipeline) are served by one
  ``GET capsules/{id}/computations`` per interval where that costs less than one GET per wait
  (:func:`list_pays_off`); a terminal state seen in the list is confirmed with the run's own GET, the
  authoritative answer, before it is reported. A run missing from the list is polled on its own.
* **Per-connection backoff.** A 429 or 503 pauses every poll of the connection for its
  ``Retry-After`` (or an exponential backoff), so 10,000 waits do not each hammer a throttled server.
* **Schedule.** A wait's first poll is spread uniformly over its interval; after that each poll
  starts one interval after the previous one started, rounded up to a tick of at most one second so
  that polls due together share one wake-up of the loop: never more often than the interval, and
  later only by the tick and by what the machine is behind.

How a trigger registers (:func:`subscription`) and what it holds (:class:`Subscription`,
:class:`Outcome`) is in :mod:`.subscription`; this module is the schedule and the HTTP calls. The poller
holds no state beyond its subscribers: when the last one leaves, its scheduler and polls are cancelled
and its HTTP session released.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean.errors import (
    CodeOceanApiError,
    CodeOceanAuthenticationError,
    CodeOceanConfigError,
    CodeOceanConnectionLookupError,
    CodeOceanError,
)
from airflow_provider_codeocean.triggers.poll_kinds import COMPUTATION, DATA_ASSET, DATA_ASSET_SEARCH, FETCHES
from airflow_provider_codeocean.triggers.subscription import (
    Group,
    Outcome,
    Subscription,
    Watch,
    _forget,
    _resolve,
    active_pollers,
    poller_for,
    subscription,
)

if TYPE_CHECKING:
    from airflow_provider_codeocean.api.async_transport import AsyncTransport, SharedSession
    from airflow_provider_codeocean.api.settings import ClientSettings
    from airflow_provider_codeocean.api.wire import Endpoint

__all__ = [
    "COMPUTATION",
    "DATA_ASSET",
    "DATA_ASSET_SEARCH",
    "Group",
    "Outcome",
    "Poller",
    "Subscription",
    "Watch",
    "active_pollers",
    "list_pays_off",
    "poller_for",
    "subscription",
]

log = logging.getLogger(__name__)

#: Seconds a looked-up connection is reused before it is looked up again.
SETTINGS_TTL = 300.0
#: Longest pause of a whole connection after 429/503 without Retry-After, or repeated failures.
MAX_PAUSE = 60.0
#: Longest delay of a poll past its due time, so that polls due close together start together.
MAX_TICK = 1.0
#: Transient failures in a row, across the connection, after which all its polls pause.
FAILURES_BEFORE_PAUSE = 3

# Client CPU in units of one GET computations/{id}, measured by benchmarks/list_crossover.py (figures in
# docs/deferrable.md): a list request costs about one GET plus 0.13 GET per run in the capsule's history,
# so the list pays off while the history is shorter than about 7.5 runs per wait.
LIST_BASE_COST = 1.0
LIST_ITEM_COST = 0.13


def list_pays_off(waits: int, list_length: int | None) -> bool:
    """Whether one list request serves ``waits`` waits more cheaply than one GET each."""
    if waits < 2:
        return False
    if list_length is None:  # not seen yet: try it once, then decide on its length
        return True
    return LIST_BASE_COST + list_length * LIST_ITEM_COST < waits


@dataclass(eq=False)
class _GroupState:
    group: Group
    members: dict[str, Watch] = field(default_factory=dict)
    list_length: int | None = None
    in_flight: bool = False
    next_due: float | None = None


class Poller:
    """The schedule and the HTTP calls for every wait of one connection on one event loop."""

    def __init__(self, conn_id: str, loop: asyncio.AbstractEventLoop) -> None:
        self.conn_id = conn_id
        self._loop = loop
        self._watches: dict[tuple[str, str], Watch] = {}
        self._groups: dict[Group, _GroupState] = {}
        self._heap: list[tuple[float, int, Watch]] = []
        self._sequence = itertools.count()
        self._wakeup: asyncio.Future[None] | None = None
        self._scheduler: asyncio.Task[None] | None = None
        self._polls: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None
        self._settings: ClientSettings | None = None
        self._settings_at = 0.0
        self._settings_lock = asyncio.Lock()
        self._session: SharedSession | None = None
        self._transport: AsyncTransport | None = None
        self._paused_until = 0.0
        self._failures_in_a_row = 0
        self.requests = 0  # sent, for tests and benchmarks

    # Subscribers

    def subscribe(
        self,
        kind: str,
        resource_id: str,
        interval: float,
        group: Group | None,
        matters: Callable[[Any], bool] | None = None,
    ) -> Subscription:
        if kind not in FETCHES:
            raise ValueError(f"the poller cannot poll {kind!r}; it polls {sorted(FETCHES)}")
        watch = self._watches.get((kind, resource_id))
        if watch is None:
            watch = self._watches[(kind, resource_id)] = Watch(kind, resource_id, group, interval)
            now = self._loop.time()
            first = now + random.uniform(0, interval)
            if group is not None:
                state = self._groups.setdefault(group, _GroupState(group))
                state.members[resource_id] = watch
                # Join the group's cadence, so a newcomer does not call for a list request of its own.
                if state.next_due is not None and now < state.next_due <= now + interval:
                    first = state.next_due
            self._schedule(watch, first)
        elif interval < watch.interval:
            watch.interval = interval
            self._schedule(watch, min(watch.due, self._loop.time() + interval))
        subscription = Subscription(self, watch, matters)
        watch.subscribers.append(subscription)
        if self._scheduler is None:
            self._scheduler = self._loop.create_task(self._run(), name=f"codeocean-poller-{self.conn_id}")
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        watch = subscription.watch
        watch.subscribers.remove(subscription)
        if watch.subscribers:
            return
        del self._watches[watch.key]
        state = self._groups.get(watch.group) if watch.group is not None else None
        if state is not None:
            state.members.pop(watch.resource_id, None)
            if not state.members:
                del self._groups[state.group]
        if not self._watches:
            _forget(self)
            self._loop.create_task(self._close())

    def poll_now(self, watch: Watch) -> None:
        if watch.due != float("inf") and self._watches.get(watch.key) is watch:
            self._schedule_now(watch)

    @property
    def waits(self) -> int:
        return len(self._watches)

    async def _close(self) -> None:
        tasks = [t for t in (self._scheduler, *self._polls) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._scheduler = None
        if self._session is not None and self._settings is not None:
            from airflow_provider_codeocean.api.async_transport import release_client

            self._session = self._transport = None
            await release_client(self._settings)

    # Schedule

    def _schedule_now(self, watch: Watch) -> None:
        """Poll as soon as a slot is free, not on the next tick (someone is waiting for this answer)."""
        self._schedule(watch, self._loop.time())
        watch.urgent = True

    def _schedule(self, watch: Watch, due: float) -> None:
        watch.due = due
        watch.urgent = False
        heapq.heappush(self._heap, (due, next(self._sequence), watch))
        wakeup = self._wakeup
        if wakeup is not None and self._heap[0][2] is watch:
            _resolve(wakeup, None)

    async def _sleep_until(self, when: float) -> None:
        self._wakeup = wakeup = self._loop.create_future()
        timer = self._loop.call_at(when, _resolve, wakeup, None)
        try:
            await wakeup
        finally:
            timer.cancel()
            self._wakeup = None

    async def _run(self) -> None:
        from airflow_provider_codeocean.api.async_transport import MAX_IN_FLIGHT

        self._slots = slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        while True:
            now = self._loop.time()
            if not self._heap:
                await self._sleep_until(now + 3600)
                continue
            due, _, watch = self._heap[0]
            start_at = max(due, self._paused_until)
            if not watch.urgent:
                start_at = _on_tick(start_at, watch.interval)
            if start_at > now:
                await self._sleep_until(start_at)
                continue
            # The next poll is due one interval after this one's tick, not after the moment the loop
            # got round to it, so waits keep their cadence instead of slipping by a tick each time;
            # a scheduler behind by more than a tick counts from now, so polls slow down rather than
            # bunch up (two polls of one wait never come closer than the interval less a tick).
            started = start_at if now - start_at <= _tick(watch.interval) and not watch.urgent else now
            heapq.heappop(self._heap)
            if self._watches.get(watch.key) is not watch or watch.due != due:
                continue  # ended, or rescheduled since this entry was pushed
            await self._ensure_transport()
            if self._transport is None:
                continue  # the lookup failed: every subscriber got the error
            # Until its poll answers, the watch is off the schedule; the answer puts it back.
            watch.due = float("inf")
            state = self._groups.get(watch.group) if watch.group is not None else None
            if state is not None and watch.resource_id in state.members:
                if state.in_flight:
                    continue  # the list request under way answers for this wait too
                if list_pays_off(len(state.members), state.list_length):
                    state.in_flight = True
                    await slots.acquire()
                    self._start(self._poll_group(state, started))
                    continue
            await slots.acquire()
            self._start(self._poll_one(watch, started))

    def _start(self, poll: Coroutine[Any, Any, None]) -> None:
        # The interval runs from this start, so a late poll delays only its own next one.
        task = self._loop.create_task(poll)
        self._polls.add(task)
        task.add_done_callback(self._poll_done)

    def _poll_done(self, task: asyncio.Task[None]) -> None:
        self._polls.discard(task)
        if self._slots is not None:
            self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("Code Ocean poller failed", exc_info=task.exception())

    # Connection

    def _settings_fresh(self) -> bool:
        return self._transport is not None and self._loop.time() - self._settings_at < SETTINGS_TTL

    async def _ensure_transport(self) -> None:
        if self._settings_fresh():
            return
        async with self._settings_lock:
            if not self._settings_fresh():
                await self._look_up()

    async def _look_up(self) -> None:
        from airflow_provider_codeocean.api.async_transport import AsyncTransport, acquire_client, release_client
        from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

        try:
            settings = await CodeOceanHook(self.conn_id).aget_settings()
        except Exception as exc:
            error = _lookup_error(self.conn_id, exc)
            if self._transport is not None:
                log.warning("Looking up connection %r again failed; keeping the last one: %s", self.conn_id, error)
                self._settings_at = self._loop.time()
                return
            self._fail_everyone(error)
            return
        old = self._settings
        self._settings, self._settings_at = settings, self._loop.time()
        if old is None or old.pool_key != settings.pool_key:
            self._session = acquire_client(settings)
            if old is not None:
                await release_client(old)
        assert self._session is not None
        self._transport = AsyncTransport(settings, self._session)

    def _fail_everyone(self, error: CodeOceanError) -> None:
        for watch in list(self._watches.values()):
            watch.deliver(Outcome(error=error))
            self._schedule(watch, self._loop.time() + watch.interval)

    # Polls

    async def _send(self, endpoint: Endpoint[Any]) -> Any:
        transport = self._transport
        assert transport is not None
        self.requests += 1
        sent_at = self._loop.time()
        try:
            result = await transport.send_once(endpoint)
        except CodeOceanAuthenticationError:
            # The token may have been rotated: look the connection up again (once for all the polls
            # that were refused together) and resend once with the new token.
            token = transport.settings.token
            async with self._settings_lock:
                if self._settings_at < sent_at:
                    await self._look_up()
            if self._transport is None or self._transport.settings.token == token:
                raise
            self.requests += 1
            result = await self._transport.send_once(endpoint)
        self._failures_in_a_row = 0
        return result

    async def _poll_one(self, watch: Watch, started: float) -> None:
        try:
            item = await FETCHES[watch.kind](self._send, watch.resource_id)
        except CodeOceanError as exc:
            self._failed(watch, exc)
            return
        watch.failures = 0
        self._next(watch, started)
        watch.deliver(Outcome(item=item))

    async def _poll_group(self, state: _GroupState, started: float) -> None:
        from airflow_provider_codeocean.api import endpoints

        try:
            computations = await self._send(endpoints.list_computations(state.group.capsule_id, state.group.kind))
        except CodeOceanError as exc:
            for watch in list(state.members.values()):
                self._failed(watch, exc)
            return
        finally:
            state.in_flight = False
        state.list_length = len(computations)
        state.next_due = started + min((w.interval for w in state.members.values()), default=0.0)
        found = {c.id: c for c in computations}
        for watch in list(state.members.values()):
            computation = found.get(watch.resource_id)
            if computation is None or computation.is_terminal:
                # Missing (another user's run, a list that lags) or finished: its own GET decides,
                # at once rather than on the next tick.
                del state.members[watch.resource_id]
                self._schedule_now(watch)
                continue
            watch.failures = 0
            # One cadence for the whole group: one list request per interval serves every member.
            self._schedule(watch, state.next_due)
            watch.deliver(Outcome(item=computation))

    def _next(self, watch: Watch, started: float) -> None:
        if self._watches.get(watch.key) is watch:
            self._schedule(watch, started + watch.interval)

    def _failed(self, watch: Watch, exc: CodeOceanError) -> None:
        now = self._loop.time()
        if exc.transient:
            self._failures_in_a_row += 1
            watch.failures += 1
            retry_after = exc.retry_after if isinstance(exc, CodeOceanApiError) else None
            throttled = isinstance(exc, CodeOceanApiError) and exc.status_code in (429, 503)
            if throttled or self._failures_in_a_row >= FAILURES_BEFORE_PAUSE:
                pause = retry_after if retry_after is not None else _backoff(self._failures_in_a_row)
                if now + min(pause, MAX_PAUSE) > self._paused_until:
                    self._paused_until = now + min(pause, MAX_PAUSE)
                    log.warning("Code Ocean connection %r: pausing all polls for %.1f s: %s", self.conn_id, pause, exc)
            retry_at = max(self._paused_until, now + min(watch.interval, _backoff(watch.failures)))
            if self._watches.get(watch.key) is watch:
                self._schedule(watch, retry_at)
        elif self._watches.get(watch.key) is watch:
            self._schedule(watch, now + watch.interval)
        watch.deliver(Outcome(error=exc))


def _lookup_error(conn_id: str, exc: Exception) -> CodeOceanError:
    if isinstance(exc, CodeOceanError):
        return exc
    # By name: Airflow 2 and 3 define it in different modules, and common-compat 1.20 exports neither.
    if type(exc).__name__ == "AirflowNotFoundException":
        return CodeOceanConfigError(f"connection {conn_id!r} is not defined: create it, or fix the conn_id")
    # A secrets backend or database hiccup: worth another try on the next poll.
    return CodeOceanConnectionLookupError(f"connection {conn_id!r} could not be looked up: {type(exc).__name__}")


def _on_tick(when: float, interval: float) -> float:
    """``when`` rounded up to the poll tick: polls due within one tick start together, so the loop
    wakes once per tick for all of them and their requests overlap (a request in a batch costs a third
    of the CPU of a request alone), at most :data:`MAX_TICK` (or a twentieth of the interval) late."""
    tick = _tick(interval)
    return math.ceil(when / tick) * tick


def _tick(interval: float) -> float:
    return min(MAX_TICK, interval / 20)


def _backoff(failures: int) -> float:
    return random.uniform(0.5, 1.0) * min(MAX_PAUSE, 2.0 ** max(0, failures - 1))
