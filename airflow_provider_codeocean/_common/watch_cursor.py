"""Which new data assets a watch has announced: a cursor that survives restarts, and the rules that move it.

Sans-I/O: the watch trigger (:mod:`airflow_provider_codeocean.triggers.data_asset_watch`) searches,
asks :meth:`WatchCursor.due` what to announce, records what Airflow confirmed with
:meth:`WatchCursor.announced`, and stores the cursor where Airflow keeps state.

The cursor is ``since`` plus ``fired``. Every matching data asset created before ``since`` has been
dealt with; those created at or after it that were announced are listed in ``fired`` by id, so one is
never announced twice. ``since`` moves forward only past what is settled: it stays at or before the
oldest match still being created (a draft becomes ready long after newer assets may have), and at
least :data:`SETTLE_SECONDS` behind the newest time seen, so an asset the search indexes late is still
found. ``fired`` keeps only ids at or after ``since``, so it stays as small as the recent history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_codeocean.models import DataAsset

#: Seconds ``since`` stays behind the newest creation time seen: room for a search index that lags and
#: for the clocks of Code Ocean's servers.
SETTLE_SECONDS = 600.0


@dataclass(frozen=True)
class WatchCursor:
    since: float
    fired: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WatchCursor:
        return cls(float(data["since"]), frozenset(str(i) for i in data.get("fired", ())))

    def to_json(self) -> dict[str, Any]:
        return {"since": self.since, "fired": sorted(self.fired)}

    @classmethod
    def after(cls, existing: Iterable[DataAsset]) -> WatchCursor:
        """A new watch's cursor: past every match that exists now, by Code Ocean's own clock.

        Taken from a search rather than the triggerer's clock, so neither a skewed clock nor the
        one-second resolution of ``created`` lets an existing asset through or hides a new one.
        """
        existing = list(existing)
        if not existing:
            return cls(0.0)
        newest = max(a.created or 0 for a in existing)
        return cls(float(newest), frozenset(a.id for a in existing if (a.created or 0) == newest))

    def due(self, matches: Iterable[DataAsset], in_flight: Iterable[str] = ()) -> list[DataAsset]:
        """The ready matches not announced yet (nor ``in_flight``), oldest first (by created, then id)."""
        skip = self.fired | set(in_flight)
        due = [a for a in matches if a.ready and a.id not in skip and (a.created or 0) >= self.since]
        return sorted(due, key=lambda a: (a.created or 0, a.id))

    def announced(self, ids: Iterable[str]) -> WatchCursor:
        """The cursor once Airflow has stored the events of ``ids``."""
        return WatchCursor(self.since, self.fired | frozenset(ids))

    def settled(self, matches: Iterable[DataAsset], held: Iterable[float] = ()) -> WatchCursor:
        """The cursor moved past what these matches show is settled.

        ``held`` are creation times of assets announced but not confirmed yet: ``since`` stays at or
        before them too, so an event Airflow never stored is announced again.
        """
        matches = list(matches)
        if not matches:
            return self
        newest = max(a.created or 0 for a in matches)
        bounds = [newest - SETTLE_SECONDS, *held]
        bounds += [a.created or 0 for a in matches if not a.ready and not a.failed]
        since = max(self.since, min(bounds))
        if since == self.since:
            return self
        created = {a.id: a.created or 0 for a in matches}
        # Ids before since are settled for good; one the search no longer shows (deleted, archived, retagged)
        # can only be older than since, the search's own cutoff.
        fired = frozenset(i for i in self.fired if i in created and created[i] >= since)
        return WatchCursor(since, fired)
