"""CPU per request of one shared async HTTP client, by client and by how many requests are in flight.

The triggers of one Code Ocean connection share one client; this measures what a poll costs the
triggerer's event loop, and is the figure the async transport's client was chosen on. Starts
``codeocean-emulator`` in its own process on 127.0.0.1, creates one simulated computation, then sends
``GET /api/v1/computations/{id}`` from 64 concurrent loops capped by a semaphore at 1, 8, 32 and 64
requests in flight, through:

* ``httpx``: one shared ``httpx.AsyncClient`` (pool of 100), the body parsed with ``json.loads``;
* ``aiohttp``: one shared ``aiohttp.ClientSession`` (pool of 100), the body parsed with ``json.loads``;
* ``provider``: the provider's own ``AsyncTransport.send_once`` (aiohttp, its in-flight gate, error
  mapping, and the ``Computation`` model), which is what the triggers' poller sends with.

Bounded: 4,000 measured requests per setting, after 200 to warm the pool.

    python benchmarks/shared_client_cpu.py
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx

from airflow_provider_codeocean.api import endpoints
from airflow_provider_codeocean.api.async_transport import AsyncTransport, acquire_client, basic_auth, release_client
from airflow_provider_codeocean.api.settings import ClientSettings
from airflow_provider_codeocean.testing import SIMULATED_CAPSULE_ID

TOKEN = "cop_bench"
REQUESTS = 4000
WARM_UP = 200
LOOPS = 64
IN_FLIGHT = (1, 8, 32, 64)
CLIENTS = ("httpx", "aiohttp", "provider")

Get = Callable[[], Awaitable[object]]


async def cpu_per_request(get: Get, in_flight: int) -> tuple[float, float]:
    gate = asyncio.Semaphore(in_flight)

    async def run(count: int) -> None:
        remaining = count

        async def loop() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                async with gate:
                    await get()

        await asyncio.gather(*(loop() for _ in range(LOOPS)))

    await run(WARM_UP)
    wall, cpu = time.perf_counter(), time.process_time()
    await run(REQUESTS)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return REQUESTS / wall, cpu / REQUESTS * 1000


async def measure(kind: str, url: str, computation_id: str, in_flight: int) -> tuple[float, float]:
    path = f"{url}/api/v1/computations/{computation_id}"
    headers = {"Authorization": basic_auth(TOKEN), "Accept": "application/json"}
    if kind == "httpx":
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(limits=limits) as client:

            async def get_httpx() -> object:
                return json.loads((await client.get(path, headers=headers)).content)

            return await cpu_per_request(get_httpx, in_flight)
    if kind == "aiohttp":
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:

            async def get_aiohttp() -> object:
                async with session.get(path, headers=headers) as response:
                    return json.loads(await response.read())

            return await cpu_per_request(get_aiohttp, in_flight)
    settings = ClientSettings(base_url=url, token=TOKEN)
    transport = AsyncTransport(settings, acquire_client(settings))
    endpoint = endpoints.get_computation(computation_id)
    try:
        return await cpu_per_request(lambda: transport.send_once(endpoint), in_flight)
    finally:
        await release_client(settings)


def main() -> None:
    emulator = shutil.which("codeocean-emulator") or sys.exit("codeocean-emulator is not installed")
    server = subprocess.Popen([emulator, "--port", "0", "--token", TOKEN], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        created = httpx.post(f"{url}/api/v1/computations", json={"capsule_id": SIMULATED_CAPSULE_ID}, auth=(TOKEN, ""))
        computation_id = created.raise_for_status().json()["id"]
        for kind in CLIENTS:
            for in_flight in IN_FLIGHT:
                rate, cpu_ms = asyncio.run(measure(kind, url, computation_id, in_flight))
                print(
                    f"{kind:8} {in_flight:>3} in flight: {rate:7.0f} requests/s, {cpu_ms:5.3f} ms CPU per request",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
