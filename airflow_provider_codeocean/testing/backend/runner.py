"""Executing runs: a real ``code/run`` subprocess per computation, or files for a simulated one.

Each real run gets ``RUN/{code,data,results}``; ``code/run`` starts with ``code/`` as its working
directory so ``../data/<mount>`` and ``../results`` resolve as inside a Code Ocean container.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_provider_codeocean.testing.backend.capsules import CapsuleSpec
from airflow_provider_codeocean.testing.backend.mounts import copy_read_only, read_only_data, remove_tree
from airflow_provider_codeocean.testing.backend.store import TERMINAL, Computation, Store

OUTPUT_FILE = "output"


@dataclass
class RunPlan:
    """What a real run needs besides its computation record."""

    spec: CapsuleSpec
    args: list[str]
    mounts: list[tuple[str, Path]]
    processes: list[dict[str, Any]] | None
    # The code/ folder to run: a released version's snapshot, the Git working copy, or the capsule folder's.
    code: Path | None = None

    @property
    def script(self) -> Path | None:
        code = self.code if self.code is not None else self.spec.folder / "code" if self.spec.folder else None
        return None if code is None or not (code / "run").is_file() else code / "run"


def _signal_exit_code(returncode: int) -> int:
    # Popen reports death by signal N as -N; shells and Code Ocean report 128 + N.
    return 128 - returncode if returncode < 0 else returncode


class Runner:
    def __init__(self, store: Store, runs_root: Path, max_parallel: int, finalize_delay: float) -> None:
        self._store = store
        self._runs_root = runs_root
        self._slots = threading.BoundedSemaphore(max(1, max_parallel))
        self._finalize_delay = finalize_delay
        self._threads: dict[str, threading.Thread] = {}
        self._deleted: set[str] = set()
        self._closing = threading.Event()

    def run_dir_for(self, computation_id: str) -> Path:
        return self._runs_root / computation_id

    # -- real runs ---------------------------------------------------------------------------------

    def start(self, comp: Computation, plan: RunPlan) -> None:
        comp.run_dir = self.run_dir_for(comp.id)
        thread = threading.Thread(target=self._run, args=(comp, plan), name=f"co-run-{comp.id[:8]}", daemon=True)
        with self._store.lock:
            self._threads[comp.id] = thread
        thread.start()

    def _run(self, comp: Computation, plan: RunPlan) -> None:
        try:
            while not self._slots.acquire(timeout=0.1):
                if comp.cancel.is_set() or self._closing.is_set():
                    return
            try:
                self._execute(comp, plan)
            finally:
                self._slots.release()
        finally:
            with self._store.lock:
                self._threads.pop(comp.id, None)
                deleted = comp.id in self._deleted
                self._deleted.discard(comp.id)
            if deleted and comp.run_dir is not None:
                remove_tree(comp.run_dir)

    def _prepare(self, comp: Computation, plan: RunPlan) -> Path:
        assert comp.run_dir is not None
        run_dir = comp.run_dir
        (run_dir / "results").mkdir(parents=True, exist_ok=True)
        (run_dir / "data").mkdir(exist_ok=True)
        code = run_dir / "code"
        assert plan.script is not None
        shutil.copytree(
            plan.script.parent, code, symlinks=True, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git")
        )
        script = code / "run"
        # Wheels and some checkouts drop the executable bit; Code Ocean runs the script regardless.
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        for mount, source in plan.mounts:
            copy_read_only(source, run_dir / "data" / mount)
        return script

    def _execute(self, comp: Computation, plan: RunPlan) -> None:
        assert comp.run_dir is not None
        log_path = comp.run_dir / "output.log"
        exit_code: int
        try:
            if plan.script is None:
                (comp.run_dir / "results").mkdir(parents=True, exist_ok=True)
                log_path.write_text(f"code/run not found in capsule folder '{plan.spec.folder_name}'\n")
                exit_code = 127
                self._set_running(comp)
            else:
                script = self._prepare(comp, plan)
                exit_code = self._spawn_and_wait(comp, plan, script, log_path)
        except (OSError, ValueError) as exc:  # ValueError: an argument Popen cannot pass (a NUL byte)
            with contextlib.suppress(OSError):
                (comp.run_dir / "results").mkdir(parents=True, exist_ok=True)
                with log_path.open("a") as log:
                    log.write(f"emulator could not start code/run: {exc}\n")
            exit_code = 126
        self._finish(comp, exit_code, log_path)

    def _set_running(self, comp: Computation) -> bool:
        with self._store.lock:
            if comp.state in TERMINAL or comp.cancel.is_set():
                return False
            comp.state = "running"
            comp.started_mono = time.monotonic()
            return True

    def _spawn_and_wait(self, comp: Computation, plan: RunPlan, script: Path, log_path: Path) -> int:
        env = dict(os.environ)
        env["CODEOCEAN_COMPUTATION_ID"] = comp.id
        env["CODEOCEAN_CAPSULE_ID"] = comp.capsule_id
        if plan.processes is not None:
            env["CODEOCEAN_PROCESSES"] = json.dumps(plan.processes)
        with log_path.open("wb") as log, self._store.lock:
            if not self._set_running(comp):
                return 143
            # A new session gives the run its own process group, so stopping it also stops children.
            comp.process = subprocess.Popen(
                read_only_data([str(script), *plan.args]),
                cwd=script.parent,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
            process = comp.process
        returncode = process.wait()
        with self._store.lock:
            comp.process = None
        return _signal_exit_code(returncode)

    def _finish(self, comp: Computation, exit_code: int, log_path: Path) -> None:
        assert comp.run_dir is not None
        results = comp.run_dir / "results"
        with contextlib.suppress(OSError):
            if log_path.exists():
                shutil.copyfile(log_path, results / OUTPUT_FILE)
        remaining = comp.created_mono + comp.min_duration - time.monotonic()
        if remaining > 0:
            comp.cancel.wait(remaining)
        with self._store.lock:
            if comp.state in TERMINAL:
                return  # force-completed meanwhile; its outcome stands
            if comp.cancel.is_set():
                self._complete(comp, "stopped", exit_code)
                return
            if comp.held:
                comp.pending_exit = exit_code
                return
            comp.state = "finalizing"
        if self._finalize_delay > 0:
            time.sleep(self._finalize_delay)
        with self._store.lock:
            if comp.state not in TERMINAL:
                self._complete(comp, "succeeded" if exit_code == 0 else "failed", exit_code)

    def _complete(self, comp: Computation, end_status: str, exit_code: int | None) -> None:
        """Mark a run completed. Caller holds the store lock."""
        comp.state = "completed"
        comp.end_status = end_status
        comp.exit_code = exit_code
        now = time.monotonic()
        if comp.started_mono is None:
            comp.started_mono = now
        comp.ended_mono = now
        results = comp.results_dir
        comp.has_results = (
            bool(comp.simulate.result_files)
            if comp.simulate is not None
            else (results is not None and results.is_dir() and any(results.iterdir()))
        )

    # -- control ----------------------------------------------------------------------------------

    def stop(self, comp: Computation, *, delete: bool) -> None:
        """Stop a run (its process group gets SIGTERM, then SIGKILL). Caller holds the store lock."""
        comp.cancel.set()
        if delete:
            if comp.id in self._threads:
                self._deleted.add(comp.id)
            elif comp.run_dir is not None:
                remove_tree(comp.run_dir)
        process = comp.process
        if process is not None and process.poll() is None:
            _kill_group(process)
        if comp.state not in TERMINAL and comp.id not in self._threads:
            self._complete(comp, "stopped", None)

    def force_complete(self, comp: Computation, end_status: str, exit_code: int | None) -> None:
        """Complete a run now with the given outcome. Caller holds the store lock."""
        comp.advance(time.monotonic())
        if comp.state in TERMINAL:
            return
        process = comp.process
        self._complete(comp, end_status, exit_code)
        if process is not None and process.poll() is None:
            comp.cancel.set()
            _kill_group(process)

    def release(self, comp: Computation) -> None:
        """Lift a hold; a run whose process already ended completes now. Caller holds the store lock."""
        comp.held = False
        if comp.pending_exit is not None:
            code = comp.pending_exit
            comp.pending_exit = None
            self._complete(comp, "succeeded" if code == 0 else "failed", code)

    def materialize(self, comp: Computation) -> Path | None:
        """The results folder, writing a simulated run's files on first use. Caller holds the lock."""
        if comp.simulate is None:
            return comp.results_dir
        if comp.run_dir is None:
            comp.run_dir = self.run_dir_for(comp.id)
            results = comp.run_dir / "results"
            results.mkdir(parents=True, exist_ok=True)
            if comp.state == "completed":
                for rel, text in comp.simulate.result_files.items():
                    target = results / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text)
            else:
                comp.run_dir = None  # not finished: write the files later
                return None
        return comp.results_dir

    def shutdown(self, timeout: float = 5.0) -> None:
        self._closing.set()
        with self._store.lock:
            threads = list(self._threads.values())
            for comp_id in list(self._threads):
                comp = self._store.computations.get(comp_id)
                if comp is not None:
                    comp.cancel.set()
                    if comp.process is not None and comp.process.poll() is None:
                        _kill_group(comp.process)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)

    def _escalate() -> None:
        try:
            process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)

    threading.Thread(target=_escalate, daemon=True).start()
