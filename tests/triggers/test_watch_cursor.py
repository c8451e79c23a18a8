"""The watch cursor's rules: what is due, and how far the cursor may move (no I/O)."""

from __future__ import annotations

from typing import Any

from airflow_provider_codeocean._common.watch_cursor import SETTLE_SECONDS, WatchCursor
from airflow_provider_codeocean.models import DataAsset


def asset(asset_id: str, created: int, state: str = "ready") -> DataAsset:
    return DataAsset.from_json({"id": asset_id, "name": asset_id, "state": state, "created": created})


def ids(assets: Any) -> list[str]:
    return [a.id for a in assets]


def test_due_is_ready_new_matches_oldest_first_ties_by_id() -> None:
    cursor = WatchCursor(since=1000.0)
    matches = [asset("b", 1005), asset("a", 1005), asset("old", 999), asset("draft", 1001, "draft"), asset("c", 1002)]
    assert ids(cursor.due(matches)) == ["c", "a", "b"]


def test_announced_and_in_flight_assets_are_not_due_again() -> None:
    cursor = WatchCursor(since=1000.0).announced(["a"])
    matches = [asset("a", 1001), asset("b", 1002), asset("c", 1003)]
    assert ids(cursor.due(matches, in_flight=["b"])) == ["c"]


def test_since_stays_at_the_oldest_draft_so_a_late_ready_asset_is_still_announced() -> None:
    now = 100_000
    cursor = WatchCursor(since=1000.0)
    matches = [asset("draft", 2000, "draft"), asset("new", now)]
    cursor = cursor.settled(matches).announced(["new"])
    assert cursor.since == 2000.0
    # The draft becomes ready after newer assets were announced: it is still due, and only it.
    later = [asset("draft", 2000), asset("new", now)]
    assert ids(cursor.due(later)) == ["draft"]


def test_since_stays_settle_seconds_behind_the_newest_asset_and_forgets_older_ids() -> None:
    cursor = WatchCursor(since=1000.0).announced(["a", "b"])
    matches = [asset("a", 5000), asset("b", 9000)]
    moved = cursor.settled(matches)
    assert moved.since == 9000 - SETTLE_SECONDS
    assert moved.fired == frozenset({"b"})  # "a" is before since: settled for good
    # An asset indexed late, created between since and the newest, is still due.
    assert ids(moved.due([*matches, asset("late", 8900)])) == ["late"]


def test_since_stays_at_or_before_assets_announced_but_not_confirmed() -> None:
    cursor = WatchCursor(since=1000.0)
    matches = [asset("a", 2000), asset("b", 90_000)]
    assert cursor.settled(matches, held=[2000.0]).since == 2000.0
    # Not confirmed (Airflow never stored the event): it is due again.
    assert ids(cursor.settled(matches, held=[2000.0]).due(matches)) == ["a", "b"]


def test_the_cursor_never_moves_back_and_round_trips_through_json() -> None:
    cursor = WatchCursor(since=5000.0, fired=frozenset({"x"}))
    assert cursor.settled([asset("x", 5000), asset("old-draft", 10, "draft")]) == cursor
    assert cursor.settled([]) == cursor
    assert WatchCursor.from_json(cursor.to_json()) == cursor


def test_a_new_watch_starts_after_what_exists_by_code_oceans_clock() -> None:
    existing = [asset("a", 900), asset("b", 1000), asset("c", 1000), asset("draft", 950, "draft")]
    cursor = WatchCursor.after(existing)
    assert cursor == WatchCursor(1000.0, frozenset({"b", "c"}))
    # Neither an existing asset nor a draft that existed becomes due; one created in the same second does.
    later = [*existing[:3], asset("draft", 950), asset("new", 1000)]
    assert ids(cursor.due(later)) == ["new"]
    assert WatchCursor.after([]) == WatchCursor(0.0)
