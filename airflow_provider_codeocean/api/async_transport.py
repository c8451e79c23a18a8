"""The asynchronous transport: httpx, one client per (event loop, Code Ocean address) shared by every
hook and trigger that talks to it, so thousands of waiting triggers use one connection pool.

The token is sent per request, not stored on the shared client, so connections with different
tokens to the same domain can share the pool without sharing credentials.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from typing import TypeVar

import httpx
import tenacity

from airflow_provider_codeocean.api.endpoint import Endpoint, connection_failed, decode, no_answer
from airflow_provider_codeocean.api.retry import retry_kwargs
from airflow_provider_codeocean.api.settings import ClientSettings

T = TypeVar("T")

MAX_CONNECTIONS = 100


@dataclass
class _Shared:
    client: httpx.AsyncClient
    users: int = 0


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[object, ...], _Shared]] = (
    weakref.WeakKeyDictionary()
)


def _clients_of_this_loop() -> dict[tuple[object, ...], _Shared]:
    loop = asyncio.get_running_loop()
    return _clients.setdefault(loop, {})


def acquire_client(settings: ClientSettings) -> httpx.AsyncClient:
    """The shared client for these settings on the running loop; pair with :func:`release_client`."""
    clients = _clients_of_this_loop()
    shared = clients.get(settings.pool_key)
    if shared is None or shared.client.is_closed:
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS),
            verify=settings.verify,
            headers={"User-Agent": settings.user_agent, "Accept": "application/json"},
        )
        shared = clients[settings.pool_key] = _Shared(client)
    shared.users += 1
    return shared.client


async def release_client(settings: ClientSettings) -> None:
    clients = _clients_of_this_loop()
    shared = clients.get(settings.pool_key)
    if shared is None:
        return
    shared.users -= 1
    if shared.users <= 0:
        del clients[settings.pool_key]
        await shared.client.aclose()


def shared_client_count() -> int:
    """How many shared clients are open on the running loop (for tests and benchmarks)."""
    return len(_clients_of_this_loop())


class AsyncTransport:
    def __init__(self, settings: ClientSettings, client: httpx.AsyncClient) -> None:
        self._settings = settings
        self._client = client
        self._auth = httpx.BasicAuth(settings.token, "")

    async def send(self, endpoint: Endpoint[T]) -> T:
        retrying = tenacity.AsyncRetrying(**retry_kwargs(self._settings, endpoint))
        return await retrying(self._send_once, endpoint)

    async def _send_once(self, endpoint: Endpoint[T]) -> T:
        settings = self._settings
        try:
            response = await self._client.request(
                endpoint.method,
                settings.api_url + endpoint.path,
                params=endpoint.params,
                json=endpoint.json,
                headers=settings.headers,
                auth=self._auth,
            )
        except httpx.TimeoutException:
            raise no_answer(settings, endpoint) from None
        except httpx.HTTPError as exc:
            raise connection_failed(settings, endpoint, exc) from None
        return decode(endpoint, response.status_code, response.headers, response.content)
