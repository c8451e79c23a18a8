"""``/api/v1/computations``: run, get, rename, stop+delete, results and their URLs."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_codeocean.testing.backend.files import list_folder
from airflow_provider_codeocean.testing.backend.runs import start_run
from airflow_provider_codeocean.testing.backend.store import Computation
from airflow_provider_codeocean.testing.backend.validation import expect_object, opt_str
from airflow_provider_codeocean.testing.http.messages import bad_request, not_found
from airflow_provider_codeocean.testing.routes import Backend, Request, Response, RouteTable, json_response, no_content
from airflow_provider_codeocean.testing.routes.files import signed_urls

API = "/api/v1"


def run(backend: Backend, request: Request, _: dict[str, str]) -> Response:
    comp = start_run(backend, request.json())
    return json_response(comp.to_json(backend.now()))


def get(backend: Backend, _: Request, params: dict[str, str]) -> Response:
    comp = backend.store.computation(params["computation_id"])
    return json_response(comp.to_json(backend.now()))


def delete(backend: Backend, _: Request, params: dict[str, str]) -> Response:
    comp = backend.store.computation(params["computation_id"])
    backend.runner.stop(comp, delete=True)
    backend.store.remove_computation(comp)
    return no_content()


def rename(backend: Backend, request: Request, params: dict[str, str]) -> Response:
    comp = backend.store.computation(params["computation_id"])
    name = request.query_value("name")
    if name is None or not name.strip():
        raise bad_request("query parameter 'name' is required and must not be empty")
    comp.name = name
    return no_content()


def _results_root(backend: Backend, comp: Computation) -> Path | None:
    comp.advance(backend.now())
    return backend.runner.materialize(comp)


def list_results(backend: Backend, request: Request, params: dict[str, str]) -> Response:
    comp = backend.store.computation(params["computation_id"])
    body = expect_object(request.json(empty={}), "body", ("path",))
    path = opt_str(body, "path", "body") or ""
    root = _results_root(backend, comp)
    if root is None or not root.is_dir():
        if path.strip("/"):
            raise not_found(f"path '{path}' not found")
        return json_response({"items": []})
    return json_response(list_folder(root, path))


def _result_urls(backend: Backend, request: Request, params: dict[str, str], *, legacy: bool) -> Response:
    comp = backend.store.computation(params["computation_id"])
    return signed_urls(backend, request, "computations", comp.id, _results_root(backend, comp), legacy=legacy)


def result_urls(backend: Backend, request: Request, params: dict[str, str]) -> Response:
    return _result_urls(backend, request, params, legacy=False)


def result_download_url(backend: Backend, request: Request, params: dict[str, str]) -> Response:
    # Deprecated by Code Ocean ("supported until August 2026") but still served.
    return _result_urls(backend, request, params, legacy=True)


def workstation_only(backend: Backend, _: Request, params: dict[str, str]) -> Response:
    comp = backend.store.computation(params["computation_id"])
    raise bad_request(f"computation {comp.id} is not a cloud workstation session")


_ONE = f"{API}/computations/{{computation_id}}"

ROUTES: RouteTable = [
    ("POST", f"{API}/computations", run),
    ("GET", _ONE, get),
    ("DELETE", _ONE, delete),
    ("PATCH", _ONE, rename),
    ("POST", f"{_ONE}/results", list_results),
    ("GET", f"{_ONE}/results/urls", result_urls),
    ("GET", f"{_ONE}/results/download_url", result_download_url),
    # Attaching data assets to a running computation is for cloud workstations only.
    *[(method, f"{_ONE}/data_assets", workstation_only) for method in ("POST", "DELETE")],
]
