"""Every Code Ocean API endpoint, defined once; the sync and the async transport both send these.

Capsule routes are mirrored under ``pipelines/`` (platform 4.1+); ``kind`` picks the prefix.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from airflow_provider_codeocean.api.wire import Endpoint, seg
from airflow_provider_codeocean.models import (
    AppPanel,
    Capsule,
    CapsuleReleaseJob,
    Computation,
    CustomMetadataSchema,
    DataAsset,
    DataAssetAttachResult,
    DataAssetMount,
    DataAssetParams,
    DataAssetUpdate,
    FileURLs,
    Folder,
    GitSyncResult,
    Permissions,
    RunParams,
    SearchPage,
)
from airflow_provider_codeocean.models._parse import JSON

Kind = Literal["capsules", "pipelines"]


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _computations(data: Any) -> list[Computation]:
    # The vendor's documented example answer is a single computation object, not a list.
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) and "id" in data else []
    return [Computation.from_json(item) for item in items]


# Capsules and pipelines


def get_capsule(capsule_id: str, kind: Kind = "capsules") -> Endpoint[Capsule]:
    return Endpoint("GET", f"{kind}/{seg(capsule_id)}", Capsule.from_json)


def list_computations(capsule_id: str, kind: Kind = "capsules") -> Endpoint[list[Computation]]:
    return Endpoint("GET", f"{kind}/{seg(capsule_id)}/computations", _computations)


def get_app_panel(capsule_id: str, version: int | None = None, kind: Kind = "capsules") -> Endpoint[AppPanel]:
    params = {"version": str(version)} if version is not None else None
    return Endpoint("GET", f"{kind}/{seg(capsule_id)}/app_panel", AppPanel.from_json, params=params)


def search_capsules(body: JSON, kind: Kind = "capsules") -> Endpoint[SearchPage[Capsule]]:
    return Endpoint("POST", f"{kind}/search", SearchPage.parser(Capsule.from_json), json=body)


def archive_capsule(capsule_id: str, archive: bool, kind: Kind = "capsules") -> Endpoint[None]:
    return Endpoint("PATCH", f"{kind}/{seg(capsule_id)}/archive", params={"archive": _bool(archive)})


def get_capsule_permissions(capsule_id: str, kind: Kind = "capsules") -> Endpoint[Permissions]:
    return Endpoint("GET", f"{kind}/{seg(capsule_id)}/permissions", Permissions.from_json)


def update_capsule_permissions(capsule_id: str, permissions: Permissions, kind: Kind = "capsules") -> Endpoint[None]:
    return Endpoint("POST", f"{kind}/{seg(capsule_id)}/permissions", json=permissions.to_json())


def delete_capsule(capsule_id: str, kind: Kind = "capsules") -> Endpoint[None]:
    """Deletes the capsule or pipeline for good (403 unless archived, unreleased, and yours)."""
    return Endpoint("DELETE", f"{kind}/{seg(capsule_id)}")


def git_sync_capsule(capsule_id: str, kind: Kind = "capsules") -> Endpoint[GitSyncResult]:
    # Safe to resend: a second sync finds nothing left to push or pull.
    return Endpoint("POST", f"{kind}/{seg(capsule_id)}/sync", GitSyncResult.from_json)


def release_capsule(capsule_id: str, kind: Kind = "capsules") -> Endpoint[CapsuleReleaseJob]:
    # Not idempotent: each request starts a release job, i.e. a new version. Never retried on ambiguous failures.
    return Endpoint("POST", f"{kind}/{seg(capsule_id)}/release", CapsuleReleaseJob.from_json, idempotent=False)


def get_release_job(capsule_id: str, job_id: str, kind: Kind = "capsules") -> Endpoint[CapsuleReleaseJob]:
    return Endpoint("GET", f"{kind}/{seg(capsule_id)}/release/{seg(job_id)}", CapsuleReleaseJob.from_json)


def _attach_results(data: Any) -> list[DataAssetAttachResult]:
    return [DataAssetAttachResult.from_json(item) for item in data] if isinstance(data, list) else []


def attach_data_assets(
    capsule_id: str, mounts: Iterable[DataAssetMount], kind: Kind = "capsules"
) -> Endpoint[list[DataAssetAttachResult]]:
    # Safe to resend: attaching an attached asset under the same mount changes nothing.
    body = [mount.to_json() for mount in mounts]
    return Endpoint("POST", f"{kind}/{seg(capsule_id)}/data_assets", _attach_results, json=body)


def detach_data_assets(capsule_id: str, data_asset_ids: Iterable[str], kind: Kind = "capsules") -> Endpoint[None]:
    # The trailing slash and the JSON body on a DELETE are the API's (and the SDK's) own.
    return Endpoint("DELETE", f"{kind}/{seg(capsule_id)}/data_assets/", json=list(data_asset_ids))


# Computations


def run_computation(params: RunParams) -> Endpoint[Computation]:
    # Not idempotent: sending it twice starts two runs. Never retried on ambiguous failures.
    return Endpoint("POST", "computations", Computation.from_json, json=params.to_json(), idempotent=False)


def get_computation(computation_id: str) -> Endpoint[Computation]:
    return Endpoint("GET", f"computations/{seg(computation_id)}", Computation.from_json)


def rename_computation(computation_id: str, name: str) -> Endpoint[None]:
    return Endpoint("PATCH", f"computations/{seg(computation_id)}", params={"name": name})


def delete_computation(computation_id: str) -> Endpoint[None]:
    """Stops the run if it is running, and deletes it: the API's only way to stop a run."""
    return Endpoint("DELETE", f"computations/{seg(computation_id)}")


def list_results(computation_id: str, path: str = "") -> Endpoint[Folder]:
    return Endpoint("POST", f"computations/{seg(computation_id)}/results", Folder.from_json, json={"path": path})


def get_result_file_urls(computation_id: str, path: str) -> Endpoint[FileURLs]:
    return Endpoint(
        "GET", f"computations/{seg(computation_id)}/results/urls", FileURLs.from_json, params={"path": path}
    )


# Data assets


def create_data_asset(params: DataAssetParams) -> Endpoint[DataAsset]:
    # Not idempotent: sending it twice creates two assets. Never retried on ambiguous failures.
    return Endpoint("POST", "data_assets", DataAsset.from_json, json=params.to_json(), idempotent=False)


def get_data_asset(data_asset_id: str) -> Endpoint[DataAsset]:
    return Endpoint("GET", f"data_assets/{seg(data_asset_id)}", DataAsset.from_json)


def update_data_asset(data_asset_id: str, update: DataAssetUpdate) -> Endpoint[DataAsset]:
    return Endpoint("PUT", f"data_assets/{seg(data_asset_id)}", DataAsset.from_json, json=update.to_json())


def delete_data_asset(data_asset_id: str) -> Endpoint[None]:
    return Endpoint("DELETE", f"data_assets/{seg(data_asset_id)}")


def archive_data_asset(data_asset_id: str, archive: bool) -> Endpoint[None]:
    return Endpoint("PATCH", f"data_assets/{seg(data_asset_id)}/archive", params={"archive": _bool(archive)})


def search_data_assets(body: JSON) -> Endpoint[SearchPage[DataAsset]]:
    return Endpoint("POST", "data_assets/search", SearchPage.parser(DataAsset.from_json), json=body)


def list_data_asset_files(data_asset_id: str, path: str = "") -> Endpoint[Folder]:
    return Endpoint("POST", f"data_assets/{seg(data_asset_id)}/files", Folder.from_json, json={"path": path})


def get_data_asset_file_urls(data_asset_id: str, path: str) -> Endpoint[FileURLs]:
    return Endpoint("GET", f"data_assets/{seg(data_asset_id)}/files/urls", FileURLs.from_json, params={"path": path})


def get_data_asset_permissions(data_asset_id: str) -> Endpoint[Permissions]:
    return Endpoint("GET", f"data_assets/{seg(data_asset_id)}/permissions", Permissions.from_json)


def update_data_asset_permissions(data_asset_id: str, permissions: Permissions) -> Endpoint[None]:
    return Endpoint("POST", f"data_assets/{seg(data_asset_id)}/permissions", json=permissions.to_json())


def transfer_data_asset(data_asset_id: str, body: JSON) -> Endpoint[None]:
    """Admin only: move an asset to (or between) external S3 storage."""
    return Endpoint("POST", f"data_assets/{seg(data_asset_id)}/transfer", json=body, idempotent=False)


# Other


def get_custom_metadata() -> Endpoint[CustomMetadataSchema]:
    return Endpoint("GET", "custom_metadata", CustomMetadataSchema.from_json)
