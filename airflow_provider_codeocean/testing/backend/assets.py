"""Building a data asset's files from its source: a computation's results, a bucket, or other assets.

The files are gathered when the asset is created; the asset still reports ``draft`` until the
configured delay has passed, then ``ready`` or ``failed`` with the ``failure_reason`` found here.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_codeocean.testing.backend.backend import Backend
from airflow_provider_codeocean.testing.backend.files import clean_relative, tree_stats
from airflow_provider_codeocean.testing.backend.store import Computation


class BuildFailed(Exception):
    """The asset is created but ends ``failed``; the message becomes its ``failure_reason``."""


@dataclass
class Built:
    type: str
    folder: Path | None = None
    owns_folder: bool = True
    source_bucket: dict[str, Any] | None = None
    provenance: dict[str, Any] | None = None
    contained: list[dict[str, Any]] | None = None
    app_parameters: list[dict[str, str]] | None = None
    nextflow_profile: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _copy_into(source: Path, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, destination, symlinks=False, dirs_exist_ok=True)
    else:
        shutil.copy2(source, destination / source.name)


def bucket_dir(backend: Backend, bucket: str, prefix: str | None) -> Path:
    root = backend.config.buckets_dir
    if root is None or not (root / bucket).is_dir():
        raise BuildFailed(f"bucket '{bucket}' does not exist or is not accessible")
    rel = clean_relative(prefix or "")
    folder = root / bucket / rel if rel else root / bucket
    if not folder.exists():
        raise BuildFailed(f"prefix '{rel}' not found in bucket '{bucket}'")
    return folder


def from_computation(
    backend: Backend, comp: Computation, path: str | None, target: dict[str, Any] | None, folder: Path
) -> Built:
    comp.advance(backend.now())
    if comp.state != "completed":
        raise BuildFailed(f"source computation {comp.id} has not completed (state {comp.state})")
    if comp.end_status != "succeeded":
        raise BuildFailed(f"source computation {comp.id} did not succeed (end_status {comp.end_status})")
    root = backend.runner.materialize(comp)
    rel = clean_relative(path or "")
    source = (root / rel if rel else root) if root is not None else None
    if source is None or not source.exists():
        raise BuildFailed(f"path '{rel}' not found in the results of computation {comp.id}")
    built = Built(
        type="result",
        provenance={
            "computation": comp.id,
            "capsule": comp.capsule_id,
            "run_script": "code/run",
            "commit": "0" * 40,
            "docker_image": "registry.codeocean.local/emulator:latest",
            "data_assets": [d["id"] for d in comp.data_assets],
        },
        app_parameters=[{"name": p.get("name") or p.get("param_name") or "", "value": p["value"]}
                        for p in comp.parameters],
        nextflow_profile=comp.nextflow_profile,
    )  # fmt: skip
    if target is not None:
        destination = bucket_dir(backend, target["bucket"], None) / clean_relative(target.get("prefix") or "")
        _copy_into(source, destination)
        built.folder, built.owns_folder = destination, False
        built.source_bucket = {
            "origin": "aws", "bucket": target["bucket"], "prefix": target.get("prefix") or "", "external": True,
        }  # fmt: skip
    else:
        _copy_into(source, folder)
        built.folder = folder
        built.source_bucket = {"origin": "local"}
    return built


def from_bucket(backend: Backend, origin: str, spec: dict[str, Any], folder: Path) -> Built:
    source = bucket_dir(backend, spec["bucket"], spec.get("prefix"))
    external = bool(spec.get("keep_on_external_storage"))
    bucket_info = {
        "origin": origin, "bucket": spec["bucket"], "prefix": spec.get("prefix") or "", "external": external,
    }  # fmt: skip
    if external:
        # External assets stay in the bucket; Code Ocean only indexes them.
        return Built(type="dataset", folder=source, owns_folder=False, source_bucket=bucket_info)
    _copy_into(source, folder)
    return Built(type="dataset", folder=folder, source_bucket=bucket_info)


def combined(backend: Backend, ids: list[str], folder: Path) -> Built:
    contained: list[dict[str, Any]] = []
    now = backend.now()
    folder.mkdir(parents=True, exist_ok=True)
    for asset_id in ids:
        part = backend.store.data_assets[asset_id]
        state = part.state(now)
        if state != "ready" or part.folder is None:
            raise BuildFailed(f"contained data asset {asset_id} is not ready (state {state})")
        link = folder / part.mount
        if not link.exists():
            link.symlink_to(part.folder.resolve(), target_is_directory=True)
        contained.append({"id": part.id, "mount": part.mount, "size": part.size})
    return Built(type="combined", folder=folder, source_bucket={"origin": "local"}, contained=contained)


def stats(folder: Path | None) -> tuple[int, int]:
    return (0, 0) if folder is None else tree_stats(folder)
