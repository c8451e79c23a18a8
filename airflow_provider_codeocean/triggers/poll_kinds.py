"""What the shared poller (:mod:`.poller`) can poll: one fetch per kind of wait.

A fetch gets the item a watch's ``resource_id`` names through the poller's ``send``, so every request
it makes holds the poll's slot, counts in ``Poller.requests``, gets the 401 refresh and, when it fails,
fails the poll (backoff, and the connection's pause after a 429 or 503).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from airflow_provider_codeocean._common.asset_search import AssetSearch, Send

COMPUTATION = "computation"
DATA_ASSET = "data_asset"
#: A data asset search; its ``resource_id`` is :func:`~airflow_provider_codeocean._common.asset_search.search_key`.
DATA_ASSET_SEARCH = "data_asset_search"
#: A capsule's or pipeline's release job; its ``resource_id`` is :func:`release_key`.
RELEASE_JOB = "release_job"

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


def release_key(capsule_id: str, job_id: str, pipeline: bool) -> str:
    """The ``resource_id`` of a release job: the job is read under its capsule's (or pipeline's) path."""
    return json.dumps(["pipelines" if pipeline else "capsules", capsule_id, job_id])


async def _release_job(send: Send, key: str) -> Any:
    from airflow_provider_codeocean.api import endpoints

    kind, capsule_id, job_id = json.loads(key)
    return await send(endpoints.get_release_job(capsule_id, job_id, kind))


#: The fetch for each kind of wait.
FETCHES: dict[str, Fetch] = {
    COMPUTATION: _computation,
    DATA_ASSET: _data_asset,
    DATA_ASSET_SEARCH: _data_asset_search,
    RELEASE_JOB: _release_job,
}
