"""``/api/v1/data_assets`` and ``/api/v1/custom_metadata``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from airflow_provider_codeocean.testing.backend import custom_metadata, permissions, search
from airflow_provider_codeocean.testing.backend import validation as validate
from airflow_provider_codeocean.testing.backend.data_assets import create_data_asset
from airflow_provider_codeocean.testing.backend.files import list_folder
from airflow_provider_codeocean.testing.backend.store import DataAsset
from airflow_provider_codeocean.testing.http.messages import ApiError, bad_request
from airflow_provider_codeocean.testing.routes import Backend, Request, Response, RouteTable, json_response, no_content
from airflow_provider_codeocean.testing.routes.files import signed_urls

API = "/api/v1/data_assets"
UPDATE_FIELDS = ("name", "description", "tags", "mount", "custom_metadata")
QUERY_FIELDS = ("name", "tag", "run_script", "commit_id", "contained_data_id")
SEARCH_FIELDS = (*search.COMMON_FIELDS, "type", "origin")
TYPES = ("dataset", "result", "combined", "model")


def create(backend: Backend, request: Request, _: dict[str, str]) -> Response:
    return json_response(create_data_asset(backend, request.json()).to_json(backend.now()))


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
