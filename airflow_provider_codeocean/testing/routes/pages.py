"""Pages for the web-UI addresses the provider links to from Airflow (``/computations/{id}``, ...).

Code Ocean serves its web app there; the emulator serves a small HTML page naming the item, so the
"Code Ocean" extra links in the Airflow UI lead somewhere instead of to a JSON 404.
"""

from __future__ import annotations

import html

from airflow_provider_codeocean.testing.routes import Backend, Request, Response, RouteTable

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{state}</p>
<p>Served by the local Code Ocean emulator; its API is under <code>/api/v1/</code>.</p></body></html>
"""


def _page(title: str, state: str, status: int = 200) -> Response:
    body = _PAGE.format(title=html.escape(title), state=html.escape(state))
    return Response(status, body.encode(), content_type="text/html; charset=utf-8")


def computation(backend: Backend, _: Request, params: dict[str, str]) -> Response:
    comp = backend.store.computations.get(params["computation_id"])
    if comp is None:
        return _page(f"Computation {params['computation_id']}", "No such computation.", 404)
    comp.advance(backend.now())
    return _page(f"Computation {comp.name}", f"id {comp.id}, state {comp.state}")


def data_asset(backend: Backend, _: Request, params: dict[str, str]) -> Response:
    asset = backend.store.data_assets.get(params["data_asset_id"])
    if asset is None:
        return _page(f"Data asset {params['data_asset_id']}", "No such data asset.", 404)
    return _page(f"Data asset {asset.name}", f"id {asset.id}, state {asset.state(backend.now())}")


ROUTES: RouteTable = [
    ("GET", "/computations/{computation_id}", computation),
    ("GET", "/data-assets/{data_asset_id}", data_asset),
]
