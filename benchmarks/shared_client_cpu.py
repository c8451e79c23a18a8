"""CPU per request of one shared ``httpx.AsyncClient``, by how many requests are in flight.

The triggers of one Code Ocean connection share one client; this measures what a poll costs the
triggerer's event loop. Starts ``codeocean-emulator`` in its own process on 127.0.0.1, creates one
simulated computation, then runs 64 concurrent loops of ``GET /api/v1/computations/{id}`` capped by a
semaphore at 1, 4, 16 and 64 requests in flight. Bounded: 2,000 requests per setting.

    python benchmarks/shared_client_cpu.py
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time

import httpx

from airflow_provider_codeocean.testing import SIMULATED_CAPSULE_ID

TOKEN = "cop_bench"
REQUESTS = 2000
LOOPS = 64


async def measure(url: str, computation_id: str, in_flight: int) -> tuple[float, float]:
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=100)) as client:
        gate = asyncio.Semaphore(in_flight)
        sent = 0

        async def loop() -> None:
            nonlocal sent
            while sent < REQUESTS:
                sent += 1
                async with gate:
                    response = await client.get(f"{url}/api/v1/computations/{computation_id}", auth=(TOKEN, ""))
                    response.raise_for_status()

        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(loop() for _ in range(LOOPS)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return REQUESTS / wall, cpu / REQUESTS * 1000


def main() -> None:
    emulator = shutil.which("codeocean-emulator") or sys.exit("codeocean-emulator is not installed")
    server = subprocess.Popen([emulator, "--port", "0", "--token", TOKEN], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        created = httpx.post(f"{url}/api/v1/computations", json={"capsule_id": SIMULATED_CAPSULE_ID}, auth=(TOKEN, ""))
        computation_id = created.raise_for_status().json()["id"]
        for in_flight in (1, 4, 16, 64):
            rate, cpu_ms = asyncio.run(measure(url, computation_id, in_flight))
            print(f"{in_flight:>3} in flight: {rate:7.0f} requests/s, {cpu_ms:5.2f} ms client CPU per request")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
