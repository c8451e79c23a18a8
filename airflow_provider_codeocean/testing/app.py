"""The emulator's request handling: authentication, version negotiation, routing, and shared state."""

from __future__ import annotations

import base64
import binascii
import json
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from airflow_provider_codeocean.testing import (
    control,
    routes_capsules,
    routes_computations,
    routes_data_assets,
    routes_files,
)
from airflow_provider_codeocean.testing.capsules import folder_id, load_capsules
from airflow_provider_codeocean.testing.config import EmulatorConfig
from airflow_provider_codeocean.testing.faults import FaultInjector, parse_spec
from airflow_provider_codeocean.testing.files import tree_stats
from airflow_provider_codeocean.testing.protocol import ApiError, Request, Response, error_response
from airflow_provider_codeocean.testing.request_log import RequestLog
from airflow_provider_codeocean.testing.router import Router
from airflow_provider_codeocean.testing.runner import Runner
from airflow_provider_codeocean.testing.signing import UrlSigner
from airflow_provider_codeocean.testing.state import CapsuleRecord, DataAsset, Store
from airflow_provider_codeocean.testing.validation import MOUNT_RE, UUID_RE

_VERSION_RE = re.compile(r"^\d+(\.\d+){0,2}$")
DATA_ASSET_METADATA_FILE = "data_asset.json"
_UNAUTHORIZED_HEADERS = [("WWW-Authenticate", 'Basic realm="Code Ocean"')]


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


class App:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if config.state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="codeocean-emulator-")
            self.state_root = Path(self._tmp.name)
        else:
            self.state_root = config.state_dir
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
        self.router = Router(
            routes_capsules.ROUTES
            + routes_computations.ROUTES
            + routes_data_assets.ROUTES
            + routes_files.ROUTES
            + control.ROUTES
        )
        self._expected_auth = "Basic " + base64.b64encode(f"{config.token}:".encode()).decode()
        self.capsule_specs = load_capsules(config.capsules_dir)
        self.seed_state()

    # -- state seeding ----------------------------------------------------------------------------

    def seed_state(self) -> None:
        """(Re)load capsules and seeded data assets; used at start and by reset."""
        with self.store.lock:
            self.store.capsules = {
                spec.id: CapsuleRecord(spec, attached=[dict(d) for d in spec.data_assets])
                for spec in self.capsule_specs
            }
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
            self.seed_state()
        self.faults.clear()
        self.request_log.clear()

    def close(self) -> None:
        self.runner.shutdown()
        if self._tmp is not None:
            self._tmp.cleanup()

    # -- request handling -------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        try:
            path = request.path
            if path.startswith("/api/v1/"):
                self._authenticate(request)
                self._check_min_server_version(request)
            elif path.startswith("/_emulator/"):
                if path.rstrip("/") != "/_emulator/health":
                    self._authenticate(request)
            elif not path.startswith("/_signed/"):
                raise ApiError(404, f"no such endpoint: {request.method} {path}")
            handler, params = self.router.resolve(request.method, path)
            with self.store.lock:
                return handler(self, request, params)
        except ApiError as exc:
            response = error_response(exc.status, exc.message, **exc.extra)
            if exc.status == 401:
                response.headers.extend(_UNAUTHORIZED_HEADERS)
            return response

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization")
        if header == self._expected_auth:
            return
        if header is None:
            raise ApiError(401, "Unauthorized: an access token is required (HTTP Basic, token as username)")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(encoded, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            user, _, password = decoded.partition(":")
            token = self.config.token
            if decoded and user == token and password == "":
                return
            if self.config.accept_quoted_token and user == f"'{token}" and password == "'":
                return
        raise ApiError(401, "Unauthorized: invalid access token")

    def _check_min_server_version(self, request: Request) -> None:
        wanted = request.headers.get("min-server-version")
        if wanted is None:
            return
        if not _VERSION_RE.match(wanted.strip()):
            raise ApiError(400, f"invalid Min-Server-Version header '{wanted}'")
        if _version_tuple(wanted.strip()) > _version_tuple(self.config.server_version):
            raise ApiError(
                400,
                f"server version {self.config.server_version} is older than the minimum "
                f"version {wanted.strip()} required by the client",
            )

    def url_base(self, request: Request) -> str:
        # Signed URLs point back at whatever address the client used to reach us.
        host = request.host
        return f"http://{host}" if host else self.base_url

    @staticmethod
    def now() -> float:
        return time.monotonic()
