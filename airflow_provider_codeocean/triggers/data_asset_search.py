"""CodeOceanDataAssetSearchTrigger: repeat a data asset search in the triggerer until its matches settle.

The searches go through the connection's shared poller (:mod:`.poller`), like the waits on runs and
data assets: they share its bounded requests in flight, its one connection lookup and its pause of the
whole connection after a 429 or 503, and triggers waiting on the same search share one search (all its
pages) per interval.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_codeocean._common.asset_search import AssetSearch, search_key, settled
from airflow_provider_codeocean._common.polling import DEFAULT_TRANSIENT_GRACE, PollPolicy
from airflow_provider_codeocean.errors import error_details
from airflow_provider_codeocean.triggers.base import FINAL_LOOK_TIMEOUT
from airflow_provider_codeocean.triggers.poller import DATA_ASSET_SEARCH
from airflow_provider_codeocean.triggers.subscription import Outcome, Subscription, subscription

#: Every status the trigger can fire.
EVENT_STATUSES = ("success", "timeout", "error")


class CodeOceanDataAssetSearchTrigger(BaseTrigger):  # type: ignore[misc]  # Airflow is not type-followed
    """Search until ``min_count`` matching assets are ready and none is still being created.

    Fires one event: ``success`` with ``data_assets`` (the ready matches' JSON, oldest first),
    ``timeout`` with ``deadline`` (``wait`` or ``execution``), or ``error`` (a permanent API error, or
    transient ones lasting longer than ``transient_grace``). Kwargs are JSON primitives; no token.

    :param conn_id: the Code Ocean connection id.
    :param search: the search, as :meth:`AssetSearch.to_json` writes it.
    :param poll_interval: seconds between searches (the first one is spread over the interval); triggers
        on the same search share its searches, at the shortest interval among them.
    :param min_count: how many ready matches are enough.
    :param end_time: epoch seconds after which a ``timeout`` event with ``deadline="wait"`` fires.
    :param execution_deadline: epoch seconds after which one with ``deadline="execution"`` fires.
    :param transient_grace: seconds transient API errors are tolerated.
    """

    def __init__(
        self,
        conn_id: str,
        search: dict[str, Any],
        poll_interval: float = 30.0,
        min_count: int = 1,
        end_time: float | None = None,
        execution_deadline: float | None = None,
        transient_grace: float = DEFAULT_TRANSIENT_GRACE,
    ) -> None:
        super().__init__()
        if poll_interval <= 0:  # the poller schedules by the interval: 0 would stall every wait of the connection
            raise ValueError(f"poll_interval must be more than 0 seconds, got {poll_interval}")
        #: The kwargs as serialized: JSON primitives only.
        self.kwargs: dict[str, Any] = {
            "conn_id": conn_id,
            "search": dict(search),
            "min_count": int(min_count),
            "poll_interval": float(poll_interval),
            "end_time": end_time,
            "execution_deadline": execution_deadline,
            "transient_grace": float(transient_grace),
        }

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{type(self).__module__}.{type(self).__qualname__}", dict(self.kwargs)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        kw = self.kwargs
        spec = AssetSearch.from_json(kw["search"])
        min_count: int = kw["min_count"]
        policy = PollPolicy(
            kw["poll_interval"],
            end_time=kw["end_time"],
            execution_deadline=kw["execution_deadline"],
            transient_grace=kw["transient_grace"],
        )
        # Leave the poller before yielding: the event is final, and the wait must not outlive it.
        with subscription(
            kw["conn_id"],
            DATA_ASSET_SEARCH,
            search_key(spec),
            kw["poll_interval"],
            matters=lambda found: settled(found, min_count) is not None,
        ) as wait:
            event = await self._wait(wait, policy, min_count)
        yield event

    async def _wait(self, wait: Subscription, policy: PollPolicy, min_count: int) -> TriggerEvent:
        while True:
            outcome = await wait.next(timeout=policy.until_deadline(time.time()))
            if outcome is None:
                if policy.deadline_passed(time.time()) is None:
                    continue  # the timer ran on the loop's clock, a hair ahead of the wall clock
                # A deadline passed between searches: one last search, so assets that settled meanwhile
                # are reported rather than timed out.
                wait.poll_now()
                outcome = await wait.next(timeout=FINAL_LOOK_TIMEOUT, any_outcome=True)
            event = self._judge(outcome, wait.last_ok, policy, min_count)
            if event is not None:
                return event

    def _judge(
        self, outcome: Outcome | None, last_ok: float | None, policy: PollPolicy, min_count: int
    ) -> TriggerEvent | None:
        """The event this outcome (None: no answer before the deadline) calls for, or None to go on.

        ``last_ok`` is when a search last answered: searches that found too few settled matches are
        not delivered, so it is what ends a run of transient errors.
        """
        now = time.time()
        if outcome is None or outcome.error is None:
            policy.answered()
            found = None if outcome is None else settled(outcome.item, min_count)
            if found is not None:
                message = f"{len(found)} matching data asset(s) ready"
                return TriggerEvent(
                    {"status": "success", "message": message, "data_assets": [a.to_dict() for a in found]}
                )
        else:
            exc = outcome.error
            if not policy.tolerates(exc, now, last_ok):
                return TriggerEvent({"status": "error", "message": str(exc), **error_details(exc)})
            self.log.warning("Searching data assets failed, will search again: %s", exc)
        deadline = policy.deadline_passed(now)
        if deadline is None:
            return None
        message = "no matching data assets were ready" if deadline == "wait" else "execution_timeout passed"
        return TriggerEvent({"status": "timeout", "deadline": deadline, "message": message})
