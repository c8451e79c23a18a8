"""The finished item as Code Ocean has it, read when a task resumes from its trigger.

The computation trigger's event carries a summary (id, state, end status, exit code...): Airflow logs
the whole event when it fires, and the owner and parameters have no business there. The task's return
value is the full JSON, so the task reads it once more; if that read fails, the summary serves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from airflow_provider_codeocean.errors import CodeOceanError

T = TypeVar("T")

log = logging.getLogger(__name__)


def refreshed(get: Callable[[str], T], item_id: str, summary: T, what: str = "item") -> T:
    """``get(item_id)``, or ``summary`` when Code Ocean cannot be read right now or the item changed.

    What the trigger judged decides the task's outcome (a run deleted or re-labelled since must not
    turn a success into something else); the read only completes the return value.
    """
    try:
        item = get(item_id)
    except CodeOceanError as exc:
        log.warning("Could not read %s %s again; the task's result is the trigger's summary: %s", what, item_id, exc)
        return summary
    return item if getattr(item, "state", None) == getattr(summary, "state", None) else summary
