"""When does one ``GET capsules/{id}/computations`` cost the triggerer less than one GET per wait?

The list is not paginated: it carries the capsule's whole history, so its cost grows with the number
of runs the capsule ever had. This measures, through the provider's own async transport (aiohttp,
JSON decoding and the lenient models included), the client CPU of one ``GET computations/{id}`` and of
one list request for capsules with 10 to 5,000 runs, against ``codeocean-emulator`` in its own
process, and fits ``list = base + per_item * runs``. The poller's constants in
``airflow_provider_codeocean/triggers/poller.py`` come from this fit.

    python benchmarks/list_crossover.py
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

from airflow_provider_codeocean.api import endpoints
from airflow_provider_codeocean.api.async_transport import AsyncTransport, acquire_client, release_client
from airflow_provider_codeocean.api.settings import ClientSettings
from airflow_provider_codeocean.testing import SIMULATED_CAPSULE_ID

TOKEN = "cop_bench"
HISTORY = (10, 100, 1000, 5000)
SAMPLES = 2000  # single GETs
LIST_SAMPLES_ITEMS = 200_000  # list requests sample about this many computations in all


async def cpu_per_call(transport: AsyncTransport, endpoint: Any, calls: int) -> float:
    for _ in range(min(calls, 20)):  # warm the pool
        await transport.send_once(endpoint)
    cpu = time.process_time()
    for _ in range(calls):
        await transport.send_once(endpoint)
    return (time.process_time() - cpu) / calls * 1000


async def measure(url: str, computation_id: str) -> tuple[float, float]:
    settings = ClientSettings(base_url=url, token=TOKEN)
    transport = AsyncTransport(settings, acquire_client(settings))
    try:
        single = await cpu_per_call(transport, endpoints.get_computation(computation_id), SAMPLES)
        history = len(await transport.send_once(endpoints.list_computations(SIMULATED_CAPSULE_ID)))
        calls = max(20, LIST_SAMPLES_ITEMS // history)
        listed = await cpu_per_call(transport, endpoints.list_computations(SIMULATED_CAPSULE_ID), calls)
    finally:
        await release_client(settings)
    return single, listed


def main() -> None:
    emulator = shutil.which("codeocean-emulator") or sys.exit("codeocean-emulator is not installed")
    server = subprocess.Popen([emulator, "--port", "0", "--token", TOKEN], stdout=subprocess.PIPE, text=True)
    rows: list[tuple[int, float, float]] = []
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        with httpx.Client(base_url=url, auth=(TOKEN, "")) as client:
            runs = 0
            computation_id = ""
            for history in HISTORY:
                while runs < history:
                    created = client.post("/api/v1/computations", json={"capsule_id": SIMULATED_CAPSULE_ID})
                    computation_id = created.raise_for_status().json()["id"]
                    runs += 1
                single, listed = asyncio.run(measure(url, computation_id))
                rows.append((history, single, listed))
                print(
                    f"history {history:5}: GET computations/{{id}} {single:.3f} ms CPU; "
                    f"list {listed:8.3f} ms CPU = {listed / single:6.1f} single GETs",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait(timeout=10)
    single = statistics.mean(r[1] for r in rows)
    per_item = (rows[-1][2] - rows[0][2]) / (rows[-1][0] - rows[0][0])
    base = rows[0][2] - per_item * rows[0][0]
    print(
        f"fit: single GET {single:.3f} ms; list = {base:.3f} ms + {per_item * 1000:.1f} us per run "
        f"(in single GETs: base {base / single:.2f}, per run {per_item / single:.4f}); "
        f"the list pays off for W waits while runs < (W - {base / single:.2f}) / {per_item / single:.4f}"
    )


if __name__ == "__main__":
    main()
