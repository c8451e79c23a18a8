"""A tiny raw-socket HTTP server on 127.0.0.1 for what pytest-httpserver cannot do.

Each request it reads is answered by the next step of a script:

* ``"hang"``: read the request and never answer (the socket stays open until the server stops, or for
  ``hang_for`` seconds), so the client's read timeout is what ends the call;
* ``"reset"``: read the request, then close with SO_LINGER 0 so the client sees a connection reset;
* ``"drip"``: answer 200 with a long JSON body, one byte every 0.2 s: each byte comes well within any
  read timeout, so only a total deadline ends the call;
* ``bytes``: a complete raw HTTP response, sent before closing the connection.

When the script runs out, ``default`` answers. Every request line is recorded, so tests can count how
many requests actually reached the server.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

Step = str | bytes


def http_response(status: int, body: Any = None, *, reason: str = "X", headers: dict[str, str] | None = None) -> bytes:
    """A raw HTTP/1.1 response with a JSON body (or raw bytes), closing the connection."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    head = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(payload)}", "Connection: close"]
    if body is not None and not isinstance(body, bytes):
        head.append("Content-Type: application/json")
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


class RawServer:
    """See the module docstring. Use as a context manager; ``url`` is its base address."""

    def __init__(self, script: list[Step] | None = None, default: Step = "hang", hang_for: float = 10.0) -> None:
        self._script = list(script or [])
        self.hang_for = hang_for
        self._default = default
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        #: ``"METHOD /path?query"`` of every request read, in arrival order.
        self.requests: list[str] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RawServer:
        thread = threading.Thread(target=self._accept_loop, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def paths(self, method: str | None = None) -> list[str]:
        return [r.split(" ", 1)[1] for r in self.requests if method is None or r.startswith(f"{method} ")]

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        request_line = _read_request(conn)
        if request_line is None:
            conn.close()
            return
        with self._lock:
            self.requests.append(request_line)
            step = self._script.pop(0) if self._script else self._default
        if step == "hang":
            # Bounded, so a client that lost its timeout fails (a connection error) instead of hanging the suite.
            self._stop.wait(self.hang_for)
            with contextlib.suppress(OSError):
                conn.close()
            return
        if step == "drip":
            self._drip(conn)
            return
        if step == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            return
        assert isinstance(step, bytes), step
        with contextlib.suppress(OSError):
            conn.sendall(step)
        conn.close()

    def _drip(self, conn: socket.socket) -> None:
        body = json.dumps({"id": "c1", "name": "x" * 500}).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        with contextlib.suppress(OSError):
            conn.sendall(head.encode())
            for byte in body:
                if self._stop.wait(0.2):
                    break
                conn.sendall(bytes([byte]))
        with contextlib.suppress(OSError):
            conn.close()


def _read_request(conn: socket.socket) -> str | None:
    """Read one request (head and Content-Length body); return its request line without the version."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
    except OSError:
        return None
    return lines[0].rsplit(" ", 1)[0]


@contextlib.contextmanager
def closed_port() -> Iterator[str]:
    """An address on 127.0.0.1 where nothing listens (connections are refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    yield f"http://127.0.0.1:{port}"
