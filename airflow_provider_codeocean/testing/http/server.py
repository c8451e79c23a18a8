"""A small asyncio HTTP/1.1 server: keep-alive, pipelining, chunked request bodies, and faults.

asyncio rather than ``ThreadingHTTPServer`` because it serves many idle keep-alive connections
without a thread each, and because every fault needs direct control of the socket: drop it mid
request, hold it open until the client gives up, or answer after a delay, without parking threads.
Handlers are synchronous and in-memory, so they run on the loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from email.utils import formatdate

from airflow_provider_codeocean.testing.http.faults import HTML_502, FaultInjector, FaultRule
from airflow_provider_codeocean.testing.http.messages import Request, Response, error_response
from airflow_provider_codeocean.testing.http.request_log import RequestLog

log = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
FILE_CHUNK = 256 * 1024
REASONS = {
    200: "OK", 201: "Created", 204: "No Content", 206: "Partial Content", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    411: "Length Required", 413: "Payload Too Large", 416: "Range Not Satisfiable", 423: "Locked",
    429: "Too Many Requests", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}  # fmt: skip


class _BadHttp(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Dropped(Exception):
    """The connection was deliberately dropped by a fault; stop serving it."""


class _TrackedProtocol(asyncio.StreamReaderProtocol):
    """Records its transport so that shutdown can close every accepted socket."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        serve: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
        registry: set[asyncio.Transport],
    ) -> None:
        super().__init__(reader, serve)
        self._registry = registry
        self._tracked: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._tracked = transport
        self._registry.add(transport)
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._tracked is not None:
            self._registry.discard(self._tracked)
        super().connection_lost(exc)


class HttpServer:
    def __init__(
        self,
        handle: Callable[[Request], Response],
        faults: FaultInjector,
        request_log: RequestLog,
        host: str,
        port: int,
    ) -> None:
        self._handle = handle
        self._faults = faults
        self._log = request_log
        self._host = host
        self._port = port
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._date = ""
        self._date_at = 0.0
        self._closing = False
        self._transports: set[asyncio.Transport] = set()

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        loop = asyncio.get_running_loop()

        def protocol() -> _TrackedProtocol:
            return _TrackedProtocol(asyncio.StreamReader(limit=MAX_HEAD), self._serve, self._transports)

        self._server = await loop.create_server(protocol, self._host, self._port, reuse_address=True, backlog=1024)

    async def close(self) -> None:
        self._closing = True
        if self._server is not None:
            # Stop accepting first and let accepts already under way finish wiring up their
            # transport: closing the server under them makes CPython drop the accepted socket
            # unclosed (Server._attach asserts), leaving the client hanging on a dead connection.
            loop = asyncio.get_running_loop()
            for sock in self._server.sockets:
                loop.remove_reader(sock.fileno())
            await asyncio.sleep(0.02)
            self._server.close()
        while self._connections:
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
        # Connections whose task never got to run still own a socket; abort them.
        for transport in list(self._transports):
            transport.abort()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)

    def _http_date(self) -> str:
        now = time.time()
        if now - self._date_at >= 1.0:
            self._date = formatdate(now, usegmt=True)
            self._date_at = now
        return self._date

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while not self._closing and await self._serve_one(reader, writer):
                pass
        except (_Dropped, ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._connections.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection should close."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        except asyncio.LimitOverrunError:
            await self._write(writer, error_response(431, "request head too large"), False, False)
            return False
        started = time.monotonic()
        try:
            method, target, version, headers = _parse_head(head)
            body = await self._read_body(reader, writer, headers)
        except _BadHttp as exc:
            await self._write(writer, error_response(exc.status, str(exc)), False, False)
            return False
        keep_alive = _keep_alive(version, headers)
        request = Request(method, target, headers, body)
        decision = self._faults.decide(method, request.path)
        if decision.delay:
            await asyncio.sleep(decision.delay)
        rule = decision.rule
        if rule is None:
            response = self._call(request)
            fault = "latency" if decision.delay else None
            self._log.record(method, request.path, request.query, response.status, fault, started)
        elif rule.kind == "status":
            response = _fault_response(rule)
            self._log.record(method, request.path, request.query, response.status, "status", started)
        elif rule.kind == "reset":
            self._log.record(method, request.path, request.query, None, "reset", started)
            _reset(writer)
            raise _Dropped
        elif rule.kind == "hang":
            self._log.record(method, request.path, request.query, None, "hang", started)
            await _hang(reader, rule.hold_for)
            _reset(writer)
            raise _Dropped
        else:  # ambiguous: the work is done, only the answer is lost
            handled = self._call(request)
            if rule.then == "reset":
                self._log.record(method, request.path, request.query, None, "ambiguous", started, handled.status)
                _reset(writer)
                raise _Dropped
            response = _fault_response(rule)
            self._log.record(
                method, request.path, request.query, response.status, "ambiguous", started,
                handled.status,
            )  # fmt: skip
        await self._write(writer, response, keep_alive, method == "HEAD")
        return keep_alive

    def _call(self, request: Request) -> Response:
        try:
            response = self._handle(request)
        except Exception:
            log.exception("emulator handler failed for %s %s", request.method, request.path)
            return error_response(500, "internal emulator error")
        return response

    async def _read_body(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]
    ) -> bytes:
        if headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return await _read_chunked(reader)
        length_text = headers.get("content-length")
        if length_text is None:
            return b""
        if not length_text.strip().isdigit():
            raise _BadHttp(400, "invalid Content-Length")
        length = int(length_text)
        if length > MAX_BODY:
            raise _BadHttp(413, "request body too large")
        return await reader.readexactly(length) if length else b""

    async def _write(self, writer: asyncio.StreamWriter, response: Response, keep_alive: bool, head_only: bool) -> None:
        status = response.status
        lines = [
            f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}",
            f"Date: {self._http_date()}",
            "Server: codeocean-emulator",
        ]
        if status != 204:
            lines.append(f"Content-Length: {response.content_length}")
        if response.content_type and (response.body or response.file is not None):
            lines.append(f"Content-Type: {response.content_type}")
        lines.extend(f"{name}: {value}" for name, value in response.headers)
        if not keep_alive:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if head_only:
            writer.write(head)
        elif response.file is None:
            writer.write(head + response.body)
        else:
            writer.write(head)
            await _stream_file(writer, response)
        await writer.drain()


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        raise _BadHttp(400, "undecodable request head") from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _BadHttp(400, "malformed request line")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise _BadHttp(400, "malformed header line")
        headers[name.lower()] = value.strip()
    if not target.startswith("/"):
        raise _BadHttp(400, "request target must be a path")
    return method.upper(), target, version, headers


def _keep_alive(version: str, headers: dict[str, str]) -> bool:
    connection = headers.get("connection", "").lower()
    if version == "HTTP/1.0":
        return "keep-alive" in connection
    return "close" not in connection


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip(), 16)
        except ValueError:
            raise _BadHttp(400, "invalid chunk size") from None
        if size == 0:
            # Trailers end with an empty line.
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return b"".join(chunks)
        total += size
        if total > MAX_BODY:
            raise _BadHttp(413, "request body too large")
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def _stream_file(writer: asyncio.StreamWriter, response: Response) -> None:
    assert response.file is not None
    remaining = response.file.length
    with response.file.path.open("rb") as handle:
        handle.seek(response.file.offset)
        while remaining > 0:
            chunk = handle.read(min(FILE_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            writer.write(chunk)
            await writer.drain()


def _fault_response(rule: FaultRule) -> Response:
    if rule.html:
        response = Response(rule.status, HTML_502, content_type="text/html")
    else:
        message = {
            429: "Too Many Requests: the Computation API is overloaded, back off and retry",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }.get(rule.status, f"injected fault {rule.status}")
        response = error_response(rule.status, message)
    if rule.retry_after is not None:
        retry_after = rule.retry_after
        value = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
        response.headers.append(("Retry-After", value))
    return response


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN, as a crashed proxy or load balancer would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _hang(reader: asyncio.StreamReader, hold_for: float | None) -> None:
    """Never answer: wait until the client closes, the server stops, or ``hold_for`` elapses."""

    async def _until_eof() -> None:
        while await reader.read(65536):
            pass

    with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
        await asyncio.wait_for(_until_eof(), hold_for)
