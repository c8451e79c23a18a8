"""Run a DAG from ``tests/dags`` end to end with ``dag.test()``, as Airflow 2.11 and 3.x both allow.

Airflow 3.3's ``dag.test()`` looks the DAG up in the configured DAG bundle, so test DAGs live as real
files in ``tests/dags`` (the conftest points ``[core] dags_folder`` there).
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from tests.conftest import DAGS_DIR


def load_dag(module_name: str, dag_id: str) -> Any:
    path = DAGS_DIR / f"{module_name}.py"
    spec = importlib.util.spec_from_file_location(f"_test_dags.{module_name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return getattr(module, "dag", None) or module.__dict__[dag_id]


def run_dag(module_name: str, dag_id: str, conf: dict[str, Any] | None = None) -> Any:
    """Run the DAG once; returns the DagRun (check ``.state`` and the task instances)."""
    dag = load_dag(module_name, dag_id)
    return dag.test(run_conf=conf or {})


def task_states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
