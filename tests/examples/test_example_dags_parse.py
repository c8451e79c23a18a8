"""Every example DAG parses, with no import errors and without talking to Code Ocean (or anything else).

Version-neutral: runs under Airflow 2.11 and 3.x. The connection points at a closed port, and a
socket guard fails the test if parsing opens any network connection at all.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.examples.conftest import EXAMPLE_DAG_IDS, EXAMPLE_DAGS


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Record and refuse every TCP/UDP connection attempt (Unix sockets, e.g. logging, stay allowed)."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded(real: Any) -> Any:
        def connect(self: socket.socket, address: Any) -> Any:
            if self.family in (socket.AF_INET, socket.AF_INET6):
                attempts.append(address)
                raise ConnectionRefusedError(f"example DAG parsing tried to connect to {address}")
            return real(self, address)

        return connect

    monkeypatch.setattr(socket.socket, "connect", guarded(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(real_connect_ex))
    monkeypatch.setenv(
        "AIRFLOW_CONN_CODEOCEAN_DEFAULT",
        json.dumps({"conn_type": "codeocean", "host": f"http://127.0.0.1:{_closed_port()}", "password": "cop_x"}),
    )
    yield attempts


@pytest.fixture
def dagbag(airflow_db: None, no_network: list[Any]) -> Any:
    # airflow_db: Airflow 2.11 resolves a DAG's DatasetAlias schedule from the metadata DB at parse time.
    import inspect

    from airflow.models import DagBag

    # Airflow 3.3 dropped include_examples (the conftest turns examples off for both versions).
    kwargs = {"include_examples": False} if "include_examples" in inspect.signature(DagBag).parameters else {}
    bag = DagBag(dag_folder=str(EXAMPLE_DAGS), **kwargs)
    assert no_network == [], f"parsing the example DAGs opened connections to {no_network}"
    return bag


def test_examples_parse_without_errors(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXAMPLE_DAG_IDS


def test_capsule_code_and_data_are_not_parsed_as_dags(dagbag: Any) -> None:
    # .airflowignore keeps example_dags/capsules and example_dags/data out of the DAG folder scan.
    files = {str(dag.fileloc) for dag in dagbag.dags.values()}
    assert files, "no DAG was loaded"
    assert not any("/capsules/" in f or "/data/" in f for f in files)


@pytest.mark.parametrize("dag_id", sorted(EXAMPLE_DAG_IDS))
def test_example_is_well_formed(dagbag: Any, dag_id: str) -> None:
    dag = dagbag.dags.get(dag_id)
    assert dag is not None
    assert "codeocean" in dag.tags
    assert dag.catchup is False
    # Every example documents itself: the module docstring becomes the DAG's documentation.
    assert dag.description
    assert dag.doc_md and "Code Ocean" in dag.doc_md
    assert all(t.task_id for t in dag.tasks)


def test_deferrable_waits(dagbag: Any) -> None:
    """Every operator that waits for Code Ocean does so in the triggerer."""
    waiting = [
        task
        for dag in dagbag.dags.values()
        for task in dag.tasks
        if hasattr(task, "deferrable") and getattr(task, "wait_for_completion", True)
    ]
    assert waiting
    assert all(task.deferrable for task in waiting), [t.task_id for t in waiting if not t.deferrable]


def test_daily_example_schedule(dagbag: Any) -> None:
    dag = dagbag.dags.get("example_codeocean_daily")
    run = dag.get_task("daily_coverage_summary")
    assert "{{ ds }}" in run.name
    schedule = getattr(dag, "schedule", None) or getattr(dag, "schedule_interval", None)
    assert str(schedule) == "@daily" or "daily" in str(getattr(dag, "timetable", "")).lower()


def test_the_guard_refuses_connections(no_network: list[Any]) -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", _closed_port()), timeout=1)
    assert len(no_network) == 1
