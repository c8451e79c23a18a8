"""Event-driven DAGs on a real Airflow 3 deployment: new data assets in Code Ocean start DAG runs, once each.

The same deployment as scripts/deployment_check.py (api-server, scheduler, dag-processor and triggerer
as separate processes, the emulator as Code Ocean), with ``example_codeocean_new_raw_data``, whose
schedule is an asset watched by ``CodeOceanDataAssetWatchTrigger``. It passes only if:

1. a raw data asset that existed before the watch started starts nothing;
2. a new one (A) starts exactly one DAG run, whose asset event names A, and the run succeeds;
3. the triggerer is killed (SIGKILL); a data asset (B) lands while no triggerer runs; a new triggerer
   starts: exactly one more DAG run, for B, and none again for A;
4. after several more searches, still exactly those two runs and two asset events.

Usage: event_driven_check.py [--bin-dir DIR] [--keep] [--timeout SECONDS]
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import deployment_check as dc

DAG_ID = "example_codeocean_new_raw_data"
ASSET_NAME = "codeocean-new-raw-coverage-sessions"
POLL_SECONDS = 1
# A killed triggerer's triggers move to a new one once its heartbeat is this old.
HEALTH_THRESHOLD = 8


def lab_bucket(root: Path) -> Path:
    """A bucket with three raw coverage sessions (copies of the bundled sample data)."""
    sample = dc.EXAMPLE_DAGS / "data" / "assets" / "sample-a" / "coverage.bedgraph"
    for session in ("existing", "session-a", "session-b"):
        folder = root / "lab-uploads" / session
        folder.mkdir(parents=True)
        shutil.copy(sample, folder / "coverage.bedgraph")
    return root


def new_raw_asset(emulator_url: str, token: str, session: str) -> str:
    body = {
        "name": f"raw coverage {session}",
        "mount": "coverage",
        "tags": ["raw", "coverage"],
        "source": {"aws": {"bucket": "lab-uploads", "prefix": session, "keep_on_external_storage": False}},
    }
    created = dc.http_json("POST", f"{emulator_url}/api/v1/data_assets", body=body, basic=token)
    print(f"  created data asset {created['id']} ({body['name']})", flush=True)
    return str(created["id"])


def wait_ready(dep: dc.Deployment, emulator_url: str, token: str, asset_id: str) -> None:
    def ready() -> bool:
        return dc.http_json("GET", f"{emulator_url}/api/v1/data_assets/{asset_id}", basic=token)["state"] == "ready"

    dc.wait_for(f"data asset {asset_id} to be ready", dep, 60, ready, interval=0.5)


def dag_runs(api: dc.Api) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = api.get(f"/dags/{DAG_ID}/dagRuns?order_by=start_date")["dag_runs"]
    return runs


def started_for(api: dc.Api, run: dict[str, Any]) -> list[str]:
    """The data asset ids in the asset events that started ``run``."""
    events = api.get(f"/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/upstreamAssetEvents")["asset_events"]
    return [event["extra"]["payload"]["data_asset_id"] for event in events]


def asset_event_ids(api: dc.Api) -> list[str]:
    events = api.get(f"/assets/events?name_pattern={ASSET_NAME}&limit=100")["asset_events"]
    return sorted(event["extra"]["payload"]["data_asset_id"] for event in events)


def wait_runs(dep: dc.Deployment, api: dc.Api, count: int) -> list[dict[str, Any]]:
    """Wait for ``count`` DAG runs, all finished; fail on a run that did not succeed."""

    def finished() -> list[dict[str, Any]] | None:
        runs = dag_runs(api)
        if len(runs) > count:
            raise dc.CheckFailed(f"expected {count} DAG runs, found {len(runs)}: {[r['dag_run_id'] for r in runs]}")
        done = len(runs) == count and all(r["state"] in dc.TERMINAL_RUN_STATES for r in runs)
        return runs if done else None

    runs = dc.wait_for(f"{count} finished run(s) of {DAG_ID}", dep, 150, finished, interval=1)
    bad = [r["dag_run_id"] for r in runs if r["state"] != "success"]
    if bad:
        raise dc.CheckFailed(f"DAG runs did not succeed: {bad}")
    return runs


def restart_triggerer(dep: dc.Deployment, triggerer: dc.Service) -> dc.Service:
    print("==> killing the triggerer (SIGKILL)", flush=True)
    os.killpg(triggerer.process.pid, signal.SIGKILL)
    triggerer.process.wait(10)
    dep.services.remove(triggerer)
    return triggerer


def run_check(dep: dc.Deployment) -> None:
    token = "cop_event_check_" + os.urandom(8).hex()
    print("==> Code Ocean emulator", flush=True)
    buckets = lab_bucket(dep.work / "buckets")
    emulator_url = dc.start_emulator(dep, token, run_seconds=2, buckets=str(buckets))
    print(f"  serving {emulator_url}", flush=True)
    existing = new_raw_asset(emulator_url, token, "existing")
    wait_ready(dep, emulator_url, token, existing)

    api_port = dc.free_port()
    overrides = {
        "CODEOCEAN_EXAMPLE_POLL_INTERVAL": str(POLL_SECONDS),
        "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": str(HEALTH_THRESHOLD),
        "AIRFLOW__SCHEDULER__TRIGGERER_HEALTH_CHECK_THRESHOLD": str(HEALTH_THRESHOLD),
    }
    dep.env = dc.airflow_env(dep, api_port, emulator_url, token, overrides)
    dc.migrate(dep)
    api, triggerer = dc.start_airflow(dep, api_port)
    dc.wait_for(f"the dag-processor to parse {DAG_ID}", dep, 120, lambda: api.get(f"/dags/{DAG_ID}"))
    api.call("PATCH", f"/dags/{DAG_ID}", {"is_paused": False})

    def watching() -> Any:
        keys = [v["key"] for v in api.get("/variables?limit=100")["variables"]]
        return [k for k in keys if k.startswith("codeocean_watch_")]

    cursor_keys = dc.wait_for("the watch to start in the triggerer (its cursor Variable)", dep, 120, watching)
    print(f"  the watch is running; its cursor is Variable {cursor_keys[0]}", flush=True)

    print("==> a new raw data asset lands", flush=True)
    asset_a = new_raw_asset(emulator_url, token, "session-a")
    runs = wait_runs(dep, api, 1)
    if started_for(api, runs[0]) != [asset_a]:
        raise dc.CheckFailed(f"the first run was started for {started_for(api, runs[0])}, expected [{asset_a}]")
    print(f"  one DAG run ({runs[0]['dag_run_id']}) for {asset_a}: {runs[0]['state']}", flush=True)

    restart_triggerer(dep, triggerer)
    print("==> a data asset lands while no triggerer runs", flush=True)
    asset_b = new_raw_asset(emulator_url, token, "session-b")
    wait_ready(dep, emulator_url, token, asset_b)
    time.sleep(3 * POLL_SECONDS)
    if len(dag_runs(api)) != 1:
        raise dc.CheckFailed("a DAG run started while no triggerer was running")
    print("==> starting a new triggerer", flush=True)
    dep.start("triggerer-2", "airflow", "triggerer")
    runs = wait_runs(dep, api, 2)
    if started_for(api, runs[1]) != [asset_b]:
        raise dc.CheckFailed(f"the second run was started for {started_for(api, runs[1])}, expected [{asset_b}]")
    print(f"  one more DAG run ({runs[1]['dag_run_id']}) for {asset_b}: {runs[1]['state']}", flush=True)

    # Several more searches: nothing is announced again.
    time.sleep(10 * POLL_SECONDS)
    runs = wait_runs(dep, api, 2)
    events = asset_event_ids(api)
    if events != sorted([asset_a, asset_b]):
        raise dc.CheckFailed(f"expected one asset event each for {asset_a} and {asset_b}, found {events}")
    logs = {name: (dep.work / f"{name}.log").read_text(errors="replace") for name in ("triggerer", "triggerer-2")}
    if "Resuming the watch" not in logs["triggerer-2"]:
        raise dc.CheckFailed("the new triggerer did not resume the watch from its stored cursor")
    ack_mode = all("ack-mode shared stream" in text for text in logs.values())
    if not ack_mode and any(dep.bin_dir.parent.glob("lib/python*/site-packages/airflow/triggers/shared_stream.py")):
        raise dc.CheckFailed("this Airflow has ack-mode shared streams, but the watch did not run as one")
    print("==> verdict", flush=True)
    print(f"  both triggerers ran the watch as an ack-mode shared stream: {ack_mode}", flush=True)
    print(f"  the asset that existed before the watch ({existing}) started nothing", flush=True)
    print(f"  exactly 2 DAG runs and 2 asset events: {asset_a}, then {asset_b} (landed while down)", flush=True)


def main() -> int:
    return dc.run_main(__doc__ or "", lambda dep, args: run_check(dep), 300.0)


if __name__ == "__main__":
    sys.exit(main())
