"""Throughput and latency of ``GET /api/v1/computations/{id}`` on the local Code Ocean emulator.

Starts an emulator in a subprocess (so server and clients do not share a GIL), creates one simulated
computation, then has ``--processes`` client processes each run an ``httpx.AsyncClient`` with
``--concurrency`` requests in flight over keep-alive connections, until ``--requests`` requests are
done or ``--seconds`` have passed. Only 127.0.0.1 is ever contacted.

    python benchmarks/emulator_throughput.py --client raw --requests 20000 --concurrency 64
    python benchmarks/emulator_throughput.py --client httpx --requests 5000 --concurrency 64
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

TOKEN = "cop_bench"
SIMULATED_CAPSULE_ID = "51a51a00-0000-4000-8000-000000000003"


async def _raw_client(base_url: str, path: str, count: int, concurrency: int, deadline: float) -> list[float]:
    """A minimal HTTP/1.1 keep-alive client: one connection per worker, almost no client CPU, so the
    figures show the server rather than the client library."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    auth = base64.b64encode(f"{TOKEN}:".encode()).decode()
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\n\r\n".encode()
    latencies: list[float] = []
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while remaining > 0 and time.monotonic() < deadline:
                remaining -= 1
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(head.decode(errors="replace"))
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def _httpx_client(base_url: str, path: str, count: int, concurrency: int, deadline: float) -> list[float]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    remaining = count
    async with httpx.AsyncClient(base_url=base_url, auth=(TOKEN, ""), limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0 and time.monotonic() < deadline:
                remaining -= 1
                started = time.perf_counter()
                response = await client.get(path)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"unexpected status {response.status_code}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


CLIENTS = {"httpx": _httpx_client, "raw": _raw_client}


def _client_process(args: tuple[str, str, str, int, int, float]) -> list[float]:
    kind, *rest = args
    return asyncio.run(CLIENTS[kind](*rest))  # type: ignore[arg-type]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000, help="total requests (all processes)")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight per process")
    parser.add_argument("--processes", type=int, default=1, help="client processes")
    parser.add_argument("--seconds", type=float, default=60.0, help="stop after this long regardless")
    parser.add_argument("--client", choices=sorted(CLIENTS), default="httpx", help="client implementation")
    parser.add_argument("--url", default=None, help="benchmark a running emulator (token cop_bench) instead")
    args = parser.parse_args()

    server = None
    base_url = args.url
    if base_url is None:
        server = subprocess.Popen(
            [sys.executable, "-m", "airflow_provider_codeocean.testing.cli", "--port", "0", "--token", TOKEN],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
    assert base_url.startswith(("http://127.0.0.1", "http://localhost")), "loopback only"
    try:
        created = httpx.post(
            f"{base_url}/api/v1/computations", json={"capsule_id": SIMULATED_CAPSULE_ID}, auth=(TOKEN, "")
        )
        created.raise_for_status()
        path = f"/api/v1/computations/{created.json()['id']}"
        per_process = args.requests // args.processes
        _client_process((args.client, base_url, path, 200, min(args.concurrency, 16), time.monotonic() + 10))
        started = time.perf_counter()
        deadline = time.monotonic() + args.seconds
        jobs: list[Any] = [(args.client, base_url, path, per_process, args.concurrency, deadline)] * args.processes
        if args.processes == 1:
            results = [_client_process(jobs[0])]
        else:
            with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
                results = pool.map(_client_process, jobs)
        elapsed = time.perf_counter() - started
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)
    # CPU the emulator process used (whole run, incl. start-up): shows whether server or clients limit.
    server_cpu = resource.getrusage(resource.RUSAGE_CHILDREN) if server is not None else None
    latencies = [value for result in results for value in result]
    print(f"requests:     {len(latencies)} in {elapsed:.2f} s")
    print(
        f"clients:      {args.client}, {args.processes} process(es) x {args.concurrency} concurrent keep-alive requests"
    )
    print(f"throughput:   {len(latencies) / elapsed:,.0f} requests/s")
    print(f"latency p50:  {_percentile(latencies, 0.50) * 1000:.2f} ms")
    print(f"latency p99:  {_percentile(latencies, 0.99) * 1000:.2f} ms")
    print(f"latency mean: {statistics.fmean(latencies) * 1000:.2f} ms")
    print(f"client CPU:   {time.process_time():.2f} s (main process)")
    if server_cpu is not None:
        print(f"server CPU:   {server_cpu.ru_utime + server_cpu.ru_stime:.2f} s (emulator process, incl. start-up)")


if __name__ == "__main__":
    main()
