"""How many deferred Code Ocean waits one triggerer process holds: CPU, memory, requests and latency.

Each (workload, variant) pair runs in a fresh worker process (this script re-invoked with ``--worker``)
against a fresh ``codeocean-emulator`` in its own process on 127.0.0.1, so the worker's CPU and RSS are
its own and every emulator starts empty.

Workloads: ``own`` gives each of the N waits a computation of its own capsule (N capsules); ``spread``
puts the N computations on 10 capsules. The capsules are simulated runs (no process) with a one-week
duration, and the benchmark completes each computation itself with the emulator's control API
(``POST /_emulator/computations/{id}/complete``) at a time it records, so each completion time is
known exactly and both workloads use the same mechanism. The N computations are created with
``POST /api/v1/computations`` before the worker starts, and the emulator's request log is cleared then.

Variants:

* ``provider``: ``CodeOceanComputationTrigger`` (``capsule_id`` is passed when its signature has it);
* ``httpx-per-poll``: the typical provider pattern, defined here: the connection looked up once per
  trigger, then on every poll a new ``httpx.AsyncClient``, one ``GET computations/{id}`` with basic
  auth, close, sleep the poll interval with ±10 % jitter;
* ``aiohttp-per-poll``: the same with a new ``aiohttp.ClientSession`` per poll (dbt Cloud's pattern).

The worker drives the triggers through Airflow's own ``TriggerRunner``: it puts ``RunTrigger``
workloads (classpath plus kwargs encrypted with ``Trigger.encrypt_kwargs``, as the scheduler stores
them) into ``runner.to_create`` and awaits ``runner.create_triggers()``, so Airflow decrypts and
inflates each trigger and runs it in ``run_trigger`` (greenback portal, log binding, event deque). No
metadata database or supervisor is involved: the loop that the supervisor protocol would drive is
replaced by a 50 ms loop that feeds ``to_create``, reads ``runner.events`` (an event's time is the
tick at which it appears) and, every second as ``TriggerRunner.arun`` does, calls
``cleanup_finished_triggers()`` (a pass over every running trigger, so its cost is in every
variant's figures, as in a real triggerer). ``AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING`` silences the
per-trigger log lines (started, fired, completed): the log calls still run, and Airflow's filtering
logger drops them, while warnings still reach stderr. A real triggerer also ships each line to the
trigger's log, which is not measured here.

Timeline (t = 0 when the worker starts the triggers; P = ``--poll``, W = ``--window``, default P):
trigger starts are spread uniformly over [0, P); the steady window is [P, P + W), when every trigger
is polling and nothing has completed; completions are spread uniformly over [P + W, 4P + W), in an
order unrelated to the start order. A run ends when all N events have arrived or at 7P + W (the last
completion + 3P).

Printed per workload and variant (cores = CPU seconds per wall second):

* CPU cores: the worker's user+sys CPU over the steady window (read by a thread at the window's
  wall-clock bounds, so a saturated event loop cannot shift them), per second;
* ms/poll: the worker's CPU in the steady window / API requests the emulator served in it (a request
  that lists a capsule's computations counts as one);
* CPU s/wait: the worker's CPU from t = 0 to the end of the run / N;
* RSS MB: the worker's peak RSS (``ru_maxrss``), and in brackets the same before the triggers started
  (Airflow imported, workloads built);
* req/wait: API requests served from t = 0 to the end / N (control requests are not counted);
* latency p50/p99/max: event time - completion time, over the events that fired;
* lag p99: the event loop's oversleep of a 100 ms ticker, from t = 0 to the end;
* emu cores: the emulator process's CPU over the steady window, per second.

    python benchmarks/triggerer_scale.py --n 200 --poll 5
    python benchmarks/triggerer_scale.py --n 10000 --poll 30 --workload own --variants provider
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import inspect
import itertools
import json
import os
import platform
import random
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any

import httpx

TOKEN = "cop_triggerer_scale_token"
CONN_ID = "codeocean_default"
VARIANTS = ("provider", "httpx-per-poll", "aiohttp-per-poll")
WORKLOADS = ("own", "spread")
SPREAD_CAPSULES = 10
WEEK = 7 * 86400.0
JITTER = 0.1
TICK = 0.05
LAG_TICK = 0.1
CLEANUP_EVERY = 1.0
SETUP_CONCURRENCY = 16
COMPLETE_CONCURRENCY = 32
CAPSULE_NAMESPACE = uuid.UUID("0b5e4c1a-7d2f-4e8a-9c3b-5a6d7e8f9012")
PER_POLL_CLASSES = {"httpx-per-poll": "HttpxPerPollTrigger", "aiohttp-per-poll": "AiohttpPerPollTrigger"}
UUID_IN_PATH = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# -- the per-poll triggers (built on first lookup, so the parent process never imports Airflow) ---------


def __getattr__(name: str) -> Any:
    """``TriggerRunner`` imports ``__main__.HttpxPerPollTrigger``; this resolves it in the worker."""
    if name in PER_POLL_CLASSES.values():
        return _per_poll_trigger_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


async def _connection_address(conn_id: str) -> tuple[str, str]:
    """Base URL and token of a connection, looked up the way typical provider triggers do."""
    try:
        from airflow.providers.common.compat.connection import get_async_connection
    except ImportError:
        from airflow.hooks.base import BaseHook
        from asgiref.sync import sync_to_async

        conn = await sync_to_async(BaseHook.get_connection)(conn_id)
    else:
        conn = await get_async_connection(conn_id)
    host = str(conn.host).rstrip("/")
    return (host if "://" in host else f"https://{host}"), str(conn.password)


@functools.cache
def _per_poll_trigger_classes() -> dict[str, type[Any]]:
    import aiohttp
    from airflow.triggers.base import BaseTrigger, TriggerEvent

    class PerPollTrigger(BaseTrigger):  # type: ignore[misc]
        """Look the connection up once, then poll with a new HTTP client each time."""

        def __init__(self, conn_id: str, computation_id: str, poll_interval: float) -> None:
            super().__init__()
            self.conn_id = conn_id
            self.computation_id = computation_id
            self.poll_interval = poll_interval

        def serialize(self) -> tuple[str, dict[str, Any]]:
            kwargs = {"conn_id": self.conn_id, "computation_id": self.computation_id}
            return f"{__name__}.{type(self).__name__}", {**kwargs, "poll_interval": self.poll_interval}

        async def run(self) -> AsyncIterator[TriggerEvent]:
            base_url, token = await _connection_address(self.conn_id)
            url = f"{base_url}/api/v1/computations/{self.computation_id}"
            headers = {"Authorization": "Basic " + base64.b64encode(f"{token}:".encode()).decode()}
            while True:
                computation = await self.get_json(url, headers)
                if computation["state"] == "completed":
                    status = "success" if computation.get("end_status") == "succeeded" else "failed"
                    yield TriggerEvent({"status": status, "computation_id": self.computation_id})
                    return
                await asyncio.sleep(self.poll_interval * random.uniform(1 - JITTER, 1 + JITTER))

        async def get_json(self, url: str, headers: dict[str, str]) -> dict[str, Any]:
            raise NotImplementedError

    class HttpxPerPollTrigger(PerPollTrigger):
        async def get_json(self, url: str, headers: dict[str, str]) -> dict[str, Any]:
            async with httpx.AsyncClient(headers=headers) as client:
                response = await client.get(url)
                response.raise_for_status()
                body: dict[str, Any] = response.json()
                return body

    class AiohttpPerPollTrigger(PerPollTrigger):
        async def get_json(self, url: str, headers: dict[str, str]) -> dict[str, Any]:
            async with aiohttp.ClientSession(headers=headers) as session, session.get(url) as response:
                response.raise_for_status()
                body: dict[str, Any] = await response.json()
                return body

    return {cls.__name__: cls for cls in (HttpxPerPollTrigger, AiohttpPerPollTrigger)}


# -- worker: one variant in one process, driven through Airflow's TriggerRunner ----------------------------


@dataclass
class Pending:
    at: float
    workload: Any  # airflow.executors.workloads.RunTrigger


@dataclass
class WorkerRecord:
    events: dict[str, tuple[float, str]] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)
    cpu: dict[str, tuple[float, float]] = field(default_factory=dict)
    lags: list[float] = field(default_factory=list)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _percentile(values: Iterable[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _sleep_until(wall: float) -> None:
    await asyncio.sleep(max(0.0, wall - time.time()))


def _trigger_class(variant: str) -> type[Any]:
    if variant == "provider":
        from airflow_provider_codeocean.triggers.computation import CodeOceanComputationTrigger

        return CodeOceanComputationTrigger
    return _per_poll_trigger_classes()[PER_POLL_CLASSES[variant]]


def _build_workloads(variant: str, plan: dict[str, Any]) -> list[Pending]:
    """One ``RunTrigger`` per wait, kwargs serialized and encrypted as the scheduler stores them."""
    from airflow.executors.workloads import RunTrigger
    from airflow.models.trigger import Trigger

    trigger_class = _trigger_class(variant)
    takes_capsule = "capsule_id" in inspect.signature(trigger_class).parameters
    pending = []
    for index, (computation_id, capsule_id, start) in enumerate(plan["waits"]):
        kwargs = {"conn_id": CONN_ID, "computation_id": computation_id, "poll_interval": plan["poll"]}
        if takes_capsule:
            kwargs["capsule_id"] = capsule_id
        classpath, serialized = trigger_class(**kwargs).serialize()
        workload = RunTrigger(id=index + 1, classpath=classpath, encrypted_kwargs=Trigger.encrypt_kwargs(serialized))
        pending.append(Pending(start, workload))
    return sorted(pending, key=lambda p: p.at)


def _sample_cpu_at(marks: list[tuple[str, float]], into: dict[str, tuple[float, float]]) -> None:
    """Read the process's CPU at fixed wall times from a thread, so a busy event loop cannot delay it."""

    def sample() -> None:
        for name, at in marks:
            time.sleep(max(0.0, at - time.time()))
            into[name] = (time.time(), _cpu_seconds())

    threading.Thread(target=sample, name="cpu-marks", daemon=True).start()


async def _probe_lag(lags: list[float]) -> None:
    while True:
        before = time.perf_counter()
        await asyncio.sleep(LAG_TICK)
        lags.append(time.perf_counter() - before - LAG_TICK)


def _drain(runner: Any, record: WorkerRecord, computation_ids: list[str], now: float) -> None:
    while runner.events:
        entry = runner.events.popleft()
        payload = entry.event.payload
        computation_id = payload.get("computation_id") or computation_ids[entry.trigger_id - 1]
        record.events[computation_id] = (now, str(payload.get("status")))
    while runner.failed_triggers:
        trigger_id, exc = runner.failed_triggers.popleft()
        record.failures.append((computation_ids[trigger_id - 1], repr(exc)))


async def _stop_all(runner: Any) -> None:
    tasks = [details["task"] for details in runner.triggers.values()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _drive(pending: list[Pending], plan: dict[str, Any], t0: float) -> WorkerRecord:
    from airflow.jobs.triggerer_job_runner import TriggerRunner

    runner = TriggerRunner()
    record = WorkerRecord()
    computation_ids = [wait[0] for wait in plan["waits"]]
    queue = deque(Pending(t0 + p.at, p.workload) for p in pending)
    deadline, next_cleanup = t0 + plan["deadline"], t0 + CLEANUP_EVERY
    window = [("window_start", t0 + plan["poll"]), ("window_end", t0 + plan["poll"] + plan["window"])]
    await _sleep_until(t0)
    record.cpu["start"] = (time.time(), _cpu_seconds())
    _sample_cpu_at(window, record.cpu)
    lag_task = asyncio.create_task(_probe_lag(record.lags))
    while len(record.events) + len(record.failures) < len(computation_ids) and time.time() < deadline:
        now = time.time()
        while queue and queue[0].at <= now:
            runner.to_create.append(queue.popleft().workload)
        await runner.create_triggers()
        if now >= next_cleanup:
            await runner.cleanup_finished_triggers()
            next_cleanup = now + CLEANUP_EVERY
        _drain(runner, record, computation_ids, time.time())
        await asyncio.sleep(TICK)
    record.cpu["end"] = (time.time(), _cpu_seconds())
    lag_task.cancel()
    await _stop_all(runner)
    return record


def _protocol_stream() -> IO[str]:
    """The worker's own stdout, for the parent only; anything else printed goes to stderr."""
    stream = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    return stream


def worker_main(variant: str) -> None:
    protocol = _protocol_stream()
    plan = json.loads(sys.stdin.readline())
    pending = _build_workloads(variant, plan)
    idle_rss = _rss_mb()
    print("ready", file=protocol, flush=True)
    t0 = float(sys.stdin.readline())
    record = asyncio.run(_drive(pending, plan, t0))
    result = {
        "events": record.events,
        "failures": record.failures,
        "cpu": dict(record.cpu),
        "rss_mb": _rss_mb(),
        "idle_rss_mb": idle_rss,
        "lag_p99_ms": _percentile(record.lags, 0.99) * 1000,
    }
    print(json.dumps(result), file=protocol, flush=True)


# -- parent: emulator, computations, completions, and the figures -------------------------------------------


@dataclass
class Case:
    workload: str
    variant: str
    n: int
    poll: float
    window: float

    @property
    def last_completion(self) -> float:
        return 4 * self.poll + self.window

    @property
    def deadline(self) -> float:
        return self.last_completion + 3 * self.poll


@dataclass
class Emulator:
    process: subprocess.Popen[str]
    url: str

    @classmethod
    def start(cls, capsules_dir: Path) -> Emulator:
        beside_python = Path(sys.executable).with_name("codeocean-emulator")
        command = str(beside_python) if beside_python.exists() else shutil.which("codeocean-emulator")
        if command is None:
            sys.exit("codeocean-emulator is not installed")
        process = subprocess.Popen(
            [command, "--port", "0", "--token", TOKEN, "--capsules", str(capsules_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url:
            sys.exit("codeocean-emulator did not start")
        return cls(process, url)

    def cpu_seconds(self) -> float:
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        utime, stime = stat.rsplit(")", 1)[1].split()[11:13]
        return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def capsule_ids(workload: str, n: int) -> list[str]:
    count = n if workload == "own" else SPREAD_CAPSULES
    return [str(uuid.uuid5(CAPSULE_NAMESPACE, f"capsule-{index}")) for index in range(count)]


def write_capsules(directory: Path, ids: list[str]) -> None:
    for index, capsule_id in enumerate(ids):
        folder = directory / f"capsule-{index:05d}"
        folder.mkdir(parents=True)
        simulate = {"duration": WEEK, "outcome": "succeeded", "exit_code": 0}
        metadata = {"id": capsule_id, "name": f"Benchmark capsule {index}", "simulate": simulate}
        (folder / "capsule.json").write_text(json.dumps(metadata))


async def create_computations(url: str, capsules: list[str]) -> list[str]:
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, auth=(TOKEN, ""), timeout=60) as client:

        async def create(capsule_id: str) -> str:
            async with gate:
                response = await client.post("/api/v1/computations", json={"capsule_id": capsule_id})
                return str(response.raise_for_status().json()["id"])

        ids = await asyncio.gather(*(create(capsule_id) for capsule_id in capsules))
        (await client.delete("/_emulator/requests")).raise_for_status()
    return list(ids)


def make_plan(case: Case, computations: list[str], capsules: list[str]) -> dict[str, Any]:
    starts = [case.poll * index / case.n for index in range(case.n)]
    return {
        "poll": case.poll,
        "window": case.window,
        "deadline": case.deadline,
        "waits": [[c, capsule, start] for c, capsule, start in zip(computations, capsules, starts, strict=True)],
    }


def completion_schedule(case: Case, computations: list[str], rng: random.Random, t0: float) -> list[tuple[float, str]]:
    first, spread = t0 + case.poll + case.window, 3 * case.poll
    order = list(range(case.n))
    rng.shuffle(order)
    return sorted((first + spread * (rank + 0.5) / case.n, cid) for rank, cid in zip(order, computations, strict=True))


async def complete_on_schedule(url: str, schedule: list[tuple[float, str]]) -> dict[str, float]:
    """Complete each computation at its time; returns the wall time each completion request was sent."""
    done: dict[str, float] = {}
    gate = asyncio.Semaphore(COMPLETE_CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, auth=(TOKEN, ""), timeout=60) as client:

        async def complete(at: float, computation_id: str) -> None:
            await _sleep_until(at)
            async with gate:
                done[computation_id] = time.time()
                response = await client.post(f"/_emulator/computations/{computation_id}/complete", json={})
                response.raise_for_status()

        await asyncio.gather(*(complete(at, cid) for at, cid in schedule))
    return done


async def sample_emulator_cpu(emulator: Emulator, case: Case, t0: float) -> tuple[float, float]:
    await _sleep_until(t0 + case.poll)
    start_wall, start_cpu = time.time(), emulator.cpu_seconds()
    await _sleep_until(t0 + case.poll + case.window)
    return emulator.cpu_seconds() - start_cpu, time.time() - start_wall


def fetch_requests(url: str, since: int) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/_emulator/requests", params={"since": since}, auth=(TOKEN, ""), timeout=120)
    entries: list[dict[str, Any]] = response.raise_for_status().json()["requests"]
    return entries


@dataclass
class Worker:
    process: subprocess.Popen[str]

    @classmethod
    def start(cls, variant: str, plan: dict[str, Any], env: dict[str, str]) -> Worker:
        process = subprocess.Popen(
            [sys.executable, __file__, "--worker", variant],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        worker = cls(process)
        worker.send(json.dumps(plan))
        if worker.receive() != "ready":
            sys.exit(f"the {variant} worker failed to start")
        return worker

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def receive(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def result(self) -> dict[str, Any]:
        line = self.receive()
        self.process.wait(timeout=120)
        if not line:
            sys.exit(f"a worker exited with code {self.process.returncode} without a result")
        result: dict[str, Any] = json.loads(line)
        return result


def worker_env(airflow_home: str, url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=airflow_home,
        AIRFLOW__CORE__UNIT_TEST_MODE="True",
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        AIRFLOW_CONN_CODEOCEAN_DEFAULT=json.dumps({"conn_type": "codeocean", "host": url, "password": TOKEN}),
    )
    return env


@dataclass
class Observed:
    case: Case
    worker: dict[str, Any]
    completed: dict[str, float]
    requests: list[dict[str, Any]]
    emulator_cpu: float
    emulator_wall: float


async def conduct(
    case: Case, emulator: Emulator, worker: Worker, schedule: list[tuple[float, str]], t0: float
) -> Observed:
    cpu_task = asyncio.create_task(sample_emulator_cpu(emulator, case, t0))
    complete_task = asyncio.create_task(complete_on_schedule(emulator.url, schedule))
    emulator_cpu, emulator_wall = await cpu_task
    early = await asyncio.to_thread(fetch_requests, emulator.url, 0)  # keeps the bounded log from overflowing
    result = await asyncio.to_thread(worker.result)
    completed = await complete_task
    late = await asyncio.to_thread(fetch_requests, emulator.url, early[-1]["seq"] if early else 0)
    return Observed(case, result, completed, early + late, emulator_cpu, emulator_wall)


def run_case(case: Case, capsules_dir: Path, capsules: list[str], airflow_home: str, seed: int) -> Observed:
    rng = random.Random(seed)
    wait_capsules = [capsules[index % len(capsules)] for index in range(case.n)]
    emulator = Emulator.start(capsules_dir)
    worker: Worker | None = None
    try:
        computations = asyncio.run(create_computations(emulator.url, wait_capsules))
        plan = make_plan(case, computations, wait_capsules)
        worker = Worker.start(case.variant, plan, worker_env(airflow_home, emulator.url))
        t0 = time.time() + 1.0
        worker.send(repr(t0))
        schedule = completion_schedule(case, computations, rng, t0)
        return asyncio.run(conduct(case, emulator, worker, schedule, t0))
    finally:
        if worker is not None and worker.process.poll() is None:
            worker.process.kill()
        emulator.stop()


# -- figures ---------------------------------------------------------------------------------------------


def api_requests(entries: list[dict[str, Any]], start: float = 0.0, end: float = float("inf")) -> int:
    return sum(1 for e in entries if e["path"].startswith("/api/") and start <= e["time"] < end)


def request_mix(entries: list[dict[str, Any]]) -> str:
    mix = Counter(
        f"{e['method']} {UUID_IN_PATH.sub('{id}', e['path'])}" for e in entries if e["path"].startswith("/api/")
    )
    return ", ".join(f"{count} {endpoint}" for endpoint, count in mix.most_common())


def log_gaps(entries: list[dict[str, Any]]) -> int:
    seqs = [e["seq"] for e in entries]
    return sum(1 for before, after in itertools.pairwise(seqs) if after != before + 1)


def fired_summary(case: Case, worker: dict[str, Any]) -> str:
    statuses = Counter(status for _, status in worker["events"].values())
    text = f"{sum(statuses.values())}/{case.n}: " + ", ".join(f"{s} {c}" for s, c in statuses.most_common())
    return text + (f" ({len(worker['failures'])} failed)" if worker["failures"] else "")


def window_figures(observed: Observed) -> tuple[str, str]:
    """CPU cores and CPU ms per poll over the steady window, or n/a when the run ended before it."""
    cpu = observed.worker["cpu"]
    if "window_end" not in cpu:
        return "n/a", "n/a"
    (w0, c0), (w1, c1) = cpu["window_start"], cpu["window_end"]
    polls = api_requests(observed.requests, w0, w1)
    return f"{(c1 - c0) / max(w1 - w0, TICK):.3f}", f"{(c1 - c0) * 1000 / max(1, polls):.2f}"


def row(observed: Observed) -> list[str]:
    case, worker, entries = observed.case, observed.worker, observed.requests
    (r0, cpu_start), (_, cpu_end) = worker["cpu"]["start"], worker["cpu"]["end"]
    latencies = [at - observed.completed[cid] for cid, (at, _) in worker["events"].items() if cid in observed.completed]
    return [
        case.workload,
        case.variant,
        fired_summary(case, worker),
        *window_figures(observed),
        f"{(cpu_end - cpu_start) / case.n:.4f}",
        f"{worker['rss_mb']:.0f} ({worker['idle_rss_mb']:.0f})",
        f"{api_requests(entries, r0) / case.n:.2f}",
        "/".join(f"{_percentile(latencies, q):.1f}" for q in (0.5, 0.99, 1.0)),
        f"{worker['lag_p99_ms']:.0f}",
        f"{observed.emulator_cpu / observed.emulator_wall:.3f}",
    ]


HEADER = [
    "workload", "variant", "fired", "CPU cores", "ms/poll", "CPU s/wait", "RSS MB", "req/wait",
    "latency s p50/p99/max", "lag p99 ms", "emu cores",
]  # fmt: skip


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)) for r in [HEADER, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def notes(observed: Observed) -> list[str]:
    case, worker = observed.case, observed.worker
    lines = [f"{case.workload}/{case.variant} requests: {request_mix(observed.requests)}"]
    if log_gaps(observed.requests):
        lines.append(f"{case.workload}/{case.variant}: the emulator's request log overflowed; counts are low")
    failures = Counter(error[:100] for _, error in worker["failures"])
    lines += [f"{case.workload}/{case.variant} failures: {count} x {error}" for error, count in failures.most_common()]
    return lines


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine_facts() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line), "?")
    packages = ("apache-airflow", "airflow-provider-codeocean", "httpx", "aiohttp")
    versions = ", ".join(f"{name} {_package_version(name)}" for name in packages)
    system = f"{platform.platform()}, Python {platform.python_version()}"
    return f"machine: {os.cpu_count()} cores ({model}), {system}, {versions}"


def timeline(poll: float, window: float) -> str:
    return (
        f"timeline: starts over [0, {poll:g}) s, steady window [{poll:g}, {poll + window:g}) s, "
        f"completions over [{poll + window:g}, {4 * poll + window:g}) s, deadline {7 * poll + window:g} s"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=1000, help="deferred waits (default 1000)")
    parser.add_argument("--poll", type=float, default=30.0, help="poll interval in seconds (default 30)")
    parser.add_argument("--window", type=float, default=None, help="steady window in seconds (default: --poll)")
    parser.add_argument("--workload", choices=(*WORKLOADS, "both"), default="both")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, default all three")
    parser.add_argument("--seed", type=int, default=1, help="seed of the completion order (default 1)")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.variants = args.variants.split(",")
    if unknown := set(args.variants) - set(VARIANTS):
        parser.error(f"unknown variant(s): {', '.join(sorted(unknown))}")
    return args


def main() -> None:
    args = parse_args()
    if args.worker:
        worker_main(args.worker)
        return
    window = args.window if args.window is not None else args.poll
    print("command: " + shlex.join(["python", *sys.argv]))
    print(machine_facts())
    print(timeline(args.poll, window), flush=True)
    observed: list[Observed] = []
    with tempfile.TemporaryDirectory(prefix="triggerer-scale-") as scratch:
        for workload in WORKLOADS if args.workload == "both" else (args.workload,):
            capsules = capsule_ids(workload, args.n)
            write_capsules(Path(scratch, workload), capsules)
            for variant in args.variants:
                case = Case(workload, variant, args.n, args.poll, window)
                print(f"running {workload}/{variant} ...", file=sys.stderr, flush=True)
                observed.append(
                    run_case(case, Path(scratch, workload), capsules, str(Path(scratch, "airflow")), args.seed)
                )
    print()
    print(table([row(o) for o in observed]))
    print()
    print("\n".join(line for o in observed for line in notes(o)))


if __name__ == "__main__":
    main()
