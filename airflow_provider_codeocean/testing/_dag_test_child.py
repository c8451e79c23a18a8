"""The child process of :func:`~airflow_provider_codeocean.testing.dag_testing.run_dag_test`.

Started with the throwaway Airflow's environment already set (see ``dag_testing.airflow_environment``),
so Airflow is first imported here, with that home and database. Two commands:

* ``migrate`` - create the metadata database (the parent copies it for each test);
* ``run REQUEST RESULT`` - load the DAG file named in the JSON ``REQUEST``, run ``dag.test()``, and write
  the DagRun's state, task instances and XComs to ``RESULT`` as JSON.

Version-neutral: Airflow 2.11 and 3.0 to 3.3.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any


def migrate() -> None:
    from airflow.utils import db

    db.initdb()


def _dag_bag(dag_file: str) -> Any:
    import inspect

    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3.2+
    except ImportError:
        from airflow.models.dagbag import DagBag

    # include_examples is gone in Airflow 3.3; examples are off through the environment anyway.
    kwargs: dict[str, Any] = {"include_examples": False}
    if "include_examples" not in inspect.signature(DagBag).parameters:
        kwargs = {}
    return DagBag(dag_folder=dag_file, **kwargs)


def _state(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _xcoms(dag_id: str, run_id: str) -> list[dict[str, Any]]:
    from airflow.settings import Session

    try:
        from airflow.models.xcom import XComModel as model  # Airflow 3
    except ImportError:
        from airflow.models.xcom import XCom as model  # Airflow 2

    entries = []
    session = Session()
    try:
        # Columns, not ORM objects: Airflow 2's XCom rewrites ``value`` for display when an object loads.
        columns = (model.task_id, model.map_index, model.key, model.value)
        rows = session.query(*columns).filter(model.dag_id == dag_id, model.run_id == run_id).all()
        for task_id, map_index, key, stored in rows:
            try:
                value = model.deserialize_value(SimpleNamespace(value=stored))
                json.dumps(value)
            except Exception:
                value = repr(stored)
            entries.append({"task_id": task_id, "map_index": map_index, "key": key, "value": value})
    finally:
        session.close()
    return entries


def run(request_file: str, result_file: str) -> None:
    request = json.loads(Path(request_file).read_text())
    folder = request["dags_folder"]
    if folder not in sys.path:
        sys.path.insert(0, folder)
    bag = _dag_bag(request["dag_file"])
    if bag.import_errors:
        errors = "\n".join(f"{path}: {error}" for path, error in bag.import_errors.items())
        raise SystemExit(f"the DAG file could not be imported:\n{errors}")
    dag_id = request["dag_id"]
    if dag_id is None:
        if len(bag.dag_ids) != 1:
            raise SystemExit(f"name the DAG to test: the file defines {sorted(bag.dag_ids) or 'no DAG'}")
        (dag_id,) = bag.dag_ids
    dag = bag.dags.get(dag_id)
    if dag is None:
        raise SystemExit(f"no DAG {dag_id!r} in the file (it defines {sorted(bag.dag_ids)})")

    dag_run = dag.test(run_conf=request["conf"])
    task_instances = [
        {
            "task_id": ti.task_id,
            "map_index": ti.map_index,
            "state": _state(ti.state),
            "try_number": ti.try_number,
        }
        for ti in dag_run.get_task_instances()
    ]
    result = {
        "dag_id": dag_id,
        "run_id": dag_run.run_id,
        "state": _state(dag_run.state),
        "task_instances": task_instances,
        "xcoms": _xcoms(dag_id, dag_run.run_id),
    }
    Path(result_file).write_text(json.dumps(result, default=repr))


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "migrate":
        migrate()
    elif command == "run":
        run(*args)
    else:
        raise SystemExit(f"unknown command {command!r}")
