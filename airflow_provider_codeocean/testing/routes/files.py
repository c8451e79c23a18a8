"""``/_signed/...``: serving the files behind signed download and view URLs (no Basic auth)."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_codeocean.testing.backend.files import file_response, file_target
from airflow_provider_codeocean.testing.http.messages import bad_request, not_found
from airflow_provider_codeocean.testing.routes import Backend, Request, Response, RouteTable, json_response


def signed_urls(
    backend: Backend, request: Request, kind: str, item_id: str, root: Path | None, *, legacy: bool
) -> Response:
    """The answer of ``.../urls`` (``download_url`` and ``view_url``) or, with ``legacy``, of the deprecated
    ``.../download_url`` (``url``): signed links to a file under ``root`` that need no Basic auth."""
    path = request.query_value("path")
    if path is None:
        raise bad_request("query parameter 'path' is required")
    if root is None or not root.is_dir():
        raise not_found(f"path '{path}' not found")
    rel, _ = file_target(root, path)
    base = backend.url_base(request.host)
    download = backend.signer.url(base, kind, item_id, rel, "attachment")
    if legacy:
        return json_response({"url": download})
    return json_response({"download_url": download, "view_url": backend.signer.url(base, kind, item_id, rel, "inline")})


def _serve(backend: Backend, request: Request, kind: str, item_id: str, prefix: str) -> Response:
    path = request.path[len(prefix) :]
    disposition = request.query_value("disposition")
    backend.signer.verify(
        kind, item_id, path, request.query_value("expires"), disposition, request.query_value("signature")
    )
    root: Path | None
    if kind == "computations":
        comp = backend.store.computations.get(item_id)
        root = None if comp is None else backend.runner.materialize(comp)
    else:
        asset = backend.store.data_assets.get(item_id)
        root = None if asset is None else asset.folder
    if root is None:
        raise not_found("the file no longer exists")
    _, target = file_target(root, path)
    return file_response(target, request.headers.get("range"), disposition or "attachment")


def _route(kind: str) -> RouteTable:
    # One route per depth: the file path after the id may contain any number of segments.
    table: RouteTable = []
    for depth in range(1, 33):
        segments = "/".join(f"{{p{i}}}" for i in range(depth))
        template = f"/_signed/{kind}/{{item_id}}/{segments}"

        def handler(backend: Backend, request: Request, params: dict[str, str], kind: str = kind) -> Response:
            prefix = f"/_signed/{kind}/{params['item_id']}/"
            return _serve(backend, request, kind, params["item_id"], prefix)

        table.append(("GET", template, handler))
    return table


ROUTES: RouteTable = _route("computations") + _route("data_assets")
