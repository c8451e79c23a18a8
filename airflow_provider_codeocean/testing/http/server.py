"""The emulator's HTTP/1.1 server: h11 does the framing, we keep the socket (for faults).

h11 parses requests (keep-alive, pipelining, chunked bodies, ``Expect: 100-continue``) and frames
responses; the bytes go through our own asyncio streams because every fault needs direct control of
the socket: drop it mid request, hold it open until the client gives up, or answer after a delay,
without parking threads. Handlers are synchronous and in-memory, so they run on the loop thread.
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
from http import HTTPStatus

import h11

from airflow_provider_codeocean.testing.http.faults import HTML_502, FaultInjector, FaultRule
from airflow_provider_codeocean.testing.http.messages import Request, Response, error_response
from airflow_provider_codeocean.testing.http.request_log import RequestLog

log = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
READ_SIZE = 64 * 1024
FILE_CHUNK = 256 * 1024
# The first byte of a TLS record carrying a handshake (a ClientHello, when a client uses https://).
TLS_HANDSHAKE = 0x16
TLS_REFUSAL = "this is a plain-HTTP server: use http://, not https://"


class _BadHttp(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Dropped(Exception):
    """The connection was deliberately dropped by a fault; stop serving it."""


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


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
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        try:
            first = await reader.read(READ_SIZE)
            if first[:1] == bytes([TLS_HANDSHAKE]):
                # Without this the TLS client waits for a ServerHello until its own timeout, since
                # the ClientHello never completes an HTTP request head.
                await self._send_error(conn, writer, 400, TLS_REFUSAL)
                return
            conn.receive_data(first)
            while not self._closing and await self._serve_one(conn, reader, writer):
                pass
        except (_Dropped, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _next_event(self, conn: h11.Connection, reader: asyncio.StreamReader) -> h11.Event:
        while True:
            event = conn.next_event()
            if not isinstance(event, type):  # h11's sentinels NEED_DATA and PAUSED are classes
                return event
            if event is not h11.NEED_DATA:
                # PAUSED comes only after a complete request, and nothing reads past one.
                raise _BadHttp(400, "request out of order")
            conn.receive_data(await reader.read(READ_SIZE))

    async def _read_request(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> Request | None:
        """The next request with its whole body; None when the client closed the connection."""
        event = await self._next_event(conn, reader)
        if isinstance(event, h11.ConnectionClosed):
            return None
        if not isinstance(event, h11.Request):
            raise _BadHttp(400, "malformed request")
        if event.http_version not in (b"1.0", b"1.1"):
            raise _BadHttp(400, "unsupported HTTP version")
        target = event.target.decode("latin-1")
        if not target.startswith("/"):
            raise _BadHttp(400, "request target must be a path")
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in event.headers}
        if int(headers.get("content-length", "0")) > MAX_BODY:
            raise _BadHttp(413, "request body too large")
        if conn.they_are_waiting_for_100_continue:
            writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
        chunks: list[bytes] = []
        size = 0
        while not isinstance(body_event := await self._next_event(conn, reader), h11.EndOfMessage):
            if not isinstance(body_event, h11.Data):
                raise _BadHttp(400, "incomplete request body")
            size += len(body_event.data)
            if size > MAX_BODY:
                raise _BadHttp(413, "request body too large")
            chunks.append(body_event.data)
        return Request(event.method.decode("ascii").upper(), target, headers, b"".join(chunks))

    async def _serve_one(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Serve one request; False when the connection should close."""
        try:
            request = await self._read_request(conn, reader, writer)
        except h11.RemoteProtocolError as exc:
            await self._send_error(conn, writer, exc.error_status_hint, str(exc))
            return False
        except _BadHttp as exc:
            await self._send_error(conn, writer, exc.status, str(exc))
            return False
        if request is None:
            return False
        started = time.monotonic()
        method = request.method
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
        await self._write(conn, writer, response, method == "HEAD")
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
            return True
        return False

    def _call(self, request: Request) -> Response:
        try:
            response = self._handle(request)
        except Exception:
            log.exception("emulator handler failed for %s %s", request.method, request.path)
            return error_response(500, "internal emulator error")
        return response

    async def _send_error(self, conn: h11.Connection, writer: asyncio.StreamWriter, status: int, message: str) -> None:
        # The request is unusable, so the connection ends after the answer.
        response = error_response(status, message)
        response.headers.append(("Connection", "close"))
        with contextlib.suppress(h11.LocalProtocolError):
            await self._write(conn, writer, response)

    async def _write(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, response: Response, head_only: bool = False
    ) -> None:
        status = response.status
        headers = [("Date", self._http_date()), ("Server", "codeocean-emulator")]
        if status != 204:
            headers.append(("Content-Length", str(response.content_length)))
        if response.content_type and (response.body or response.file is not None):
            headers.append(("Content-Type", response.content_type))
        headers.extend(response.headers)
        writer.write(conn.send(h11.Response(status_code=status, headers=headers, reason=_reason(status))))
        # A HEAD answer announces the length of the body it does not carry.
        if head_only or status == 204:
            pass
        elif response.file is None:
            if response.body:
                writer.write(conn.send(h11.Data(data=response.body)))
        else:
            await _stream_file(conn, writer, response)
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()


async def _stream_file(conn: h11.Connection, writer: asyncio.StreamWriter, response: Response) -> None:
    assert response.file is not None
    remaining = response.file.length
    with response.file.path.open("rb") as handle:
        handle.seek(response.file.offset)
        while remaining > 0:
            chunk = handle.read(min(FILE_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            writer.write(conn.send(h11.Data(data=chunk)))
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
