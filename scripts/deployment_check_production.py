"""The deployment check on production parts: PostgreSQL, Redis and the CeleryExecutor (Airflow 3.3).

The same run of ``example_codeocean_seed_flow`` as ``deployment_check.py`` (whose code this reuses), on
the parts a production deployment has instead of SQLite and the LocalExecutor. Starts, each in its own
process group with its own log file under a throwaway directory:

* PostgreSQL (``initdb`` and ``postgres`` from ``/usr/lib/postgresql/*/bin``, run as the ``postgres``
  user, TCP on a free loopback port) as the metadata database and Celery's result backend;
* ``redis-server`` on a free loopback port as Celery's broker;
* the Code Ocean emulator, ``airflow api-server``, ``scheduler`` (CeleryExecutor), ``dag-processor``,
  ``triggerer`` and ``airflow celery worker``.

It triggers the seed flow (whose run task is deferrable) through the REST API and passes only if, on top
of what ``deployment_check.py`` asserts (the run and every task succeeded, the wait was served by the
triggerer started here, exactly one computation in Code Ocean):

* every task of the run was executed by the Celery worker: its log names each one, and Celery's result
  backend (the ``celery_taskmeta`` table) holds a successful result for each workload;
* the REST API gives the run task's "Code Ocean computation" link (the emulator's page of its computation)
  while the task is deferred and once it finished;
* ``airflow connections test`` and ``POST /api/v2/connections/test`` with the whole connection succeed
  for a stored Code Ocean connection;
* the Code Ocean token appears in no file written here (logs of every service, task and trigger logs) and
  in no table of the metadata database (``pg_dump --data-only``), although a connection holding it is
  stored there.

With ``--ui`` it also drives the system Chromium (playwright, ``scripts/ui_check.py``) through the UI of
this deployment while the run goes: the Code Ocean connection form (the connection is saved through it),
its Test button (answer reported, not asserted: Airflow 3.3.2 answers 400, apache/airflow#73298), and the
"Code Ocean computation" link on the deferred and on the finished task; screenshots go to
``--screenshots``.

Usage: deployment_check_production.py [--bin-dir DIR] [--keep] [--timeout SECONDS] [--ui] [--screenshots DIR]
``--bin-dir`` is the environment with Airflow, the Celery provider, psycopg2 and asyncpg (built by
``scripts/deployment-check-production.sh`` from ``requirements/deployment-celery.txt``).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import deployment_check as base  # sibling scripts, not a package
import ui_check
from deployment_check import DAG_ID, CheckFailed, Deployment, Service

# Longer than the LocalExecutor mode's: the browser looks at the deferred task while the run lasts.
RUN_SECONDS = 30
DB_USER = "airflow"
DB_NAME = "airflow"


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise CheckFailed("PostgreSQL is not installed (apt-get install -y postgresql)")
    return Path(found[-1]).parent


def run_tool(dep: Deployment, what: str, command: list[str], *, user: str | None = None, cap: float = 60) -> str:
    result = subprocess.run(
        command,
        cwd=dep.work,
        capture_output=True,
        text=True,
        timeout=dep.remaining(cap),
        check=False,
        user=user,
        env=base.clean_env(),
    )
    if result.returncode != 0:
        raise CheckFailed(f"{what} failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result.stdout


def start_postgres(dep: Deployment) -> tuple[int, Path]:
    """A throwaway PostgreSQL cluster owned by the ``postgres`` user; returns its port and bin directory."""
    pg = postgres_bin()
    data = dep.work / "postgres-data"
    data.mkdir()
    shutil.chown(data, "postgres", "postgres")
    print(f"==> PostgreSQL ({pg.parent.name})", flush=True)
    run_tool(
        dep,
        "initdb",
        [str(pg / "initdb"), "-D", str(data), "-U", DB_USER, "--auth=trust", "-E", "UTF8", "--no-sync"],
        user="postgres",
    )
    port = base.free_port()
    settings = {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": "",
        "fsync": "off",
        "max_connections": "200",
    }
    options = [part for key, value in settings.items() for part in ("-c", f"{key}={value}")]
    dep.start("postgres", str(pg / "postgres"), "-D", str(data), "-p", str(port), *options, user="postgres")
    ready = [str(pg / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", DB_USER, "-d", "postgres"]
    base.wait_for("PostgreSQL", dep, 60, lambda: not subprocess.run(ready, capture_output=True, check=False).returncode)
    run_tool(dep, "createdb", [str(pg / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", DB_USER, DB_NAME])
    print(f"  serving 127.0.0.1:{port}", flush=True)
    return port, pg


def start_redis(dep: Deployment) -> int:
    redis = shutil.which("redis-server")
    if not redis:
        raise CheckFailed("Redis is not installed (apt-get install -y redis-server)")
    print("==> Redis", flush=True)
    port = base.free_port()
    (dep.work / "redis").mkdir()
    options = ["--port", str(port), "--bind", "127.0.0.1", "--daemonize", "no", "--save", "", "--appendonly", "no"]
    dep.start("redis", redis, *options, "--dir", str(dep.work / "redis"))

    def pong() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    base.wait_for("Redis", dep, 30, pong, 0.3)
    print(f"  serving 127.0.0.1:{port}", flush=True)
    return port


def production_settings(pg_port: int, redis_port: int) -> dict[str, str]:
    # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, which Airflow does not install: name psycopg2.
    db = f"postgresql+psycopg2://{DB_USER}@127.0.0.1:{pg_port}/{DB_NAME}"
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db,
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{db}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4",
        # The connection form's Test button (off by default).
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
    }


def check_celery(dep: Deployment, outcome: base.Outcome, worker: Service, psql: list[str]) -> None:
    """Every task instance of the run was executed by the Celery worker started here."""
    log = worker.log.read_text(errors="replace")
    executed = [line for line in log.splitlines() if "Executing workload in Celery" in line]
    missing = [
        ti["task_id"] for ti in outcome.task_instances if not any(f"task_id='{ti['task_id']}'" in e for e in executed)
    ]
    if not executed or missing:
        raise CheckFailed(f"the Celery worker's log names no execution of {missing or 'any task'}")
    query = [*psql, "-c", "SELECT status, count(*) FROM celery_taskmeta GROUP BY status"]
    counts: dict[str, int] = {}

    def settled() -> bool:
        # The run is over once its last task reported success; the worker stores the result just after.
        counts.clear()
        counts.update({s: int(n) for s, n in (line.split("|") for line in run_tool(dep, "psql", query).split())})
        return counts == {"SUCCESS": len(executed)}

    with contextlib.suppress(CheckFailed):
        base.wait_for("Celery's results", dep, 30, settled)
    if counts != {"SUCCESS": len(executed)}:
        raise CheckFailed(f"Celery's result backend holds {counts}, not one success per workload ({len(executed)})")
    # How long the longest Celery task held a worker: a deferrable run task gives its slot back at deferral.
    # A deferrable task's Celery task ends at the deferral; the wait is not the worker's.
    deferred = log.count("final_state=deferred")
    if not deferred:
        raise CheckFailed("no workload in the Celery worker's log ended in the deferred state")
    names = dict(re.findall(r"\[([0-9a-f-]{36})\] Executing workload in Celery: .*?task_id='([^']+)'", log))
    held = re.findall(r"Task execute_workload\[([0-9a-f-]{36})\] succeeded in ([0-9.]+)s", log)
    longest = max(((float(seconds), names.get(celery_id, "?")) for celery_id, seconds in held), default=(0.0, "?"))
    print(
        f"  Celery: the worker (pid {worker.process.pid}) executed all {len(outcome.task_instances)} tasks "
        f"({len(executed)} workloads in its log, {deferred} ended by deferring; the longest, {longest[1]}, "
        f"held the worker {longest[0]:.1f} s); "
        f"result backend: {counts}",
        flush=True,
    )


def check_connection_test(dep: Deployment, api: base.Api, emulator_url: str, token: str) -> None:
    """Testing the stored connection works from the CLI and from the REST API with the whole connection."""
    conn_id = ui_check.CONN_ID
    ui_check.cli_connection_test(dep, conn_id)
    body = {"connection_id": conn_id, "conn_type": "codeocean", "host": emulator_url, "password": token}
    answer = api.call("POST", "/connections/test", body)
    if answer.get("status") is not True:
        raise CheckFailed(f"POST /connections/test with the whole connection failed: {answer.get('message')}")
    print(f"  REST POST /connections/test with the whole connection: {answer}", flush=True)


def check_link(api: base.Api, run_id: str, emulator_url: str, state: str) -> None:
    """The REST API gives the run task's "Code Ocean computation" link (the page of its computation)."""
    links = api.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{base.RUN_TASK}/links")["extra_links"]
    href = links.get("Code Ocean computation") or ""
    if not href.startswith(f"{emulator_url}/computations/"):
        raise CheckFailed(f"the {state} task's extra links are {links}")
    print(f"  REST API: the {state} task's 'Code Ocean computation' link is {href}", flush=True)


def check_no_token(dep: Deployment, token: str, pg: Path, pg_port: int) -> None:
    """The token is in no file written here (logs, screenshots aside) and in no table of the metadata DB."""
    skip = {"postgres-data", "emulator-state", "capsules", "redis"}
    leaks = []
    scanned = 0
    for path in dep.work.rglob("*"):
        if not path.is_file() or skip & set(path.relative_to(dep.work).parts):
            continue
        scanned += 1
        if token.encode() in path.read_bytes():
            leaks.append(str(path.relative_to(dep.work)))
    dump = dep.work / "metadata-dump.sql"
    connect = ["-h", "127.0.0.1", "-p", str(pg_port), "-U", DB_USER]
    run_tool(dep, "pg_dump", [str(pg / "pg_dump"), *connect, "--data-only", "-f", str(dump), DB_NAME], cap=120)
    dumped = dump.read_bytes()
    tables = len(re.findall(rb"^COPY ", dumped, flags=re.MULTILINE))
    if token.encode() in dumped:
        leaks.append("metadata database (pg_dump --data-only)")
    if leaks:
        raise CheckFailed(f"the Code Ocean token was found in: {leaks}")
    if tables < 20 or b"example_codeocean_seed_flow" not in dumped:
        raise CheckFailed(f"the metadata dump looks empty ({tables} tables)")
    print(f"  the token is in none of {scanned} files written here nor in {tables} tables of the DB dump", flush=True)


def run_check(dep: Deployment, args: argparse.Namespace) -> None:
    dep.work.chmod(0o711)  # the postgres user must reach its data directory inside
    pg_port, pg = start_postgres(dep)
    redis_port = start_redis(dep)
    psql = [str(pg / "psql"), "-h", "127.0.0.1", "-p", str(pg_port), "-U", DB_USER, "-d", DB_NAME, "-At", "-F|"]

    token = "cop_deployment_" + os.urandom(8).hex()
    print("==> Code Ocean emulator", flush=True)
    emulator_url = base.start_emulator(dep, token, RUN_SECONDS)
    print(f"  serving {emulator_url}", flush=True)

    api_port = base.free_port()
    dep.env = base.airflow_env(dep, api_port, emulator_url, token, production_settings(pg_port, redis_port))
    base.migrate(dep)
    worker_command = ("celery-worker", "airflow", "celery", "worker", "--concurrency", "4", "--skip-serve-logs")
    api, triggerer = base.start_airflow(dep, api_port, worker_command)
    worker = next(s for s in dep.services if s.name == "celery-worker")

    browser = ui_check.Browser.launch(args.screenshots, token, "af3") if args.ui else None

    def on_deferred(run_id: str, ti: dict[str, Any]) -> None:
        check_link(api, run_id, emulator_url, "deferred")
        if browser is not None:
            ui_check.check_computation_link_af3(browser, api.url, DAG_ID, run_id, emulator_url, "deferred")

    try:
        if browser is not None:
            ui_check.check_connection_form_af3(browser, api, emulator_url, token)
            status, message = ui_check.press_test_button_af3(browser, api)
            print(f"  the UI's Test button: HTTP {status} {message!r}", flush=True)
        else:
            conn = {"connection_id": ui_check.CONN_ID, "conn_type": "codeocean", "host": emulator_url}
            api.call("POST", "/connections", {**conn, "password": token})
        check_connection_test(dep, api, emulator_url, token)
        outcome = base.trigger_and_watch(dep, api, on_deferred)
        base.check_outcome(dep, outcome, triggerer, emulator_url, token)
        check_celery(dep, outcome, worker, psql)
        check_link(api, outcome.run_id, emulator_url, "finished")
        if browser is not None:
            ui_check.check_computation_link_af3(browser, api.url, DAG_ID, outcome.run_id, emulator_url, "success")
    finally:
        if browser is not None:
            browser.close()
    check_no_token(dep, token, pg, pg_port)


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ui", action="store_true", help="also check the UI in the system Chromium")
    ui_check.add_options(parser)


def main() -> int:
    return base.run_main(__doc__ or "", run_check, 420.0, add_options)


if __name__ == "__main__":
    sys.exit(main())
