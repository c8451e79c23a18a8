"""Who the running task instance is, the same on every try, and what it keeps between tries.

Run names and data asset tags are how a retry finds what an earlier try created. A computation's name
ends with ``[af-<12 hex>/<n>]``, ``n`` naming the try lineage (:func:`try_lineage`); names ending with
``[af-<12 hex>]``, as releases before the lineage wrote them, are still read. A data asset's tag
``airflow-run:<20 hex>`` is kept exactly as earlier releases wrote it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any, NamedTuple

log = logging.getLogger(__name__)

#: Prefix of the tag that ties a data asset to the task instance that created it.
RUN_TAG_PREFIX = "airflow-run:"
#: Longest computation name the operator sets (Code Ocean shows names in narrow lists).
MAX_NAME_LENGTH = 200
#: ``[af-<hash>]`` or ``[af-<hash>/<lineage>]`` at the end of a computation's name.
_MARKER = re.compile(r"\[(af-[0-9a-f]{12})(?:/([0-9]+))?\]$")


class TaskIdentity(NamedTuple):
    """(dag_id, run_id, task_id, map_index) of a task instance: the same on every try, different for any other."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int

    @classmethod
    def of(cls, context: Any) -> TaskIdentity:
        ti = context["ti"]
        map_index = getattr(ti, "map_index", -1)
        run_id = getattr(ti, "run_id", None) or context["run_id"]
        return cls(ti.dag_id, run_id, ti.task_id, map_index if isinstance(map_index, int) else -1)

    @property
    def run_marker(self) -> str:
        """``af-<hash>``: the marker ending the name of the computation this task instance started."""
        identity = f"{self.dag_id}:{self.run_id}:{self.task_id}:{self.map_index}"
        return "af-" + hashlib.sha256(identity.encode()).hexdigest()[:12]

    @property
    def run_tag(self) -> str:
        """``airflow-run:<hash>``: the tag on the data asset this task instance created."""
        key = "\x1f".join(str(part) for part in self)
        return RUN_TAG_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:20]

    def run_name(self, base: str | None, lineage: int | None = None) -> str:
        """``"<base> [af-<hash>/<lineage>]"``; base defaults to ``airflow:<dag_id>:<run_id>:<task_id>:<map_index>``.

        Without a lineage (the task instance does not say which it is) the marker is ``[af-<hash>]``.
        """
        suffix = f" [{self.run_marker}]" if lineage is None else f" [{self.run_marker}/{lineage}]"
        text = base if base else "airflow:" + ":".join(str(part) for part in self)
        text = " ".join(text.split())
        limit = MAX_NAME_LENGTH - len(suffix)
        if len(text) > limit:
            text = text[: limit - 1] + "…"
        return text + suffix


def marker_of(name: str | None) -> tuple[str, int | None] | None:
    """``(run_marker, lineage)`` of a run name ending with a marker (lineage None in the old form), else None."""
    found = _MARKER.search(name or "")
    if found is None:
        return None
    return found.group(1), int(found.group(2)) if found.group(2) is not None else None


def try_lineage(context: Any, retries: Any) -> int | None:
    """The first try number of the running try's lineage: a first try and the retries that follow it.

    A clear sets ``max_tries = try_number + task.retries`` and a retry never changes ``max_tries``
    (``clear_task_instances`` in Airflow 2.11 and 3.x), so ``max_tries - retries + 1`` is the same on
    every retry and new after every clear; Airflow's own ``get_first_reschedule_date`` computes the
    lineage's first try the same way. None when the task instance does not say, or says something that
    does not fit (``retries`` changed since the clear): the caller then treats every try as a new lineage.
    """
    ti = context["ti"]
    max_tries, try_number = getattr(ti, "max_tries", None), getattr(ti, "try_number", None)
    if not isinstance(max_tries, int) or not isinstance(try_number, int) or not isinstance(retries, int):
        return None
    first = max_tries - retries + 1
    return first if 1 <= first <= try_number else None


def run_marker(dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
    """The deterministic marker identifying one task instance's run (the same for every try)."""
    return TaskIdentity(dag_id, run_id, task_id, map_index).run_marker


def run_tag(context: Any) -> str:
    """``airflow-run:<hash>``: the same for every try of one task instance, different for any other."""
    return TaskIdentity.of(context).run_tag


class TaskStore:
    """The task's ``task_state_store`` (Airflow 3.3+), or nothing; never fails the task.

    The store outlives a try (it is scoped to dag run, task and map index), which is what lets a retry
    after a worker crash find the remote work the crashed try started.
    """

    def __init__(self, context: Any) -> None:
        store = None
        try:
            store = context.get("task_state_store")
        except Exception:  # a plain dict-like context in tests, or an older Airflow
            store = None
        self._store = store

    @property
    def available(self) -> bool:
        return self._store is not None

    def get(self, key: str) -> Any:
        return self._call("read", "get", key)

    def set(self, key: str, value: Any) -> None:
        self._call("write", "set", key, value)

    def delete(self, key: str) -> None:
        self._call("delete", "delete", key)

    def _call(self, what: str, method: str, key: str, *args: Any) -> Any:
        if self._store is None:
            return None
        try:
            return getattr(self._store, method)(key, *args)
        except Exception as exc:
            log.warning("Could not %s %r in the task state store: %s", what, key, exc)
            return None
