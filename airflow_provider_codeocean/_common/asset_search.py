"""A data asset search that a sensor or trigger repeats: what to ask for, and what counts as a match.

The API's search narrows by query, type and filters; every match is re-checked here (tags, type,
custom metadata, created time) so a looser server answer never lets an unwanted asset through. The
spec is JSON primitives only, so it travels in trigger kwargs.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean.errors import CodeOceanConfigError

if TYPE_CHECKING:
    from airflow_provider_codeocean.api.wire import Endpoint
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook
    from airflow_provider_codeocean.models import DataAsset

#: Sends one request and returns its parsed answer: the hook's ``acall``, or the shared poller's ``_send``.
Send = Callable[["Endpoint[Any]"], Awaitable[Any]]

_TYPES = ("dataset", "result", "combined", "model")
_PAGE = 1000


@dataclass(frozen=True)
class AssetSearch:
    """Which data assets to wait for: all of ``tags``, the ``type``, every ``custom_metadata`` value, and
    created strictly after ``created_after`` (epoch seconds), plus the free-text ``query``."""

    query: str | None = None
    tags: list[str] = field(default_factory=list)
    type: str | None = None
    custom_metadata: dict[str, Any] = field(default_factory=dict)
    created_after: float | None = None

    @classmethod
    def of(
        cls,
        query: Any = None,
        tags: Any = None,
        type: Any = None,
        custom_metadata: Any = None,
        created_after: Any = None,
    ) -> AssetSearch:
        """Checked from (templated) arguments; raises CodeOceanConfigError."""
        if query is not None and not isinstance(query, str):
            raise CodeOceanConfigError(f"query must be a string, got {query!r}")
        if isinstance(tags, str):
            tags = [tags]
        if tags is not None and (not isinstance(tags, Sequence) or not all(isinstance(t, str) for t in tags)):
            raise CodeOceanConfigError(f"tags must be a list of strings, got {tags!r}")
        if type is not None and type not in _TYPES:
            raise CodeOceanConfigError(f"type must be one of {list(_TYPES)}, got {type!r}")
        if custom_metadata is not None and not isinstance(custom_metadata, Mapping):
            raise CodeOceanConfigError(f"custom_metadata must be a dict, got {custom_metadata!r}")
        return cls(
            query=query or None,
            tags=list(tags or []),
            type=type,
            custom_metadata=dict(custom_metadata or {}),
            created_after=epoch_seconds(created_after),
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AssetSearch:
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_key(cls, key: str) -> AssetSearch:
        """The search :func:`search_key` wrote ``key`` for."""
        return cls.from_json(json.loads(key))

    def body(self) -> dict[str, Any]:
        """The search request: newest first, so a page holds the recent assets a waiter cares about."""
        filters = [{"key": "tags", "value": tag} for tag in self.tags]
        filters += [{"key": k, "value": v} for k, v in self.custom_metadata.items()]
        body: dict[str, Any] = {"sort_field": "created", "sort_order": "desc", "archived": False, "limit": _PAGE}
        if self.query:
            body["query"] = self.query
        if self.type:
            body["type"] = self.type
        if filters:
            body["filters"] = filters
        return body

    def matches(self, asset: DataAsset) -> bool:
        if self.type is not None and str(asset.type) != self.type:
            return False
        if not set(self.tags) <= set(asset.tags):
            return False
        if any(asset.custom_metadata.get(k) != v for k, v in self.custom_metadata.items()):
            return False
        return self.created_after is None or (asset.created or 0) > self.created_after

    def select(self, assets: Iterable[DataAsset]) -> list[DataAsset]:
        """The matches, oldest first (ties by id, so every poll lists them in one order)."""
        found = [a for a in assets if self.matches(a)]
        return sorted(found, key=lambda a: (a.created or 0, a.id))

    def find(self, hook: CodeOceanHook) -> list[DataAsset]:
        body = self.body()
        return self.select(hook.search_data_assets(body.pop("query", None), **body))

    async def afind(self, hook: CodeOceanHook) -> list[DataAsset]:
        """As :meth:`find`, without blocking the event loop (the hook's shared async HTTP client)."""
        return await self.afind_with(hook.acall)

    async def afind_with(self, send: Send) -> list[DataAsset]:
        """Every page of the search, one request after the other through ``send``; the matches as
        :meth:`select` orders them. An error on any page propagates: a partial answer is no answer."""
        from airflow_provider_codeocean.api import endpoints

        body = self.body()
        found: list[DataAsset] = []
        while True:
            page = await send(endpoints.search_data_assets(body))
            found += page.results
            oldest = min((a.created or 0 for a in page.results), default=0)
            # Newest first: once a page reaches past the cutoff, later pages hold only older assets.
            past_cutoff = self.created_after is not None and oldest <= self.created_after
            if past_cutoff or not page.has_more or not page.next_token:
                return self.select(found)
            body = {**body, "next_token": page.next_token}


def search_key(spec: AssetSearch) -> str:
    """One string per search, the same for equal searches: the shared poller's id for it, so triggers
    waiting on one search share its requests (:meth:`AssetSearch.from_key` reads it back)."""
    return json.dumps(spec.to_json(), sort_keys=True, separators=(",", ":"))


def epoch_seconds(value: Any) -> float | None:
    """Epoch seconds from a datetime (naive means UTC), an ISO 8601 string or a number."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CodeOceanConfigError(f"created_after must be a time, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise CodeOceanConfigError(f"created_after is not an ISO 8601 time: {value!r}") from None
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time())
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return float(value.timestamp())
    raise CodeOceanConfigError(f"created_after must be a datetime, an ISO 8601 string or epoch seconds, got {value!r}")


def settled(assets: Iterable[DataAsset], min_count: int) -> list[DataAsset] | None:
    """The ready matches once there are ``min_count`` of them and none is still being created, else None.

    Waiting out the drafts means one answer holds the whole batch (e.g. every file of a session) rather
    than whichever assets happened to finish first; failed matches are left out.
    """
    ready, pending, _ = split_ready(assets)
    return ready if len(ready) >= min_count and not pending else None


def split_ready(assets: Iterable[DataAsset]) -> tuple[list[DataAsset], list[DataAsset], list[DataAsset]]:
    """``(ready, still being created, failed)``."""
    ready: list[DataAsset] = []
    pending: list[DataAsset] = []
    failed: list[DataAsset] = []
    for asset in assets:
        (ready if asset.ready else failed if asset.failed else pending).append(asset)
    return ready, pending, failed
