"""The asynchronous transport: aiohttp, one session per (event loop, Code Ocean address) shared by every
hook and trigger that talks to it, so thousands of waiting triggers use one connection pool.

Why aiohttp and not httpx: measured with ``benchmarks/shared_client_cpu.py`` (figures in
``docs/deferrable.md``), a shared httpx client costs several times the CPU per request of a shared aiohttp
session, and more as requests overlap (httpcore rescans its pool on every request), which alone would
exceed what 10,000 waits at a 30 s poll may cost the triggerer.

Requests in flight are bounded by a semaphore no larger than the connection pool, so a burst of polls
waits in the semaphore's FIFO (O(1) per request) and never in the client's pool. Every request has a
total deadline (connect + read timeout), so a server that answers a byte at a time cannot hold a poll.

The token is sent per request, not stored on the shared session, so connections with different
tokens to the same domain can share the pool without sharing credentials.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import urllib.request
import weakref
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlencode, urlsplit

import aiohttp
import tenacity
import yarl

from airflow_provider_codeocean.api.retry import retry_kwargs
from airflow_provider_codeocean.api.settings import ClientSettings
from airflow_provider_codeocean.api.wire import Endpoint, connection_failed, decode, no_answer

T = TypeVar("T")

#: Requests in flight per shared session; the pool has exactly as many connections, so none queue in it.
MAX_IN_FLIGHT = 48


@dataclass
class SharedSession:
    """One aiohttp session, the gate that bounds its requests in flight, and how many hooks hold it."""

    session: aiohttp.ClientSession
    proxy: str | None = None
    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAX_IN_FLIGHT))
    users: int = 0

    @property
    def is_closed(self) -> bool:
        return bool(self.session.closed)


_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[object, ...], SharedSession]] = (
    weakref.WeakKeyDictionary()
)


def _sessions_of_this_loop() -> dict[tuple[object, ...], SharedSession]:
    loop = asyncio.get_running_loop()
    return _sessions.setdefault(loop, {})


def _ssl(verify: bool | str) -> ssl.SSLContext | bool:
    if verify is False:
        return False
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return True


def _proxy_for(base_url: str) -> str | None:
    """HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as requests honours them for the sync transport.

    Read once per session: aiohttp's ``trust_env`` would look them (and ~/.netrc) up in a worker
    thread on every request, which costs more CPU than the request itself.
    """
    parts = urlsplit(base_url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)


def acquire_client(settings: ClientSettings) -> SharedSession:
    """The shared session for these settings on the running loop; pair with :func:`release_client`."""
    sessions = _sessions_of_this_loop()
    shared = sessions.get(settings.pool_key)
    if shared is None or shared.is_closed:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=MAX_IN_FLIGHT, limit_per_host=MAX_IN_FLIGHT, ssl=_ssl(settings.verify)
            ),
            timeout=aiohttp.ClientTimeout(
                total=settings.connect_timeout + settings.read_timeout,
                sock_connect=settings.connect_timeout,
                sock_read=settings.read_timeout,
            ),
            headers={"User-Agent": settings.user_agent, "Accept": "application/json"},
        )
        # aiohttp resends an idempotent request once when a pooled connection turns out closed; our
        # retry policy (or the poller's schedule) decides about resending, so there is one retry layer.
        session._retry_connection = False
        shared = sessions[settings.pool_key] = SharedSession(session, proxy=_proxy_for(settings.base_url))
    shared.users += 1
    return shared


async def release_client(settings: ClientSettings) -> None:
    sessions = _sessions_of_this_loop()
    shared = sessions.get(settings.pool_key)
    if shared is None:
        return
    shared.users -= 1
    if shared.users <= 0:
        del sessions[settings.pool_key]
        await shared.session.close()


def shared_client_count() -> int:
    """How many shared sessions are open on the running loop (for tests and benchmarks)."""
    return len(_sessions_of_this_loop())


def basic_auth(token: str) -> str:
    """The ``Authorization`` header value: the token is the user name, the password is empty."""
    return "Basic " + base64.b64encode(f"{token}:".encode()).decode("ascii")


class AsyncTransport:
    def __init__(self, settings: ClientSettings, shared: SharedSession) -> None:
        self._settings = settings
        self._client = shared
        self._headers = {**settings.headers, "Authorization": basic_auth(settings.token)}

    @property
    def settings(self) -> ClientSettings:
        return self._settings

    async def send(self, endpoint: Endpoint[T]) -> T:
        """Send with the retry policy (429, 5xx, lost connections; see :mod:`~.retry`)."""
        retrying = tenacity.AsyncRetrying(**retry_kwargs(self._settings, endpoint))
        return await retrying(self.send_once, endpoint)

    def _url(self, endpoint: Endpoint[T]) -> yarl.URL:
        # Encoded once here, as the sync transport does (ids are already quoted as path segments), so
        # yarl neither requotes the path nor leaves '/' unescaped in the query.
        url = self._settings.api_url + endpoint.path
        if endpoint.params:
            url += "?" + urlencode(endpoint.params)
        return yarl.URL(url, encoded=True)

    async def send_once(self, endpoint: Endpoint[T]) -> T:
        """Send once, no retries: for callers that schedule their own (the triggers' shared poller)."""
        settings = self._settings
        try:
            async with (
                self._client.gate,
                self._client.session.request(
                    endpoint.method,
                    self._url(endpoint),
                    json=endpoint.json,
                    headers=self._headers,
                    proxy=self._client.proxy,
                ) as response,
            ):
                body = await response.read()
        except asyncio.TimeoutError:
            raise no_answer(settings, endpoint) from None
        except aiohttp.ClientError as exc:
            raise connection_failed(settings, endpoint, exc) from None
        return decode(endpoint, response.status, response.headers, body)
