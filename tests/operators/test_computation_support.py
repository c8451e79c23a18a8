"""Shared pieces of the computation tests (operator, trigger, sensor): capsules, a task context, a store.

Named like a test module so it sits with the tests it serves; it holds no tests itself. Its fixtures
live in ``tests/conftest.py``, which adds the ``long`` capsule defined here.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

ECHO = "ec40ec40-0000-4000-8000-000000000001"
FAILING = "fa11fa11-0000-4000-8000-000000000002"
SIMULATED = "51a51a00-0000-4000-8000-000000000003"
PIPELINE = "919e1192-0000-4000-8000-000000000004"
# A simulated run that stays unfinished until a test completes or stops it.
LONG = "1011a000-0000-4000-8000-00000000c0de"
MISSING = "00000000-0000-4000-8000-000000000404"
TINY = 0.02


def add_long_capsule(root: Path) -> None:
    """Add ``long``: a run that never finishes by itself."""
    long = root / "long"
    (long / "code").mkdir(parents=True)
    (long / "code" / "run").write_text("#!/bin/sh\nexit 0\n")
    (long / "capsule.json").write_text(json.dumps({"id": LONG, "name": "Long run", "simulate": {"duration": 86400}}))


class FakeTaskInstance:
    """What the operator reads from ``context["ti"]``, recording XCom pushes."""

    def __init__(self, dag_id: str, task_id: str, run_id: str, try_number: int = 1, map_index: int = -1) -> None:
        self.dag_id = dag_id
        self.task_id = task_id
        self.run_id = run_id
        self.try_number = try_number
        self.map_index = map_index
        self.max_tries = 0
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


class FakeStateStore:
    """A dict standing in for Airflow 3.3's ``task_state_store`` (shared by every try)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


def make_context(
    task_id: str = "run",
    *,
    dag_id: str = "computation_tests",
    run_id: str = "manual__1",
    try_number: int = 1,
    map_index: int = -1,
    store: FakeStateStore | None = None,
) -> dict[str, Any]:
    ti = FakeTaskInstance(dag_id, task_id, run_id, try_number, map_index)
    context: dict[str, Any] = {"ti": ti, "task_instance": ti, "run_id": run_id}
    if store is not None:
        context["task_state_store"] = store
    return context


def next_try(context: dict[str, Any]) -> dict[str, Any]:
    """The context of the same task instance's next try (same store, if any)."""
    ti = context["ti"]
    return make_context(
        ti.task_id,
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        try_number=ti.try_number + 1,
        map_index=ti.map_index,
        store=context.get("task_state_store"),
    )


def make_operator(**kwargs: Any) -> Any:
    from airflow_provider_codeocean.operators.computation import CodeOceanRunCapsuleOperator

    kwargs.setdefault("task_id", "run")
    kwargs.setdefault("poll_interval", TINY)
    kwargs.setdefault("deferrable", False)
    return CodeOceanRunCapsuleOperator(**kwargs)


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def hook() -> Any:
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

    return CodeOceanHook("codeocean_default")


def start_run(capsule_id: str, **params: Any) -> str:
    """Start a run directly through the hook (not through the operator); returns its id."""
    from airflow_provider_codeocean.models import RunParams

    return str(hook().run_computation(RunParams.build(capsule_id=capsule_id, **params)).id)
