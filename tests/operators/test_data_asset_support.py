"""Shared pieces of the data asset and results tests: capsules, a task context, emulator helpers.

Named like a test module so it sits with the tests it serves; it holds no tests itself. Its fixtures
live in ``tests/conftest.py``, which adds the ``nested`` capsule defined here.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

ECHO = "ec40ec40-0000-4000-8000-000000000001"
FAILING = "fa11fa11-0000-4000-8000-000000000002"
NESTED = "0e57ed00-0000-4000-8000-00000000da7a"
MISSING = "00000000-0000-4000-8000-000000000404"
TINY = 0.02

# A run whose results are a nested tree: text, JSON, a binary file three folders deep, and an empty file.
NESTED_RUN = """#!/bin/sh
set -e
mkdir -p ../results/a/b/c ../results/plots ../results/logs
printf 'top level\\n' > ../results/top.txt
printf '{"accuracy": 0.97, "n": 3}\\n' > ../results/metrics.json
head -c 300000 /dev/urandom > ../results/a/b/c/blob.bin
printf 'deep text\\n' > ../results/a/b/deep.txt
printf 'png-1' > ../results/plots/one.png
printf 'png-2' > ../results/plots/two.png
: > ../results/logs/empty.log
head -c 2000000 /dev/zero | tr '\\0' 'x' > ../results/big.txt
"""


def add_nested_capsule(root: Path) -> None:
    """Add ``nested``: a run whose results are a tree to download."""
    nested = root / "nested"
    (nested / "code").mkdir(parents=True)
    (nested / "code" / "run").write_text(NESTED_RUN)
    (nested / "code" / "run").chmod(0o755)
    (nested / "capsule.json").write_text(json.dumps({"id": NESTED, "name": "Nested results"}))


class FakeTaskInstance:
    """What the operators read from ``context["ti"]``, recording XCom pushes."""

    def __init__(self, dag_id: str = "dag", task_id: str = "task", run_id: str = "run-1", map_index: int = -1) -> None:
        self.dag_id = dag_id
        self.task_id = task_id
        self.run_id = run_id
        self.map_index = map_index
        self.try_number = 1
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def make_context(ti: FakeTaskInstance | None = None) -> dict[str, Any]:
    return {"ti": ti or FakeTaskInstance()}


def run_capsule(emulator: Any, capsule_id: str = ECHO, parameters: list[str] | None = None) -> dict[str, Any]:
    """Start a run through the hook (real HTTP) and wait for it in-process; returns the finished run."""
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook
    from airflow_provider_codeocean.models import RunParams

    computation = CodeOceanHook().run_computation(RunParams.build(capsule_id=capsule_id, parameters=parameters))
    return emulator.wait_for_computation(computation.id)


def posts_to(emulator: Any, path: str) -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if r["method"] in ("POST", "PUT") and r["path"] == path]


def run_trigger(trigger: Any) -> dict[str, Any]:
    """Drive a trigger to its first event, as ``dag.test()`` and the triggerer do."""

    async def first() -> Any:
        async for event in trigger.run():
            return event
        raise AssertionError("the trigger ended without an event")

    event = asyncio.run(first())
    return dict(event.payload)


def make_asset(name: str, tags: list[str], *, bucket: str = "raw-data", wait: bool = True) -> dict[str, Any]:
    """A data asset made from the ``buckets`` fixture's bucket (the create operator, ready unless ``wait=False``)."""
    from airflow_provider_codeocean.operators.data_asset import CodeOceanCreateDataAssetOperator

    return CodeOceanCreateDataAssetOperator(
        task_id="make",
        name=name,
        aws_source={"bucket": bucket},
        tags=tags,
        wait_for_ready=wait,
        idempotent=False,
        poll_interval=TINY,
    ).execute(make_context())
