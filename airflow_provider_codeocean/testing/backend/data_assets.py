"""Creating a data asset: checking the request, then gathering its files (see ``assets``)."""

from __future__ import annotations

import time
from typing import Any

from airflow_provider_codeocean.testing.backend import assets, custom_metadata
from airflow_provider_codeocean.testing.backend import validation as validate
from airflow_provider_codeocean.testing.backend.backend import Backend
from airflow_provider_codeocean.testing.backend.files import clean_relative
from airflow_provider_codeocean.testing.backend.mounts import remove_tree
from airflow_provider_codeocean.testing.backend.store import DataAsset, now_epoch
from airflow_provider_codeocean.testing.http.messages import JsonObject, bad_request

CREATE_FIELDS = (
    "name", "tags", "mount", "description", "source", "target", "custom_metadata", "data_asset_ids",
    "results_info",
)  # fmt: skip
AWS_FIELDS = ("bucket", "prefix", "endpoint_name", "keep_on_external_storage", "public", "use_input_bucket")
GCP_FIELDS = ("bucket", "prefix", "client_id", "client_secret")
RESULTS_INFO_FIELDS = (
    "capsule_id", "pipeline_id", "version", "commit", "run_script", "data_assets", "parameters",
    "nextflow_profile", "processes",
)  # fmt: skip


def _bucket_name(value: str, where: str) -> str:
    if not value or "/" in value or value in (".", ".."):
        raise bad_request(f"{where} must be a bucket name (no '/')")
    return value


def _bucket_spec(value: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    entry = validate.expect_object(value, where, allowed)
    bucket = _bucket_name(validate.req_str(entry, "bucket", where), f"{where}.bucket")
    prefix = validate.opt_str(entry, "prefix", where)
    if prefix:
        clean_relative(prefix)
    for key in allowed:
        if key in ("bucket", "prefix"):
            continue
        if key in ("keep_on_external_storage", "public", "use_input_bucket"):
            validate.opt_bool(entry, key, where)
        else:
            validate.opt_str(entry, key, where)
    return {**entry, "bucket": bucket, "prefix": prefix}


def _source(backend: Backend, body: JsonObject) -> tuple[str, Any]:
    """Which kind of source, and its validated spec. Everything a client can get wrong is a 400/404
    here, before state changes; what can only be known by trying (missing bucket) fails the asset."""
    source = body.get("source")
    ids = body.get("data_asset_ids")
    if (source is None) == (ids is None):
        raise bad_request("exactly one of source or data_asset_ids is required")
    if ids is not None:
        id_list = validate.expect_list(ids, "data_asset_ids")
        if not id_list or not all(isinstance(i, str) for i in id_list):
            raise bad_request("data_asset_ids must be a non-empty array of ids")
        checked = [validate.check_uuid(i, "data_asset_ids item") for i in id_list]
        if len(set(checked)) != len(checked):
            raise bad_request("data_asset_ids contains duplicates")
        mounts = [backend.store.data_asset(i).mount for i in checked]
        if len(set(mounts)) != len(mounts):
            raise bad_request("the combined data assets must have distinct mounts")
        return "combined", checked
    entry = validate.expect_object(source, "source", ("aws", "gcp", "computation", "cloud_workstation"))
    given = [k for k, v in entry.items() if v is not None]
    if len(given) != 1:
        raise bad_request("source needs exactly one of aws, gcp, computation or cloud_workstation")
    kind = given[0]
    if kind == "cloud_workstation":
        raise bad_request("cloud workstation sources are not supported by the emulator")
    if kind == "aws":
        return kind, _bucket_spec(entry["aws"], "source.aws", AWS_FIELDS)
    if kind == "gcp":
        return kind, _bucket_spec(entry["gcp"], "source.gcp", GCP_FIELDS)
    comp_entry = validate.expect_object(entry["computation"], "source.computation", ("id", "path"))
    comp_id = validate.check_uuid(validate.req_str(comp_entry, "id", "source.computation"), "source.computation.id")
    path = validate.opt_str(comp_entry, "path", "source.computation")
    if path:
        clean_relative(path)
    return kind, {"computation": backend.store.computation(comp_id), "path": path}


def create_data_asset(backend: Backend, request: Any) -> DataAsset:
    """Validate a creation request (the body of ``POST /data_assets``) and create the asset.

    Everything a client can get wrong is refused before anything changes; once created, the asset ends
    ``ready`` or ``failed`` depending on whether its files could be gathered.
    """
    body = validate.expect_object(request, "body", CREATE_FIELDS)
    name = validate.req_str(body, "name", "body")
    mount = validate.check_mount(body.get("mount"), "mount") if body.get("mount") is not None else None
    if mount is None:
        raise bad_request("body.mount is required")
    tags = validate.opt_str_list(body, "tags", "body") or []
    description = validate.opt_str(body, "description", "body") or ""
    metadata = (
        custom_metadata.validate(backend.config.custom_metadata, body["custom_metadata"])
        if body.get("custom_metadata") is not None
        else {}
    )
    kind, spec = _source(backend, body)
    target = None
    if body.get("target") is not None:
        target_entry = validate.expect_object(body["target"], "target", ("aws",))
        if target_entry.get("aws") is None:
            raise bad_request("target.aws is required")
        target = _bucket_spec(target_entry["aws"], "target.aws", ("bucket", "prefix", "endpoint_name"))
        if kind != "computation":
            raise bad_request("target is only supported with a computation source")
    if body.get("results_info") is not None:
        info = validate.expect_object(body["results_info"], "results_info", RESULTS_INFO_FIELDS)
        validate.opt_int(info, "version", "results_info")
    # Validated; from here on the asset exists, whatever its outcome.
    asset_id = backend.store.new_id()
    folder = backend.assets_root / asset_id
    try:
        if kind == "computation":
            built = assets.from_computation(backend, spec["computation"], spec["path"], target, folder)
        elif kind in ("aws", "gcp"):
            built = assets.from_bucket(backend, kind, spec, folder)
        else:
            built = assets.combined(backend, spec, folder)
        outcome, reason = "ready", None
    except assets.BuildFailed as exc:
        remove_tree(folder)
        built = assets.Built(type="result" if kind == "computation" else "dataset", folder=None)
        if kind == "combined":
            built.type = "combined"
        outcome, reason = "failed", str(exc)
    files, size = assets.stats(built.folder)
    asset = DataAsset(
        id=asset_id,
        created=now_epoch(),
        created_mono=time.monotonic(),
        name=name,
        mount=mount,
        type=built.type,
        owner=backend.config.owner_id,
        owner_email=backend.config.owner_email,
        description=description,
        tags=tags,
        custom_metadata=metadata,
        folder=built.folder,
        owns_folder=built.owns_folder and built.folder is not None,
        source_bucket=built.source_bucket,
        provenance=built.provenance,
        contained=built.contained,
        app_parameters=built.app_parameters,
        nextflow_profile=built.nextflow_profile,
        ready_at=time.monotonic() + backend.config.asset_ready_delay,
        outcome=outcome,
        failure_reason=reason,
        files=files,
        size=size,
    )
    backend.store.add_data_asset(asset)
    return asset
