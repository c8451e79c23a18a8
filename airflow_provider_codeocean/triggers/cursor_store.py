"""Where a data asset watch keeps its cursor: an Airflow Variable, so it outlives the triggerer.

In the triggerer (Airflow 3) Variables go through the Task SDK to the API server; anywhere else
(``dag.test()``, tests) straight to the metadata database. The calls are synchronous in every Airflow
3 line, so they run in a worker thread: the triggerer's event loop never blocks on them.
"""

from __future__ import annotations

import json
from typing import Any

#: Variables written by watches start with this, then a digest of the connection id and the search.
KEY_PREFIX = "codeocean_watch_"


class VariableCursorStore:
    """One JSON value under one Variable key."""

    def __init__(self, key: str) -> None:
        self.key = key

    async def load(self) -> dict[str, Any] | None:
        from asgiref.sync import sync_to_async

        raw = await sync_to_async(_variable().get, thread_sensitive=False)(self.key, None)
        if raw is None:
            return None
        value = json.loads(raw) if isinstance(raw, str) else raw
        return value if isinstance(value, dict) else None

    async def save(self, value: dict[str, Any]) -> None:
        from asgiref.sync import sync_to_async

        text = json.dumps(value, sort_keys=True)
        await sync_to_async(_set, thread_sensitive=False)(self.key, text)


def _set(key: str, text: str) -> None:
    _variable().set(key, text, description="Cursor of a Code Ocean data asset watch (airflow-provider-codeocean)")


def _variable() -> Any:
    from airflow.sdk.execution_time import task_runner

    if getattr(task_runner, "SUPERVISOR_COMMS", None) is not None:
        from airflow.sdk import Variable

        return Variable
    from airflow.models import Variable as DatabaseVariable

    return DatabaseVariable
