"""Run your own DAG file once with ``dag.test()``, offline, against the local Code Ocean emulator.

Airflow reads ``AIRFLOW_HOME`` and its metadata database settings when it is first imported, so a DAG
test that wants a throwaway Airflow cannot run in a process that may already have imported Airflow (a
pytest session usually has). :func:`run_dag_test` therefore runs the DAG in a fresh Python process:

* a throwaway ``AIRFLOW_HOME`` with its own SQLite metadata database (migrated once per Python
  interpreter and copied for each test, so only the first test pays for the migration);
* ``[core] dags_folder`` (and with it Airflow 3's default DAG bundle, where 3.3's ``dag.test()`` looks the
  DAG up) pointing at the folder of your DAG file, which is also put on ``sys.path``;
* the ``codeocean_default`` connection pointing at the emulator, if one is given (the ``codeocean_dag_test``
  pytest fixture passes the ``codeocean_emulator`` fixture's);
* inherited ``AIRFLOW__*`` settings dropped, so a test never touches a real deployment's database.

The emulator stays in the test's own process, so the test can look at what the DAG did in Code Ocean
(``emulator.count_computations(...)``) after the run. Nothing here imports Airflow. Works with Airflow
2.11 and 3.0 to 3.3. See ``docs/testing-your-dags.md``.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_codeocean.testing.emulator import CodeOceanEmulator

__all__ = ["DagTestError", "DagTestResult", "DagTester", "TaskInstanceResult", "run_dag_test"]

RESULT_FILE = "dag_test_result.json"
LOG_FILE = "dag_test.log"
DB_FILE = "airflow.db"
# The code the child process runs: importing by name (not running a file) keeps the testing/ folder,
# whose http/ package would shadow the standard library's, off sys.path.
_CHILD = "from airflow_provider_codeocean.testing._dag_test_child import main; main()"


class DagTestError(RuntimeError):
    """The DAG test could not run (import error, unknown DAG id, Airflow failure); the DAG's own task
    failures are not errors: they are in :attr:`DagTestResult.state`."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message if not log else f"{message}\n--- last lines of the output ---\n{_tail(log)}")
        self.log = log


@dataclass(frozen=True)
class TaskInstanceResult:
    """One task instance of the run (``map_index`` is -1 for an unmapped task)."""

    task_id: str
    map_index: int
    state: str | None
    try_number: int


@dataclass(frozen=True)
class DagTestResult:
    """What ``dag.test()`` left behind: the DagRun's state, its task instances and their XComs.

    States are Airflow's plain strings (``"success"``, ``"failed"``, ``"skipped"``, ...).
    """

    dag_id: str
    run_id: str
    state: str
    task_instances: tuple[TaskInstanceResult, ...]
    xcoms: tuple[dict[str, Any], ...] = ()
    airflow_home: Path = field(default_factory=Path)
    log: str = ""

    @property
    def succeeded(self) -> bool:
        return self.state == "success"

    @property
    def task_states(self) -> dict[str, str | None]:
        """``{"task_id": state}``, with ``"task_id[i]"`` for each mapped task instance."""
        return {_ti_key(ti.task_id, ti.map_index): ti.state for ti in self.task_instances}

    def xcom(self, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        """The XCom a task pushed (its return value by default); ``KeyError`` if it pushed none.

        Values that are not JSON come back as their ``repr``.
        """
        for entry in self.xcoms:
            if (entry["task_id"], entry["key"], entry["map_index"]) == (task_id, key, map_index):
                return entry["value"]
        raise KeyError(f"no XCom {key!r} from {_ti_key(task_id, map_index)}")

    def assert_succeeded(self) -> None:
        """Raise ``AssertionError`` naming the tasks that did not succeed, with the end of the log."""
        if self.succeeded:
            return
        bad = {k: v for k, v in self.task_states.items() if v not in ("success", "skipped")}
        raise AssertionError(f"DAG run {self.run_id} of {self.dag_id} ended {self.state}: {bad}\n{_tail(self.log)}")


def _ti_key(task_id: str, map_index: int) -> str:
    return task_id if map_index < 0 else f"{task_id}[{map_index}]"


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _airflow_major(python: str) -> int:
    if python == sys.executable:
        return int(version("apache-airflow").split(".")[0])
    code = "from importlib.metadata import version; print(version('apache-airflow'))"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout
    return int(out.strip().split(".")[0])


def airflow_environment(
    airflow_home: Path, dags_folder: Path, *, airflow_major: int, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a throwaway Airflow: ``base`` (default ``os.environ``) without its ``AIRFLOW__*``
    settings, plus a home, a SQLite database and a DAG folder of its own."""
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if not k.startswith("AIRFLOW__") and k not in ("AIRFLOW_HOME", "AIRFLOW_CONFIG")
    }
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / DB_FILE}",
            "AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS": "False",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            # One local bundle, the DAG folder: Airflow 3.3's dag.test() finds the DAG there.
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
                [
                    {
                        "name": "dags-folder",
                        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                        "kwargs": {},
                    }
                ]
            ),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        }
    )
    if airflow_major < 3:
        # Airflow 2 refuses its LocalExecutor on SQLite; dag.test() runs the tasks in-process anyway.
        env["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"
    return env


_templates: dict[str, Path] = {}
_templates_lock = threading.Lock()


def _template_db(python: str, airflow_major: int, timeout: float) -> Path:
    """A migrated metadata database for this interpreter, made once per process and copied per test."""
    with _templates_lock:
        cached = _templates.get(python)
        if cached is not None and cached.exists():
            return cached
        home = Path(tempfile.mkdtemp(prefix="codeocean-airflow-db-"))
        atexit.register(shutil.rmtree, home, True)
        env = airflow_environment(home, home / "dags", airflow_major=airflow_major)
        (home / "dags").mkdir()
        proc = subprocess.run(
            [python, "-c", _CHILD, "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0 or not (home / DB_FILE).exists():
            shutil.rmtree(home, ignore_errors=True)
            raise DagTestError("migrating the Airflow metadata database failed", proc.stdout)
        _templates[python] = home / DB_FILE
        return home / DB_FILE


def run_dag_test(
    dag_file: str | os.PathLike[str],
    dag_id: str | None = None,
    *,
    conf: Mapping[str, Any] | None = None,
    emulator: CodeOceanEmulator | None = None,
    airflow_home: str | os.PathLike[str] | None = None,
    dags_folder: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    python: str | None = None,
    timeout: float = 600.0,
) -> DagTestResult:
    """Run one DAG from ``dag_file`` once with ``dag.test()`` in a throwaway Airflow; return the result.

    :param dag_file: the DAG's Python file.
    :param dag_id: which DAG of the file; may be omitted when the file defines exactly one.
    :param conf: the run's configuration (``dag_run.conf``, what ``params`` are validated against).
    :param emulator: a running :class:`CodeOceanEmulator`; its ``conn_id`` (``codeocean_default``) is
        pointed at it. Without it the connection comes from the environment, as in Airflow.
    :param airflow_home: an empty folder for ``AIRFLOW_HOME``; default a new temporary folder (left in
        place, so its ``dag_test.log`` can be read after a failure).
    :param dags_folder: the DAG folder (default: the folder of ``dag_file``). It must contain the file.
    :param env: more environment variables for the run (``AIRFLOW__*`` settings, ``AIRFLOW_VAR_*``
        variables, anything the DAG reads); applied last.
    :param python: the interpreter (default: this one).
    :param timeout: seconds before the run is killed and :class:`DagTestError` raised.
    :raises DagTestError: the DAG could not be loaded or run; the message carries the end of the log.
    """
    dag_path = Path(dag_file).resolve()
    if not dag_path.is_file():
        raise DagTestError(f"no DAG file {dag_path}")
    folder = Path(dags_folder).resolve() if dags_folder is not None else dag_path.parent
    if folder not in dag_path.parents:
        raise DagTestError(f"the DAG file {dag_path} is not inside the DAG folder {folder}")
    python = python or sys.executable
    major = _airflow_major(python)
    home = Path(airflow_home) if airflow_home is not None else Path(tempfile.mkdtemp(prefix="codeocean-dag-test-"))
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_template_db(python, major, timeout), home / DB_FILE)

    child_env = airflow_environment(home, folder, airflow_major=major)
    if emulator is not None:
        child_env[f"AIRFLOW_CONN_{emulator.conn_id.upper()}"] = json.dumps(
            {"conn_type": "codeocean", "host": emulator.base_url, "password": emulator.token}
        )
    child_env.update(env or {})
    request = {"dag_file": str(dag_path), "dag_id": dag_id, "conf": dict(conf or {}), "dags_folder": str(folder)}
    (home / "dag_test_request.json").write_text(json.dumps(request))
    log_path = home / LOG_FILE
    with log_path.open("w") as log:
        try:
            proc = subprocess.run(
                [python, "-c", _CHILD, "run", str(home / "dag_test_request.json"), str(home / RESULT_FILE)],
                env=child_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DagTestError(f"the DAG test did not finish within {timeout} s", log_path.read_text()) from None
    text = log_path.read_text(errors="replace")
    result_path = home / RESULT_FILE
    if proc.returncode != 0 or not result_path.exists():
        raise DagTestError(f"the DAG test of {dag_path.name} failed to run (exit {proc.returncode})", text)
    data = json.loads(result_path.read_text())
    return DagTestResult(
        dag_id=data["dag_id"],
        run_id=data["run_id"],
        state=data["state"],
        task_instances=tuple(TaskInstanceResult(**ti) for ti in data["task_instances"]),
        xcoms=tuple(data["xcoms"]),
        airflow_home=home,
        log=text,
    )


class DagTester:
    """The ``codeocean_dag_test`` fixture: ``run_dag_test`` bound to the test's emulator and tmp folder.

    Call it like :func:`run_dag_test` (without ``emulator`` and ``airflow_home``); each call gets a new
    ``AIRFLOW_HOME`` under the test's ``tmp_path``.
    """

    def __init__(self, emulator: CodeOceanEmulator | None, base_dir: Path) -> None:
        self.emulator = emulator
        self.base_dir = base_dir
        self._runs = 0

    def __call__(self, dag_file: str | os.PathLike[str], dag_id: str | None = None, **kwargs: Any) -> DagTestResult:
        self._runs += 1
        home = self.base_dir / f"airflow-home-{self._runs}"
        return run_dag_test(dag_file, dag_id, emulator=self.emulator, airflow_home=home, **kwargs)
