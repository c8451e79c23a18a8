"""What the shared poller (:mod:`.poller`) can poll: one fetch per kind of wait.

A fetch gets the item a watch's ``resource_id`` names through the poller's ``send``, so every request
it makes holds the poll's slot, counts in ``Poller.requests``, gets the 401 refresh and, when it fails,
fails the poll (backoff, and the connection's pause after a 429 or 503).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from airflow_provider_codeocean._common.asset_search import AssetSearch, Send

COMPUTATION = "computation"
DATA_ASSET = "data_asset"
#: A data asset search; its ``resource_id`` is :func:`~airflow_provider_codeocean._common.asset_search.search_key`.
DATA_ASSET_SEARCH = "data_asset_search"

Fetch = Callable[[Send, str], Awaitable[Any]]


async def _computation(send: Send, computation_id: str) -> Any:
    from airflow_provider_codeocean.api import endpoints

    return await send(endpoints.get_computation(computation_id))


async def _data_asset(send: Send, data_asset_id: str) -> Any:
    from airflow_provider_codeocean.api import endpoints

    return await send(endpoints.get_data_asset(data_asset_id))


async def _data_asset_search(send: Send, key: str) -> Any:
    # Every page, one after the other, in the one slot: the item is the whole list of matches.
    return await AssetSearch.from_key(key).afind_with(send)


#: The fetch for each kind of wait.
FETCHES: dict[str, Fetch] = {
    COMPUTATION: _computation,
    DATA_ASSET: _data_asset,
    DATA_ASSET_SEARCH: _data_asset_search,
}
