"""The provider on a real Airflow 3 deployment: separate processes, LocalExecutor, the emulator as Code Ocean.

Starts, each in its own process group and with its own log file under a throwaway directory:

* the Code Ocean emulator (``codeocean-emulator --port 0``) serving the example capsules (each run made
  to last a few seconds, as real ones last minutes, so the task really defers) and the bundled data;
* ``airflow api-server`` (REST API and the execution API the workers report to), ``airflow scheduler``
  (LocalExecutor), ``airflow dag-processor`` and ``airflow triggerer``, sharing one metadata database
  (SQLite, which Airflow 3's LocalExecutor accepts, as ``airflow standalone`` does).

Then it triggers ``example_codeocean_seed_flow`` through the REST API and watches it to the end. It
passes only if the DAG run succeeds, every task succeeds, the capsule ran exactly once in Code Ocean,
and the deferred wait was served by the triggerer process started here: while the run task was
deferred, the REST API showed its trigger assigned to that triggerer's job, and the trigger's log was
written by that job. Everything is bounded in time; every process started here is stopped (SIGTERM to
its process group, SIGKILL after a deadline) whatever happens.

Usage: deployment_check.py [--bin-dir DIR] [--keep] [--timeout SECONDS]
``--bin-dir`` is the environment whose ``airflow`` and ``codeocean-emulator`` to run (default: this
Python's). Exit status 0 when the check passed, 1 when it failed (the reason and log tails are printed).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = ROOT / "example_dags"
DAG_ID = "example_codeocean_seed_flow"
RUN_TASK = "run_coverage_summary"
COVERAGE_CAPSULE_ID = "7f3d2a10-5c4e-4b8a-9e21-0c0de0ce0001"
# How long each capsule run lasts here: long enough that the operator defers before it finishes.
# Long enough, too, that the scheduler has processed the deferring worker's exit before the trigger fires:
# Airflow 3.3 can otherwise mistake that stale exit for a failure of the resumed try (apache/airflow#72716,
# #67287); the operators' retries then reattach, but the check would wait out a retry delay.
RUN_SECONDS = 12
ASSET_READY_DELAY = 10.0
STOP_GRACE = 15.0
TERMINAL_RUN_STATES = ("success", "failed")


class CheckFailed(Exception):
    pass


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Deployment:
    work: Path
    bin_dir: Path
    deadline: float
    services: list[Service] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def remaining(self, cap: float) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise CheckFailed("the check ran out of time")
        return min(cap, left)

    def start(self, name: str, *args: str, env: dict[str, str] | None = None, user: str | None = None) -> Service:
        """Start ``args`` (a command of ``bin_dir``, or an absolute path) as ``user`` (default: this one)."""
        log = self.work / f"{name}.log"
        with log.open("wb") as out:
            # A new session: the service and every child it forks (LocalExecutor workers, uvicorn
            # workers, capsule runs) share one process group, stopped as a whole at the end.
            process = subprocess.Popen(
                [str(self.bin_dir / args[0]), *args[1:]],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env if env is not None else self.env,
                cwd=self.work,
                start_new_session=True,
                user=user,
            )
        service = Service(name, process, log)
        self.services.append(service)
        print(f"  started {name} (pid {process.pid}, log {log})", flush=True)
        return service

    def stop_all(self) -> None:
        """SIGTERM every process group started here, then SIGKILL what is left after STOP_GRACE."""
        for service in reversed(self.services):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(service.process.pid, signal.SIGTERM)
        end = time.monotonic() + STOP_GRACE
        for service in reversed(self.services):
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.process.wait(max(0.1, end - time.monotonic()))
        for service in self.services:
            # The group may outlive its leader (a LocalExecutor worker, a capsule run): kill it all.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(service.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.process.wait(5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_json(
    method: str, url: str, *, token: str | None = None, body: Any = None, basic: str | None = None, timeout: float = 10
) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if basic:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{basic}:".encode()).decode())
    with urllib.request.urlopen(request, timeout=timeout) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def clean_env() -> dict[str, str]:
    """This environment without any Airflow setting (a test runner's AIRFLOW_HOME must not leak in)."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "_AIRFLOW", "PYTEST", "CODEOCEAN_EXAMPLE"))
    }


def slow_capsules(target: Path, run_seconds: int = RUN_SECONDS) -> Path:
    """A copy of the example capsules whose runs last run_seconds longer (the originals stay untouched)."""
    shutil.copytree(EXAMPLE_DAGS / "capsules", target)
    for run in target.glob("*/code/run"):
        run.rename(run.with_name("run_example"))
        run.write_text(
            "#!/usr/bin/env bash\n"
            "# Added by the deployment check: real runs take minutes, so the operator surely defers.\n"
            f"sleep {run_seconds}\n"
            'exec ./run_example "$@"\n'
        )
        run.chmod(0o755)
    return target


def start_emulator(dep: Deployment, token: str, run_seconds: int = RUN_SECONDS, **options: str) -> str:
    """Start the emulator (``options``: more command-line options, e.g. ``buckets="/path"``); its URL."""
    url_file = dep.work / "emulator.url"
    log = dep.work / "emulator.log"
    capsules = slow_capsules(dep.work / "capsules", run_seconds)
    options = {
        "--port": "0",
        "--token": token,
        "--capsules": str(capsules),
        "--data-assets": str(EXAMPLE_DAGS / "data" / "assets"),
        "--state-dir": str(dep.work / "emulator-state"),
        "--asset-ready-delay": str(ASSET_READY_DELAY),
        **{f"--{name.replace('_', '-')}": value for name, value in options.items()},
    }
    command = [str(dep.bin_dir / "codeocean-emulator"), *(part for pair in options.items() for part in pair)]
    with url_file.open("wb") as out, log.open("wb") as err:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=clean_env(),
            start_new_session=True,
        )
    dep.services.append(Service("emulator", process, log))
    print(f"  started emulator (pid {process.pid}, log {log})", flush=True)
    end = time.monotonic() + dep.remaining(30)
    while time.monotonic() < end:
        url = url_file.read_text().strip()
        if url:
            return url.splitlines()[0]
        if process.poll() is not None:
            raise CheckFailed(f"the emulator exited with {process.returncode}")
        time.sleep(0.1)
    raise CheckFailed("the emulator printed no URL within 30 s")


def airflow_env(
    dep: Deployment, api_port: int, emulator_url: str, token: str, overrides: dict[str, str] | None = None
) -> dict[str, str]:
    """The settings every Airflow process gets; ``overrides`` changes the executor, database and the like."""
    home = dep.work / "airflow"
    home.mkdir()
    secret = base64.urlsafe_b64encode(os.urandom(32)).decode()
    env = clean_env()
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # The other examples stay paused (the daily one would start a run of its own).
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__FERNET_KEY": secret,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            # Workers report to the execution API; it must name the api-server's real port.
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            # Every process must sign and check the workers' tokens with the same secret.
            "AIRFLOW__API_AUTH__JWT_SECRET": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "AIRFLOW__API__SECRET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            # The provider's connection, as a deployment would set it (or in a secrets backend).
            "AIRFLOW_CONN_CODEOCEAN_DEFAULT": json.dumps(
                {"conn_type": "codeocean", "host": emulator_url, "password": token}
            ),
            "CODEOCEAN_EXAMPLE_POLL_INTERVAL": "1",
        }
    )
    env.update(overrides or {})
    return env


def wait_for(what: str, dep: Deployment, cap: float, probe: Any, interval: float = 1.0) -> Any:
    end = time.monotonic() + dep.remaining(cap)
    last_error: Exception | None = None
    while time.monotonic() < end:
        for service in dep.services:
            if not service.alive():
                raise CheckFailed(f"{service.name} exited with {service.process.returncode} while waiting for {what}")
        try:
            result = probe()
        except (OSError, urllib.error.URLError, ValueError, KeyError) as exc:
            last_error = exc
            result = None
        if result:
            return result
        time.sleep(interval)
    raise CheckFailed(f"timed out waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


def migrate(dep: Deployment) -> None:
    print("==> airflow db migrate", flush=True)
    result = subprocess.run(
        [str(dep.bin_dir / "airflow"), "db", "migrate"],
        env=dep.env,
        cwd=dep.work,
        capture_output=True,
        timeout=dep.remaining(240),
        check=False,
    )
    (dep.work / "db-migrate.log").write_bytes(result.stdout + result.stderr)
    if result.returncode != 0:
        output = result.stdout.decode()[-3000:] + result.stderr.decode()[-3000:]
        raise CheckFailed("airflow db migrate failed:\n" + output)


@dataclass
class Api:
    """The REST API of the api-server started here, with a token from the simple auth manager."""

    url: str
    token: str = ""

    def get(self, path: str) -> Any:
        return http_json("GET", f"{self.url}/api/v2{path}", token=self.token)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return http_json(method, f"{self.url}/api/v2{path}", token=self.token, body=body)


def start_airflow(dep: Deployment, api_port: int, *extra: tuple[str, ...]) -> tuple[Api, Service]:
    """Start the api-server, scheduler, dag-processor, triggerer (and ``extra`` commands); wait until usable."""
    print("==> Airflow services", flush=True)
    dep.start("api-server", "airflow", "api-server", "--host", "127.0.0.1", "--port", str(api_port), "--workers", "1")
    dep.start("scheduler", "airflow", "scheduler")
    dep.start("dag-processor", "airflow", "dag-processor")
    triggerer = dep.start("triggerer", "airflow", "triggerer")
    for name, *command in extra:
        dep.start(name, *command)

    api = Api(f"http://127.0.0.1:{api_port}")
    wait_for("the api-server", dep, 120, lambda: http_json("GET", f"{api.url}/api/v2/monitor/health"))
    api.token = wait_for("an API token", dep, 30, lambda: http_json("GET", f"{api.url}/auth/token"))["access_token"]

    def triggerer_alive() -> Any:
        health = api.get("/monitor/health")
        return health.get("triggerer", {}).get("status") == "healthy" and health

    wait_for("the triggerer's heartbeat", dep, 90, triggerer_alive)
    wait_for(f"the dag-processor to parse {DAG_ID}", dep, 120, lambda: api.get(f"/dags/{DAG_ID}"))
    return api, triggerer


@dataclass
class Outcome:
    """What the REST API showed of one run of the seed flow."""

    run_id: str
    run: dict[str, Any]
    states: dict[str, str]
    task_instances: list[dict[str, Any]]
    seen_states: list[str]
    trigger_seen: dict[str, Any]


def trigger_and_watch(dep: Deployment, api: Api, on_deferred: Any = None) -> Outcome:
    """Unpause and trigger the seed flow through the REST API and poll it to the end.

    ``on_deferred(run_id, task_instance)`` is called once, the first time the run task is seen deferred.
    """
    print(f"==> unpausing and triggering {DAG_ID} through the REST API", flush=True)
    api.call("PATCH", f"/dags/{DAG_ID}", {"is_paused": False})
    run_id = f"deployment_check_{int(time.time())}"
    api.call("POST", f"/dags/{DAG_ID}/dagRuns", {"dag_run_id": run_id, "logical_date": None})

    seen_states: list[str] = []
    trigger_seen: dict[str, Any] = {}

    def finished() -> Any:
        ti = api.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{RUN_TASK}")
        state = ti.get("state")
        if not seen_states or seen_states[-1] != state:
            seen_states.append(state)
            print(f"  {RUN_TASK}: {state}", flush=True)
        if state == "deferred" and ti.get("trigger") and ti.get("triggerer_job") and not trigger_seen:
            trigger_seen.update(trigger=ti["trigger"], job=ti["triggerer_job"])
            if on_deferred is not None:
                on_deferred(run_id, ti)
        run = api.get(f"/dags/{DAG_ID}/dagRuns/{run_id}")
        return run if run.get("state") in TERMINAL_RUN_STATES else None

    run = wait_for("the DAG run to finish", dep, 180, finished, interval=0.5)
    tis = api.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")["task_instances"]
    states = {ti["task_id"]: ti["state"] for ti in tis}
    retried = {ti["task_id"]: ti["try_number"] for ti in tis if (ti.get("try_number") or 1) > 1}
    if retried:
        # Not a failure of the provider: an Airflow race (see RUN_SECONDS); the retry reattached.
        print(f"  note: tasks needed more than one try: {retried}", flush=True)
    print(f"  DAG run {run_id}: {run['state']}; tasks: {states}", flush=True)
    return Outcome(run_id, run, states, tis, seen_states, trigger_seen)


def check_outcome(dep: Deployment, outcome: Outcome, triggerer: Service, emulator_url: str, token: str) -> None:
    """The verdict shared by both modes: success, a deferred wait served by our triggerer, one computation."""
    run_id, run, states, seen_states = outcome.run_id, outcome.run, outcome.states, outcome.seen_states
    if run["state"] != "success" or any(s != "success" for s in states.values()):
        raise CheckFailed(f"the DAG run ended {run['state']} with task states {states}")
    if "deferred" not in seen_states:
        raise CheckFailed(f"{RUN_TASK} was never seen deferred (states seen: {seen_states})")
    if not outcome.trigger_seen:
        raise CheckFailed(f"{RUN_TASK} was deferred but no triggerer took its trigger")
    job, trigger = outcome.trigger_seen["job"], outcome.trigger_seen["trigger"]
    if job.get("job_type") != "TriggererJob" or trigger.get("triggerer_id") != job.get("id"):
        raise CheckFailed(f"the trigger was not assigned to a triggerer job: trigger={trigger} job={job}")
    if "CodeOceanComputationTrigger" not in str(trigger.get("classpath")):
        raise CheckFailed(f"unexpected trigger {trigger.get('classpath')}")
    trigger_logs = list((dep.work / "airflow" / "logs").rglob(f"*{RUN_TASK}*/*.trigger.{job['id']}.log"))
    if not trigger_logs:
        raise CheckFailed(f"no trigger log written by triggerer job {job['id']} for {RUN_TASK}")
    counts = http_json("GET", f"{emulator_url}/_emulator/counts?capsule_id={COVERAGE_CAPSULE_ID}", basic=token)
    if counts.get("computations_created") != 1:
        raise CheckFailed(f"expected exactly one computation in Code Ocean, found {counts}")

    print("==> verdict", flush=True)
    print(f"  DAG run {run_id} succeeded; tasks {sorted(states)} all succeeded", flush=True)
    print(
        f"  {RUN_TASK} deferred; trigger {trigger['id']} ({trigger['classpath']}) ran on triggerer job "
        f"{job['id']} ({job['job_type']} on {job.get('hostname')}), pid {triggerer.process.pid} started here",
        flush=True,
    )
    print(f"  trigger log: {trigger_logs[0]}", flush=True)
    print(f"  Code Ocean: exactly one computation of the capsule ({counts})", flush=True)


def run_check(dep: Deployment) -> None:
    token = "cop_deployment_" + os.urandom(8).hex()
    print("==> Code Ocean emulator", flush=True)
    emulator_url = start_emulator(dep, token)
    print(f"  serving {emulator_url}", flush=True)

    api_port = free_port()
    dep.env = airflow_env(dep, api_port, emulator_url, token)
    migrate(dep)
    api, triggerer = start_airflow(dep, api_port)
    outcome = trigger_and_watch(dep, api)
    check_outcome(dep, outcome, triggerer, emulator_url, token)


def run_main(description: str, check: Any, default_timeout: float, add_options: Any = None) -> int:
    """Parse the common options (and ``add_options(parser)``'s), run ``check(dep, args)`` in a throwaway
    directory, stop everything it started whatever happens; 0 when it passed, 1 when it failed."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", type=Path, default=Path(sys.executable).parent)
    parser.add_argument("--keep", action="store_true", help="keep the working directory (logs, database)")
    parser.add_argument("--timeout", type=float, default=default_timeout, help="bound on the whole check (seconds)")
    if add_options is not None:
        add_options(parser)
    args = parser.parse_args()
    for tool in ("airflow", "codeocean-emulator"):
        if not (args.bin_dir / tool).exists():
            print(f"deployment check: {args.bin_dir / tool} not found (use --bin-dir)", file=sys.stderr)
            return 2

    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="codeocean-deployment-check-"))
    dep = Deployment(work=work, bin_dir=args.bin_dir.absolute(), deadline=started + args.timeout)
    ok = False
    try:
        check(dep, args)
        ok = True
    except (CheckFailed, subprocess.TimeoutExpired, OSError, urllib.error.URLError) as exc:
        print(f"\ndeployment check FAILED: {exc}", file=sys.stderr)
        for service in dep.services:
            print(f"\n--- last lines of {service.name} ({service.log}) ---\n{service.tail()}", file=sys.stderr)
    finally:
        print("==> stopping the processes started here", flush=True)
        dep.stop_all()
        leftover = [s.name for s in dep.services if s.alive()]
        if leftover:
            print(f"deployment check: still running after SIGKILL: {leftover}", file=sys.stderr)
            ok = False
        if args.keep or not ok:
            print(f"  working directory kept: {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - started
    print(f"deployment check {'passed' if ok else 'FAILED'} in {elapsed:.0f} s", flush=True)
    return 0 if ok else 1


def main() -> int:
    return run_main(__doc__ or "", lambda dep, args: run_check(dep), 280.0)


if __name__ == "__main__":
    sys.exit(main())
