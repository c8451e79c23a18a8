"""Report and verify what the demo's DAG run did (called by scripts/demo.sh after ``airflow dags test``).

Reads the DAG run and its XComs from the demo's Airflow metadata database, then reads the computation,
the data asset and a result file back from Code Ocean (the emulator) through the provider's hook, so
what is printed is what Code Ocean holds, not what the DAG believed. Exits 1 with the reason if
anything is not as it should be.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

DAG_ID = "example_codeocean_seed_flow"
RUN_TASK = "run_coverage_summary"
CAPTURE_TASK = "capture_results"
UPDATE_TASK = "update_metadata"


class DemoError(Exception):
    pass


def latest_run(dag_id: str) -> tuple[Any, dict[str, str], dict[str, Any]]:
    """The newest DAG run, its task states and its tasks' return values (Airflow 3 metadata DB)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc())).first()
        if run is None:
            raise DemoError(f"no run of {dag_id} in the metadata database")
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances(session=session)}
        rows = session.scalars(
            select(XComModel).where(XComModel.dag_run_id == run.id, XComModel.key == "return_value")
        ).all()
        values = {row.task_id: XComModel.deserialize_value(row) for row in rows}
        session.expunge(run)
    return run, states, values


def _text(value: Any) -> str:
    """An enum's value, or the text the API sent when the models did not know it."""
    return str(getattr(value, "value", value))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dag-id", default=DAG_ID)
    parser.add_argument("--log", help="the airflow dags test log, quoted from on failure")
    args = parser.parse_args()

    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

    run, states, values = latest_run(args.dag_id)
    print()
    print(f"DAG run     {args.dag_id} / {run.run_id}: {run.state}")
    for task_id, state in sorted(states.items()):
        print(f"  task      {task_id:<24} {state}")
    if str(run.state) not in ("success", "DagRunState.SUCCESS"):
        raise DemoError(f"the DAG run ended {run.state}")

    hook = CodeOceanHook()
    computation = hook.get_computation(values[RUN_TASK]["id"])
    print(f"Computation {computation.id} ({computation.name!r}): {computation.outcome}")
    print(
        f"  state={_text(computation.state)} end_status={_text(computation.end_status)} "
        f"exit_code={computation.exit_code}"
    )
    if not computation.succeeded:
        raise DemoError(f"{computation.describe()} did not succeed")

    asset = hook.get_data_asset(values[UPDATE_TASK]["id"])
    if asset.id != values[CAPTURE_TASK]["id"]:
        raise DemoError("the updated data asset is not the one captured")
    print(f"Data asset  {asset.id} ({asset.name!r}): {_text(asset.state)}, mount {asset.mount!r}")
    print(f"  tags={asset.tags} custom_metadata={asset.custom_metadata}")
    if not asset.ready:
        raise DemoError(f"{asset.describe()} is not ready")

    line = hook.read_result_file(computation.id, "summary.txt").decode().strip()
    print(f"Result      summary.txt: {line}")
    summary = values.get("read_summary") or {}
    print(f"  XCom of read_summary: mean_depth={summary.get('mean_depth')} bases={summary.get('bases')}")
    print(f"  XCom of log_summary:  {values.get('log_summary')}")
    print()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DemoError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        sys.exit(1)
