"""The emulator's state and the domain operations on it, shared by the routes and the Python API.

Both the ``/_emulator/`` control routes and :class:`~airflow_provider_codeocean.testing.CodeOceanEmulator`
call the operations here, so HTTP and in-process control cannot drift apart.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from airflow_provider_codeocean.testing.backend import lifecycle, releases
from airflow_provider_codeocean.testing.backend.capsules import folder_id, load_capsules
from airflow_provider_codeocean.testing.backend.files import tree_stats
from airflow_provider_codeocean.testing.backend.runner import Runner
from airflow_provider_codeocean.testing.backend.signing import UrlSigner
from airflow_provider_codeocean.testing.backend.store import TERMINAL, CapsuleRecord, DataAsset, Store
from airflow_provider_codeocean.testing.backend.validation import MOUNT_RE, UUID_RE
from airflow_provider_codeocean.testing.config import EmulatorConfig
from airflow_provider_codeocean.testing.http.faults import (
    FaultInjector,
    FaultRule,
    FaultSpecError,
    parse_spec,
    rule_from_json,
)
from airflow_provider_codeocean.testing.http.messages import ApiError, JsonObject, bad_request
from airflow_provider_codeocean.testing.http.request_log import RequestLog

DATA_ASSET_METADATA_FILE = "data_asset.json"


def parse_faults(value: Any) -> list[FaultRule]:
    """Fault rules from a spec string, a rule object, ``{"spec": ...}``, or a list of these."""
    try:
        if isinstance(value, str):
            return parse_spec(value)
        if isinstance(value, dict) and set(value) == {"spec"} and isinstance(value["spec"], str):
            return parse_spec(value["spec"])
        if isinstance(value, list):
            return [rule for item in value for rule in parse_faults(item)]
        return [rule_from_json(value)]
    except FaultSpecError as exc:
        raise bad_request(f"invalid fault: {exc}") from None


class Backend:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if config.state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="codeocean-emulator-")
            self.state_root = Path(self._tmp.name)
        else:
            # Absolute, because runs start code/run from inside the state folder.
            self.state_root = config.state_dir.resolve()
            self.state_root.mkdir(parents=True, exist_ok=True)
        self.assets_root = self.state_root / "data_assets"
        self.assets_root.mkdir(parents=True, exist_ok=True)
        self.store = Store(config.seed)
        self.runner = Runner(self.store, self.state_root / "runs", config.max_parallel_runs, config.finalize_delay)
        self.faults = FaultInjector(config.seed)
        if config.faults:
            for rule in parse_spec(config.faults):
                self.faults.add(rule)
        self.request_log = RequestLog(config.request_log_limit)
        self.signer = UrlSigner(config.signed_url_ttl)
        self.base_url = f"http://{config.host}:{config.port}"
        self.capsule_specs = load_capsules(config.capsules_dir)
        self.seed_state()

    @staticmethod
    def now() -> float:
        return time.monotonic()

    def url_base(self, host: str) -> str:
        # Signed URLs point back at whatever address the client used to reach us.
        return f"http://{host}" if host else self.base_url

    # -- state seeding ----------------------------------------------------------------------------

    def seed_state(self) -> None:
        """(Re)load capsules and seeded data assets; used at start and by reset."""
        with self.store.lock:
            self.store.capsules = {spec.id: CapsuleRecord.seeded(spec) for spec in self.capsule_specs}
            for record in self.store.capsules.values():
                lifecycle.check_out(record, self.state_root)
            for asset in self._seeded_assets():
                self.store.data_assets[asset.id] = asset

    def _seeded_assets(self) -> list[DataAsset]:
        directory = self.config.data_assets_dir
        if directory is None:
            return []
        if not directory.is_dir():
            raise ValueError(f"data assets directory '{directory}' does not exist")
        assets = []
        for folder in sorted(directory.iterdir()):
            if folder.is_dir() and not folder.name.startswith((".", "_")):
                assets.append(self._seeded_asset(folder))
        return assets

    def _seeded_asset(self, folder: Path) -> DataAsset:
        meta: dict[str, Any] = {}
        meta_file = folder / DATA_ASSET_METADATA_FILE
        if meta_file.is_file():
            loaded = json.loads(meta_file.read_text())
            if not isinstance(loaded, dict):
                raise ValueError(f"{meta_file} must contain a JSON object")
            meta = loaded
        asset_id = str(meta.get("id") or (folder.name if UUID_RE.match(folder.name) else ""))
        asset_id = asset_id.lower() or folder_id("data_asset", folder.name)
        mount = str(meta.get("mount", folder.name))
        if not MOUNT_RE.match(mount):
            raise ValueError(f"data asset folder '{folder.name}': invalid mount '{mount}'")
        created = int(meta.get("created", folder.stat().st_mtime))
        if meta_file.is_file():
            folder = self._without_metadata_file(folder, asset_id)
        files, size = tree_stats(folder)
        return DataAsset(
            id=asset_id,
            created=created,
            created_mono=0.0,
            name=str(meta.get("name", folder.name)),
            mount=mount,
            type=str(meta.get("type", "dataset")),
            owner=self.config.owner_id,
            owner_email=self.config.owner_email,
            description=str(meta.get("description", "")),
            tags=[str(t) for t in meta.get("tags", [])],
            custom_metadata=dict(meta.get("custom_metadata", {})),
            folder=folder,
            owns_folder=False,
            source_bucket={"origin": "local"},
            files=files,
            size=size,
        )

    def _without_metadata_file(self, folder: Path, asset_id: str) -> Path:
        """A view of a seeded folder without its data_asset.json, which is not part of the asset.

        Links rather than copies, so seeding a large folder stays instant.
        """
        view = self.state_root / "seeded" / asset_id
        shutil.rmtree(view, ignore_errors=True)
        view.mkdir(parents=True)
        for child in folder.iterdir():
            if child.name != DATA_ASSET_METADATA_FILE:
                (view / child.name).symlink_to(child.resolve(), target_is_directory=child.is_dir())
        return view

    def reset(self) -> None:
        with self.store.lock:
            for comp in list(self.store.computations.values()):
                self.runner.stop(comp, delete=True)
            for asset in self.store.data_assets.values():
                if asset.owns_folder and asset.folder is not None:
                    shutil.rmtree(asset.folder, ignore_errors=True)
            self.store.computations.clear()
            self.store.by_capsule.clear()
            self.store.data_assets.clear()
            self.store.created_computations.clear()
            self.store.created_data_assets = 0
            shutil.rmtree(self.state_root / "releases", ignore_errors=True)
            self.seed_state()
        self.faults.clear()
        self.request_log.clear()

    def close(self) -> None:
        self.runner.shutdown()
        if self._tmp is not None:
            self._tmp.cleanup()

    # -- control operations -----------------------------------------------------------------------

    def add_faults(self, value: Any) -> list[FaultRule]:
        rules = parse_faults(value)  # all or nothing
        for rule in rules:
            self.faults.add(rule)
        return rules

    def counts(self, capsule_id: str | None = None) -> JsonObject:
        store = self.store
        with store.lock:
            comps = list(store.computations.values())
            if capsule_id is not None:
                comps = [c for c in comps if c.capsule_id == capsule_id]
            by_capsule: dict[str, int] = {}
            for comp in store.computations.values():
                by_capsule[comp.capsule_id] = by_capsule.get(comp.capsule_id, 0) + 1
            created = store.created_computations
            return {
                "computations": len(comps),
                "computations_by_capsule": by_capsule,
                "computations_created": created[capsule_id] if capsule_id is not None else sum(created.values()),
                "data_assets": len(store.data_assets),
                "data_assets_created": store.created_data_assets,
            }

    def computations(self, capsule_id: str | None = None) -> list[JsonObject]:
        with self.store.lock:
            now = self.now()
            return [
                c.control_json(now)
                for c in self.store.computations.values()
                if capsule_id is None or c.capsule_id == capsule_id
            ]

    def computation(self, computation_id: str) -> JsonObject:
        with self.store.lock:
            return self.store.computation(computation_id).to_json(self.now())

    def data_asset(self, data_asset_id: str) -> JsonObject:
        with self.store.lock:
            return self.store.data_asset(data_asset_id).to_json(self.now())

    def capsules(self) -> list[JsonObject]:
        with self.store.lock:
            return [
                {"id": r.spec.id, "folder": r.spec.folder_name, "name": r.spec.name, "kind": r.spec.kind,
                 "simulated": r.spec.simulate is not None}
                for r in self.store.capsules.values()
            ]  # fmt: skip

    def hold(self, computation_id: str) -> None:
        with self.store.lock:
            comp = self.store.computation(computation_id)
            comp.advance(self.now())
            if comp.state in TERMINAL:
                raise ApiError(409, f"computation {comp.id} has already finished and cannot be held")
            comp.held = True

    def release(self, computation_id: str) -> None:
        with self.store.lock:
            self.runner.release(self.store.computation(computation_id))

    def complete(self, computation_id: str, end_status: str = "succeeded", exit_code: int | None = None) -> None:
        if end_status not in ("succeeded", "failed", "stopped"):
            raise bad_request("end_status must be succeeded, failed or stopped")
        if exit_code is None:
            exit_code = {"succeeded": 0, "failed": 1, "stopped": 143}[end_status]
        with self.store.lock:
            self.runner.force_complete(self.store.computation(computation_id), end_status, exit_code)

    def stop(self, computation_id: str) -> None:
        """Stop without deleting, as the Code Ocean UI's stop button does; DELETE stops and deletes."""
        with self.store.lock:
            comp = self.store.computation(computation_id)
            comp.advance(self.now())
            if comp.state not in TERMINAL:
                self.runner.force_complete(comp, "stopped", 143)

    def configure_release(self, capsule_id: str, settings: dict[str, Any]) -> None:
        with self.store.lock:
            releases.configure(self.store.capsule(capsule_id), settings)

    def link_git_remote(self, capsule_id: str, remote: str) -> None:
        """Link a capsule to a local Git repository (until reset), as ``git_remote`` in capsule.json does."""
        path = Path(remote).resolve()
        if not path.is_dir():
            raise bad_request(f"git_remote {remote} is not a directory")
        with self.store.lock:
            record = self.store.capsule(capsule_id)
            record.git_remote = path
            try:
                lifecycle.check_out(record, self.state_root)
            except ValueError as exc:
                raise bad_request(str(exc)) from None

    def release_jobs(self, capsule_id: str) -> list[JsonObject]:
        with self.store.lock:
            record = self.store.capsule(capsule_id)
            releases.settle(record, self.now())
            return [job.to_json(self.now()) for job in record.release_jobs.values()]

    def set_data_asset_state(self, data_asset_id: str, state: str | None, failure_reason: str | None) -> None:
        if state not in (None, "draft", "ready", "failed"):
            raise bad_request("state must be draft, ready or failed (or null to follow the clock)")
        with self.store.lock:
            asset = self.store.data_asset(data_asset_id)
            asset.forced_state = state
            if failure_reason is not None:
                asset.failure_reason = failure_reason
