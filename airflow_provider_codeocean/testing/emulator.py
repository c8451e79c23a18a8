"""``CodeOceanEmulator``: start, stop and steer an emulator from Python."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean.testing.config import BUILTIN_CAPSULES_DIR, EmulatorConfig

if TYPE_CHECKING:
    # The app and the server are imported when the emulator starts, so that importing this module
    # (from the pytest plugin, or for the constants) stays cheap.
    from airflow_provider_codeocean.testing.app import App
    from airflow_provider_codeocean.testing.backend.backend import Backend
    from airflow_provider_codeocean.testing.http.faults import FaultRule

JsonObject = dict[str, Any]

DEFAULT_CONN_ID = "codeocean_default"
_SENTINEL_CAPSULES = object()


class CodeOceanEmulator:
    """A local Code Ocean API on loopback.

    Use as a context manager (``with CodeOceanEmulator(capsules_dir=..., token=...) as emu:``); it
    serves from a background thread on a free port. ``emu.base_url`` is the "domain" to give the SDK
    or an Airflow connection; ``emu.token`` the access token.
    """

    conn_id = DEFAULT_CONN_ID

    def __init__(
        self,
        capsules_dir: str | Path | object | None = _SENTINEL_CAPSULES,
        token: str = "cop_emulator_token",
        *,
        state_dir: str | Path | None = None,
        data_assets_dir: str | Path | None = None,
        buckets_dir: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int | None = None,
        faults: str | None = None,
        asset_ready_delay: float = 0.5,
        custom_metadata: dict[str, Any] | None = None,
        users: list[str] | None = None,
        groups: list[str] | None = None,
        max_parallel_runs: int = 8,
        finalize_delay: float = 0.0,
        release_delay: float = 1.0,
    ) -> None:
        if capsules_dir is _SENTINEL_CAPSULES:
            capsules: Path | None = BUILTIN_CAPSULES_DIR
        else:
            capsules = None if capsules_dir is None else Path(str(capsules_dir))
        self.config = EmulatorConfig(
            token=token,
            capsules_dir=capsules,
            state_dir=None if state_dir is None else Path(state_dir),
            data_assets_dir=None if data_assets_dir is None else Path(data_assets_dir),
            buckets_dir=None if buckets_dir is None else Path(buckets_dir),
            host=host,
            port=port,
            seed=seed,
            faults=faults,
            asset_ready_delay=asset_ready_delay,
            max_parallel_runs=max_parallel_runs,
            finalize_delay=finalize_delay,
            release_delay=release_delay,
        )
        if custom_metadata is not None:
            self.config.custom_metadata = custom_metadata
        if users is not None:
            self.config.users = users
        if groups is not None:
            self.config.groups = groups
        self._app: App | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._port = port

    # -- lifecycle ----------------------------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        """The running emulator's state and operations (records under ``store.lock``, runner, config)."""
        if self._app is None:
            raise RuntimeError("the emulator is not running")
        return self._app.backend

    @property
    def app(self) -> Backend:
        """The same as :attr:`backend`; the name tests used before the emulator was split up."""
        return self.backend

    @property
    def token(self) -> str:
        return self.config.token

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        host = self.config.host
        if host in ("0.0.0.0", "::", ""):  # a bind-all address is not a client address
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._port}"

    @property
    def state_dir(self) -> Path:
        return self.backend.state_root

    async def serve(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Serve on the running event loop until :meth:`request_stop` (used by the CLI)."""
        from airflow_provider_codeocean.testing.app import App
        from airflow_provider_codeocean.testing.http.server import HttpServer

        self._app = App(self.config)
        backend = self._app.backend
        server = HttpServer(self._app.handle, backend.faults, backend.request_log, self.config.host, self.config.port)
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            await server.start()
            self._port = server.port
            backend.base_url = self.base_url
            self._ready.set()
            if on_ready is not None:
                on_ready(self.base_url)
            await self._stopping.wait()
        finally:
            await server.close()
            self._app.close()

    def request_stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)

    def start(self) -> CodeOceanEmulator:
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        self._ready.clear()
        self._thread = threading.Thread(target=self._thread_main, name="codeocean-emulator", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._startup_error is not None:
            self._thread.join(5)
            self._thread = None
            raise self._startup_error
        if not self._ready.is_set():
            raise RuntimeError("the emulator did not start within 30 seconds")
        return self

    def _thread_main(self) -> None:
        try:
            asyncio.run(self.serve())
        except BaseException as exc:
            self._startup_error = exc
            self._ready.set()

    def stop(self) -> None:
        if self._thread is None:
            return
        self.request_stop()
        self._thread.join(15)
        self._thread = None

    def __enter__(self) -> CodeOceanEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- steering (the same backend operations as the /_emulator control API) --------------------

    def add_fault(self, spec: str | dict[str, Any] | list[Any] | None = None, **fields: Any) -> list[FaultRule]:
        """Add fault rules: a spec string (``"503 times=2 path=/api/v1/computations/*"``), a rule
        object, or keyword fields (``kind="status", status=503, times=2``)."""
        return self.backend.add_faults(spec if spec is not None else fields)

    def clear_faults(self) -> None:
        self.backend.faults.clear()

    def faults(self) -> list[FaultRule]:
        return self.backend.faults.rules()

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        return self.backend.request_log.entries(since)

    def clear_requests(self) -> None:
        self.backend.request_log.clear()

    def counts(self, capsule_id: str | None = None) -> JsonObject:
        return self.backend.counts(capsule_id)

    def count_computations(self, capsule_id: str | None = None) -> int:
        return int(self.backend.counts(capsule_id)["computations"])

    def count_data_assets(self) -> int:
        return int(self.backend.counts()["data_assets"])

    def computations(self, capsule_id: str | None = None) -> list[JsonObject]:
        return self.backend.computations(capsule_id)

    def capsules(self) -> list[JsonObject]:
        return self.backend.capsules()

    def capsule_id(self, name: str) -> str:
        """The id of a capsule or pipeline by folder name or display name."""
        for item in self.backend.capsules():
            if name in (item["folder"], item["name"], item["id"]):
                return str(item["id"])
        raise KeyError(f"no capsule or pipeline named '{name}'")

    def start_computation(
        self, capsule_id: str | None = None, *, held: bool = False, min_duration: float = 0.0, **fields: Any
    ) -> JsonObject:
        """Start a run as ``POST /api/v1/computations`` would (``fields`` are its other body fields,
        e.g. ``parameters=[...]`` or ``pipeline_id=...``), optionally held or with a minimum duration,
        so a test can look at it before a fast capsule finishes."""
        from airflow_provider_codeocean.testing.backend.runs import start_run

        body = {"capsule_id": capsule_id, **fields} if capsule_id is not None else fields
        backend = self.backend
        with backend.store.lock:
            comp = start_run(backend, body, held=held, min_duration=min_duration)
            return comp.control_json(backend.now())

    def hold_computation(self, computation_id: str) -> None:
        self.backend.hold(computation_id)

    def release_computation(self, computation_id: str) -> None:
        self.backend.release(computation_id)

    def complete_computation(
        self, computation_id: str, end_status: str = "succeeded", exit_code: int | None = None
    ) -> None:
        self.backend.complete(computation_id, end_status, exit_code)

    def stop_computation(self, computation_id: str) -> None:
        self.backend.stop(computation_id)

    def set_data_asset_state(self, data_asset_id: str, state: str | None, failure_reason: str | None = None) -> None:
        self.backend.set_data_asset_state(data_asset_id, state, failure_reason)

    def configure_release(self, capsule_id: str, **settings: Any) -> None:
        """How the capsule's next releases go: ``released`` (False: 400, never released), ``issues``
        (unmet requirements: 403 listing them), ``outcome`` (``completed``, ``failed``, ``canceled``),
        ``error`` (a failed job's reason) and ``delay`` (seconds from created to the outcome)."""
        self.backend.configure_release(capsule_id, settings)

    def link_git_remote(self, capsule_id: str, remote: str | Path) -> None:
        """Link a capsule to a local Git repository until the next reset, as ``"git_remote"`` in its
        capsule.json does: the capsule's code becomes a clone of it, and ``POST …/sync`` pulls from it."""
        self.backend.link_git_remote(capsule_id, str(remote))

    def release_jobs(self, capsule_id: str) -> list[JsonObject]:
        """Every release job of the capsule, as ``GET …/release/{job_id}`` shows it."""
        return self.backend.release_jobs(capsule_id)

    def capsule_code_dir(self, capsule_id: str, version: int | None = None) -> Path | None:
        """The code/ folder a run of ``version`` (None: the latest) starts from: a release snapshot, the
        Git working copy of a linked capsule, or the capsule folder's code/."""
        with self.backend.store.lock:
            return self.backend.store.capsule(capsule_id).code(version)

    def attached_data_assets(self, capsule_id: str) -> list[dict[str, str]]:
        with self.backend.store.lock:
            return [dict(item) for item in self.backend.store.capsule(capsule_id).attached]

    def reset(self) -> None:
        self.backend.reset()

    def run_dir(self, computation_id: str) -> Path:
        return self.backend.runner.run_dir_for(computation_id)

    def computation(self, computation_id: str) -> JsonObject:
        return self.backend.computation(computation_id)

    def wait_for_computation(self, computation_id: str, timeout: float = 30.0) -> JsonObject:
        """Wait in-process until a computation is completed (no HTTP, no 5 s SDK poll interval)."""
        return self._wait(lambda: self.computation(computation_id), ("completed", "failed"), timeout,
                          f"computation {computation_id}")  # fmt: skip

    def wait_for_data_asset(self, data_asset_id: str, timeout: float = 30.0) -> JsonObject:
        return self._wait(lambda: self.backend.data_asset(data_asset_id), ("ready", "failed"), timeout,
                          f"data asset {data_asset_id}")  # fmt: skip

    @staticmethod
    def _wait(read: Callable[[], JsonObject], states: tuple[str, ...], timeout: float, what: str) -> JsonObject:
        deadline = time.monotonic() + timeout
        while True:
            current = read()
            if current["state"] in states:
                return current
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} is still {current['state']}")
            time.sleep(0.01)
