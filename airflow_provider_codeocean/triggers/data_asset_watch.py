"""CodeOceanDataAssetWatchTrigger: start a DAG when a new matching data asset lands (Airflow 3 ``AssetWatcher``).

The trigger searches through the connection's shared poller (one schedule, slots and 429 pause with
every other Code Ocean wait) and fires one event per new matching data asset once it is ready. Which
assets it has announced is a :class:`~airflow_provider_codeocean._common.watch_cursor.WatchCursor`
kept in an Airflow Variable, so a restarted (or moved) trigger carries on where it stopped: assets
created while no triggerer ran are announced when one starts, and none is announced twice.

When the cursor moves past an asset matters:

* **Airflow 3.3+**: the trigger runs as an ack-mode shared stream. The cursor moves past an asset
  only after Airflow confirmed that the asset's event is stored in the metadata database; an event
  that was never stored is announced again. The only window left for a second event is a triggerer
  that dies between that confirmation and the Variable write that follows it.
* **Airflow 3.0-3.2** (no ack mode): the cursor moves once the event is handed to the triggerer,
  before Airflow stores it (at the triggerer's next sync with the database); a triggerer killed in
  between loses that event.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Hashable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NamedTuple

from airflow_provider_codeocean._common.asset_search import AssetSearch, search_key
from airflow_provider_codeocean._common.watch_cursor import WatchCursor
from airflow_provider_codeocean.errors import CodeOceanConfigError, CodeOceanError
from airflow_provider_codeocean.triggers.cursor_store import KEY_PREFIX, VariableCursorStore

try:  # Airflow 3: event-driven scheduling
    from airflow.triggers.base import BaseEventTrigger as _EventTrigger

    EVENT_TRIGGERS = True
except ImportError:  # Airflow 2.11 has no AssetWatcher; constructing the trigger says so
    from airflow.triggers.base import BaseTrigger as _EventTrigger

    EVENT_TRIGGERS = False

if TYPE_CHECKING:
    from airflow.triggers.base import TriggerEvent

    from airflow_provider_codeocean.api.settings import ClientSettings
    from airflow_provider_codeocean.models import DataAsset

log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL = 60.0


class CodeOceanDataAssetWatchTrigger(_EventTrigger):  # type: ignore[misc]  # Airflow is not type-followed
    """Fire once per new data asset matching a search, when it is ready: for ``AssetWatcher``.

    .. code-block:: python

        raw = Asset(
            "codeocean-raw-sessions",
            watchers=[AssetWatcher(name="raw_sessions", trigger=CodeOceanDataAssetWatchTrigger(tags=["raw"]))],
        )
        with DAG("qc", schedule=[raw]): ...

    Each event's payload (the asset event's ``extra["payload"]``) holds the data asset's id, name,
    type, state, tags, mount, custom metadata, created time, provenance, ``uri``
    (``codeocean://<domain>/data_assets/<id>``) and ``url``.

    A match has every tag in ``tags``, the ``type`` and every ``custom_metadata`` value, and is not
    archived. Assets created before the watch first started are not announced, unless
    ``created_after`` (a datetime, ISO 8601 string or epoch seconds; a literal, since watcher
    arguments are not templated) says from when to start. The cursor lives in the Airflow Variable
    :attr:`cursor_key`, named after the connection and the search: changing the search starts a new
    watch; deleting the Variable starts the watch again from now.

    :param conn_id: the Code Ocean connection id.
    :param poll_interval: seconds between searches.
    """

    def __init__(
        self,
        *,
        query: str | None = None,
        tags: Sequence[str] | None = None,
        type: str | None = None,
        custom_metadata: Mapping[str, Any] | None = None,
        created_after: Any = None,
        conn_id: str = "codeocean_default",
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        search: str | None = None,
    ) -> None:
        if not EVENT_TRIGGERS:
            raise CodeOceanConfigError("CodeOceanDataAssetWatchTrigger needs Airflow 3 (AssetWatcher)")
        super().__init__()
        if search is not None:  # deserialized from the kwargs below
            spec = AssetSearch.from_key(search)
        else:
            spec = AssetSearch.of(query, tags, type, custom_metadata, created_after)
        if isinstance(poll_interval, bool) or not isinstance(poll_interval, (int, float)) or poll_interval <= 0:
            raise CodeOceanConfigError(f"poll_interval must be a number of seconds above 0, got {poll_interval!r}")
        if not conn_id or not isinstance(conn_id, str):
            raise CodeOceanConfigError(f"conn_id must be a connection id, got {conn_id!r}")
        self.spec, self.conn_id, self.poll_interval = spec, conn_id, float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        # The search as one JSON string: Airflow 3.2 hands a watcher's nested dicts back still encoded
        # ({"__var": ..., "__type": "dict"}), so the kwargs are flat.
        kwargs = {"conn_id": self.conn_id, "search": search_key(self.spec), "poll_interval": self.poll_interval}
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    @property
    def cursor_key(self) -> str:
        return cursor_key(self.conn_id, self.spec)

    # Airflow 3.0-3.2: the trigger drives its own stream.

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow.triggers.base import TriggerEvent

        stream = WatchStream(self.conn_id, self.spec, self.poll_interval)
        async for payload, key in stream.open_stream():
            yield TriggerEvent(payload)
            await stream.advance([_Handed(key)])

    # Airflow 3.3+: an ack-mode shared stream, advanced once Airflow stored the events.

    def shared_stream_key(self) -> Hashable | None:
        return ("codeocean-data-asset-watch", self.cursor_key)

    @classmethod
    def create_shared_stream_producer(cls, kwargs: dict[str, Any]) -> Any:
        trigger = cls(**kwargs)
        log.info("The watch runs as an ack-mode shared stream: its cursor moves once Airflow stored each event")
        return _producer_class()(trigger.conn_id, trigger.spec, trigger.poll_interval)

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        from airflow.triggers.base import TriggerEvent

        async for payload in shared_stream:
            yield TriggerEvent(payload)


def cursor_key(conn_id: str, spec: AssetSearch) -> str:
    """The Variable of the watch of ``spec`` on ``conn_id`` (its starting time is not part of it)."""
    identity = json.dumps([conn_id, search_key(replace(spec, created_after=None))])
    return KEY_PREFIX + hashlib.sha256(identity.encode()).hexdigest()[:20]


class WatchStream:
    """Searches, announces what is due, and moves the stored cursor as Airflow confirms.

    :meth:`open_stream` yields ``(event payload, (asset id, created))``; :meth:`advance` takes what
    Airflow confirmed (items with ``broker_payload`` and ``outcome.is_clean``, as Airflow 3.3's ack
    mode hands them over).
    """

    def __init__(self, conn_id: str, spec: AssetSearch, poll_interval: float) -> None:
        self.conn_id, self.spec, self.poll_interval = conn_id, spec, poll_interval
        self.store = VariableCursorStore(cursor_key(conn_id, spec))
        self.cursor: WatchCursor | None = None
        #: Announced, not confirmed yet: id -> created.
        self.in_flight: dict[str, float] = {}
        self._saving = asyncio.Lock()
        self._saved: WatchCursor | None = None

    async def open_stream(self) -> AsyncIterator[tuple[dict[str, Any], tuple[str, float]]]:
        from airflow_provider_codeocean.triggers.poller import DATA_ASSET_SEARCH
        from airflow_provider_codeocean.triggers.subscription import subscription

        settings = await self._settings()
        self.cursor = await self._load()
        if self.cursor is not None:
            await self._move(self.cursor)
        log.info(
            "Watching Code Ocean for new data assets matching %s (searched every %g s; cursor in Variable %s)",
            _describe(self.spec),
            self.poll_interval,
            self.store.key,
        )
        with contextlib.ExitStack() as subscriptions:
            key = None
            while True:
                # Strictly after since - 1 ms: created times are whole seconds, and since itself counts.
                since = None if self.cursor is None else self.cursor.since - 0.001
                new_key = search_key(replace(self.spec, created_after=since))
                if new_key != key:
                    subscriptions.close()
                    key = new_key
                    wait = subscriptions.enter_context(
                        subscription(self.conn_id, DATA_ASSET_SEARCH, key, self.poll_interval)
                    )
                outcome = await wait.next(any_outcome=True)
                if outcome is None:
                    continue
                if outcome.error is not None:
                    _log_error(outcome.error)
                    continue
                matches: list[DataAsset] = outcome.item
                if self.cursor is None:
                    await self._move(WatchCursor.after(matches))
                    log.info("The watch starts after the %d matching data asset(s) that exist now", len(matches))
                    continue
                for asset in self.cursor.due(matches, self.in_flight):
                    self.in_flight[asset.id] = float(asset.created or 0)
                    log.info("New data asset %s (%r) is ready: firing", asset.id, asset.name)
                    yield event_payload(asset, settings), (asset.id, float(asset.created or 0))
                await self._move(self.cursor.settled(matches, self.in_flight.values()))

    async def advance(self, batch: Sequence[Any]) -> None:
        confirmed = []
        for item in batch:
            asset_id, _ = item.broker_payload
            self.in_flight.pop(asset_id, None)
            if item.outcome.is_clean:
                confirmed.append(asset_id)
            else:
                log.warning("The event for data asset %s was not stored by Airflow; it will fire again", asset_id)
        if confirmed and self.cursor is not None:
            await self._move(self.cursor.announced(confirmed))

    async def _move(self, cursor: WatchCursor) -> None:
        self.cursor = cursor
        async with self._saving:
            # Writes go out in order, and each writes the newest cursor, never an older one.
            if self.cursor == self._saved:
                return
            latest = self.cursor
            try:
                await self.store.save(latest.to_json())
            except Exception as exc:  # the API server or database: the next poll writes it again
                log.warning("Storing the watch's cursor in Variable %s failed; trying again: %s", self.store.key, exc)
                return
            self._saved = latest

    async def _load(self) -> WatchCursor | None:
        """The stored cursor; a new watch starts at ``created_after``, or else (None) after what exists."""
        while True:
            try:
                stored = await self.store.load()
                break
            except Exception as exc:  # without the cursor the watch cannot know what it announced: wait
                log.warning(
                    "Reading Variable %s failed; trying again in %g s: %s", self.store.key, self.poll_interval, exc
                )
                await asyncio.sleep(self.poll_interval)
        if stored is not None:
            try:
                cursor = WatchCursor.from_json(stored)
            except (KeyError, TypeError, ValueError):
                log.error("Variable %s holds no watch cursor (%r); starting the watch anew", self.store.key, stored)
            else:
                log.info("Resuming the watch: %d asset(s) announced since %s", len(cursor.fired), cursor.since)
                self._saved = cursor
                return cursor
        if self.spec.created_after is None:
            return None
        # Strictly after created_after, as the search sensor counts it.
        return WatchCursor(self.spec.created_after + 0.001)

    async def _settings(self) -> ClientSettings:
        from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

        while True:
            try:
                return await CodeOceanHook(self.conn_id).aget_settings()
            except CodeOceanError as exc:
                log.error("Code Ocean connection %r: %s; trying again in %g s", self.conn_id, exc, self.poll_interval)
            await asyncio.sleep(self.poll_interval)


def event_payload(asset: DataAsset, settings: ClientSettings) -> dict[str, Any]:
    from airflow_provider_codeocean.assets import asset_extra, data_asset_uri

    return {
        **asset_extra(asset),
        "uri": data_asset_uri(settings.base_url, asset.id),
        "url": settings.data_asset_url(asset.id),
    }


class _Clean:
    is_clean = True


class _Handed(NamedTuple):
    """What :meth:`WatchStream.advance` reads, for an event handed to the triggerer (Airflow 3.0-3.2)."""

    broker_payload: tuple[str, float]
    outcome: _Clean = _Clean()


@functools.cache
def _producer_class() -> type[WatchStream]:
    """WatchStream as Airflow 3.3's SharedStreamProducer (the base class exists from 3.3 on)."""
    from airflow.triggers.shared_stream import SharedStreamProducer

    class Producer(WatchStream, SharedStreamProducer):  # type: ignore[misc]  # Airflow is not type-followed
        pass

    return Producer


def _log_error(exc: CodeOceanError) -> None:
    if exc.transient:
        log.warning("Searching Code Ocean failed, will search again: %s", exc)
    else:
        log.error("Searching Code Ocean failed: %s (the watch goes on and searches again)", exc)


def _describe(spec: AssetSearch) -> str:
    parts = {k: v for k, v in spec.to_json().items() if v not in (None, [], {}) and k != "created_after"}
    return json.dumps(parts, sort_keys=True) if parts else "any data asset"
