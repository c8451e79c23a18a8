"""``/api/v1/data_assets`` and ``/api/v1/custom_metadata``."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from airflow_provider_codeocean.testing.backend import assets, custom_metadata, permissions, search
from airflow_provider_codeocean.testing.backend import validation as validate
from airflow_provider_codeocean.testing.backend.files import clean_relative, list_folder
from airflow_provider_codeocean.testing.backend.store import DataAsset, now_epoch
from airflow_provider_codeocean.testing.http.messages import ApiError, JsonObject, bad_request
from airflow_provider_codeocean.testing.routes import Backend, Request, Response, RouteTable, json_response, no_content
from airflow_provider_codeocean.testing.routes.files import signed_urls

API = "/api/v1/data_assets"
CREATE_FIELDS = (
    "name", "tags", "mount", "description", "source", "target", "custom_metadata", "data_asset_ids",
    "results_info",
)  # fmt: skip
UPDATE_FIELDS = ("name", "description", "tags", "mount", "custom_metadata")
AWS_FIELDS = ("bucket", "prefix", "endpoint_name", "keep_on_external_storage", "public", "use_input_bucket")
GCP_FIELDS = ("bucket", "prefix", "client_id", "client_secret")
RESULTS_INFO_FIELDS = (
    "capsule_id", "pipeline_id", "version", "commit", "run_script", "data_assets", "parameters",
    "nextflow_profile", "processes",
)  # fmt: skip
QUERY_FIELDS = ("name", "tag", "run_script", "commit_id", "contained_data_id")
SEARCH_FIELDS = (*search.COMMON_FIELDS, "type", "origin")
TYPES = ("dataset", "result", "combined", "model")


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


def create(backend: Backend, request: Request, _: dict[str, str]) -> Response:
    body = validate.expect_object(request.json(), "body", CREATE_FIELDS)
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
        shutil.rmtree(folder, ignore_errors=True)
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
    return json_response(asset.to_json(backend.now()))


def _asset(backend: Backend, params: dict[str, str]) -> DataAsset:
    return backend.store.data_asset(params["data_asset_id"])


def get(backend: Backend, _: Request, params: dict[str, str]) -> Response:
    return json_response(_asset(backend, params).to_json(backend.now()))


def update(backend: Backend, request: Request, params: dict[str, str]) -> Response:
    asset = _asset(backend, params)
    body = validate.expect_object(request.json(), "body", UPDATE_FIELDS)
    # The SDK sends every unset field as null, so null means "leave unchanged".
    name = validate.opt_str(body, "name", "body")
    if name is not None and not name.strip():
        raise bad_request("body.name must not be empty")
    description = validate.opt_str(body, "description", "body")
    tags = validate.opt_str_list(body, "tags", "body")
    mount = validate.check_mount(body["mount"], "mount") if body.get("mount") is not None else None
    metadata = (
        custom_metadata.validate(backend.config.custom_metadata, body["custom_metadata"])
        if body.get("custom_metadata") is not None
        else None
    )
    if name is not None:
        asset.name = name
    if description is not None:
        asset.description = description
    if tags is not None:
        asset.tags = tags
    if mount is not None:
        asset.mount = mount
    if metadata is not None:
        asset.custom_metadata = metadata
    return json_response(asset.to_json(backend.now()))


def delete(backend: Backend, _: Request, params: dict[str, str]) -> Response:
    asset = _asset(backend, params)
    del backend.store.data_assets[asset.id]
    if asset.owns_folder and asset.folder is not None:
        shutil.rmtree(asset.folder, ignore_errors=True)
    return no_content()


def archive(backend: Backend, request: Request, params: dict[str, str]) -> Response:
    asset = _asset(backend, params)
    asset.archived = validate.parse_bool_query(request.query_value("archive"), "archive")
    return no_content()


def _searchable(asset: DataAsset) -> search.Searchable:
    provenance = asset.provenance or {}
    values: dict[str, Any] = {"name": asset.name, "description": asset.description, "tags": asset.tags}
    values.update(asset.custom_metadata)
    return search.Searchable(
        text={
            "name": [asset.name],
            "description": [asset.description],
            "tag": asset.tags,
            "run_script": [str(provenance.get("run_script", ""))],
            "commit_id": [str(provenance.get("commit", ""))],
            "contained_data_id": [c["id"] for c in asset.contained or []],
        },
        values=values,
    )


def search_assets(backend: Backend, request: Request, _: dict[str, str]) -> Response:
    body = validate.expect_object(request.json(empty={}), "body", SEARCH_FIELDS)
    offset, limit = search.paging(body)
    groups = search.parse_query(validate.opt_str(body, "query", "body"), QUERY_FIELDS)
    metadata_keys = [f["name"] for f in backend.config.custom_metadata.get("fields", [])]
    filters = search.parse_filters(body, ("name", "description", "tags", *metadata_keys))
    asset_type = validate.opt_enum(body, "type", "body", TYPES)
    ownership = validate.opt_enum(body, "ownership", "body", ("private", "created", "shared"))
    origin = validate.opt_enum(body, "origin", "body", ("internal", "external"))
    archived = bool(validate.opt_bool(body, "archived", "body"))
    favorite = validate.opt_bool(body, "favorite", "body")
    matches: list[DataAsset] = []
    for asset in backend.store.data_assets.values():
        if asset.archived != archived or (favorite and not asset.favorite) or ownership == "shared":
            continue
        if asset_type is not None and asset.type != asset_type:
            continue
        if origin is not None and asset.external != (origin == "external"):
            continue
        item = _searchable(asset)
        if search.query_matches(groups, item, ("name", "description", "tag")) and search.filters_match(filters, item):
            matches.append(asset)
    ordered = search.sort_items(
        matches,
        body,
        {
            "created": lambda a: (a.created, a.created_mono, a.id),
            "type": lambda a: (a.type, a.id),
            "name": lambda a: (a.name.lower(), a.id),
            "size": lambda a: (a.size, a.id),
        },
        "created",
    )
    now = backend.now()
    return json_response(search.page(ordered, offset, limit, lambda a: a.to_json(now)))


def _files_root(backend: Backend, asset: DataAsset) -> Path:
    state = asset.state(backend.now())
    if state != "ready" or asset.folder is None:
        raise bad_request(f"data asset {asset.id} is not ready (state {state})")
    if asset.external:
        raise bad_request(f"data asset {asset.id} is external; read its files from the bucket named in source_bucket")
    return asset.folder


def list_files(backend: Backend, request: Request, params: dict[str, str]) -> Response:
    asset = _asset(backend, params)
    body = validate.expect_object(request.json(empty={}), "body", ("path",))
    path = validate.opt_str(body, "path", "body") or ""
    return json_response(list_folder(_files_root(backend, asset), path))


def file_urls(backend: Backend, request: Request, params: dict[str, str]) -> Response:
    asset = _asset(backend, params)
    return signed_urls(backend, request, "data_assets", asset.id, _files_root(backend, asset), legacy=False)


def file_download_url(backend: Backend, request: Request, params: dict[str, str]) -> Response:
    asset = _asset(backend, params)
    return signed_urls(backend, request, "data_assets", asset.id, _files_root(backend, asset), legacy=True)


def get_permissions(backend: Backend, _: Request, params: dict[str, str]) -> Response:
    return json_response(permissions.current(_asset(backend, params).permissions, backend.config))


def set_permissions(backend: Backend, request: Request, params: dict[str, str]) -> Response:
    asset = _asset(backend, params)
    asset.permissions = permissions.updated(asset.permissions, request.json(), backend.config)
    return no_content()


def transfer(backend: Backend, _: Request, params: dict[str, str]) -> Response:
    _asset(backend, params)
    raise ApiError(403, "transferring data assets requires an admin; the emulator's token is not one")


def get_custom_metadata(backend: Backend, _: Request, __: dict[str, str]) -> Response:
    return json_response(backend.config.custom_metadata)


ROUTES: RouteTable = [
    ("POST", API, create),
    ("POST", f"{API}/search", search_assets),
    ("GET", f"{API}/{{data_asset_id}}", get),
    ("PUT", f"{API}/{{data_asset_id}}", update),
    ("DELETE", f"{API}/{{data_asset_id}}", delete),
    ("PATCH", f"{API}/{{data_asset_id}}/archive", archive),
    ("POST", f"{API}/{{data_asset_id}}/files", list_files),
    ("GET", f"{API}/{{data_asset_id}}/files/urls", file_urls),
    ("GET", f"{API}/{{data_asset_id}}/files/download_url", file_download_url),
    ("GET", f"{API}/{{data_asset_id}}/permissions", get_permissions),
    ("POST", f"{API}/{{data_asset_id}}/permissions", set_permissions),
    ("POST", f"{API}/{{data_asset_id}}/transfer", transfer),
    ("GET", "/api/v1/custom_metadata", get_custom_metadata),
]
