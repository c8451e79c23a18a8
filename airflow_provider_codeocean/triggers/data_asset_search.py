"""CodeOceanDataAssetSearchTrigger: repeat a data asset search in the triggerer until its matches settle.

Searches are not per-item GETs, so they do not go through the shared poller's schedule; each trigger
sends its own search every ``poll_interval`` over the hook's shared async HTTP client (one connection
pool per connection and event loop, the same pool the poller uses).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_codeocean._common.asset_search import AssetSearch, settled
from airflow_provider_codeocean._common.polling import DEFAULT_TRANSIENT_GRACE, PollPolicy
from airflow_provider_codeocean.errors import CodeOceanError, error_details

#: Every status the trigger can fire.
EVENT_STATUSES = ("success", "timeout", "error")


class CodeOceanDataAssetSearchTrigger(BaseTrigger):  # type: ignore[misc]  # Airflow is not type-followed
    """Search until ``min_count`` matching assets are ready and none is still being created.

    Fires one event: ``success`` with ``data_assets`` (the ready matches' JSON, oldest first),
    ``timeout`` with ``deadline`` (``wait`` or ``execution``), or ``error`` (a permanent API error, or
    transient ones lasting longer than ``transient_grace``). Kwargs are JSON primitives; no token.

    :param conn_id: the Code Ocean connection id.
    :param search: the search, as :meth:`AssetSearch.to_json` writes it.
    :param poll_interval: seconds between searches.
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
        from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

        kw = self.kwargs
        spec = AssetSearch.from_json(kw["search"])
        policy = PollPolicy(
            kw["poll_interval"],
            end_time=kw["end_time"],
            execution_deadline=kw["execution_deadline"],
            transient_grace=kw["transient_grace"],
        )
        hook = CodeOceanHook(kw["conn_id"])
        while True:
            try:
                found = settled(await spec.afind(hook), kw["min_count"])
            except CodeOceanError as exc:
                if not policy.tolerates(exc, time.time()):
                    yield TriggerEvent({"status": "error", "message": str(exc), **error_details(exc)})
                    return
                self.log.warning("Searching data assets failed, will search again: %s", exc)
            else:
                policy.answered()
                if found is not None:
                    message = f"{len(found)} matching data asset(s) ready"
                    yield TriggerEvent(
                        {"status": "success", "message": message, "data_assets": [a.to_dict() for a in found]}
                    )
                    return
            now = time.time()
            deadline = policy.deadline_passed(now)
            if deadline is not None:
                message = "no matching data assets were ready" if deadline == "wait" else "execution_timeout passed"
                yield TriggerEvent({"status": "timeout", "deadline": deadline, "message": message})
                return
            await asyncio.sleep(policy.sleep(now))
