"""A bounded log of the requests the emulator answered, for tests to assert on.

Only method, path, query, outcome and timing are kept: never headers (so never the Authorization
header) and never bodies (data asset sources may carry cloud credentials). Signed-URL signatures in
query strings are redacted for the same reason.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

REDACTED_QUERY_KEYS = ("signature", "token")


class RequestLog:
    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=max(1, limit))
        self._seq = 0

    def record(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        status: int | None,
        fault: str | None,
        started: float,
        handled_status: int | None = None,
    ) -> None:
        safe_query = {
            key: (["<redacted>"] if key.lower() in REDACTED_QUERY_KEYS else list(values))
            for key, values in query.items()
        }
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "query": safe_query,
            "status": status,
            "fault": fault,
            "time": time.time(),
            "duration_ms": round((time.monotonic() - started) * 1000, 3),
        }
        if handled_status is not None:
            entry["handled_status"] = handled_status
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._entries.append(entry)

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._entries if e["seq"] > since]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
