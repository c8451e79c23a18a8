"""The test-control API under ``/_emulator/``: thin handlers over the backend's control operations."""

from __future__ import annotations

from typing import Any

from airflow_provider_codeocean.testing.backend import validation as validate
from airflow_provider_codeocean.testing.backend.runs import RUN_FIELDS, start_run
from airflow_provider_codeocean.testing.http.messages import bad_request
from airflow_provider_codeocean.testing.routes import Backend, Request, Response, RouteTable, json_response

BASE = "/_emulator"


# -- HTTP routes -------------------------------------------------------------------------------------


def _health(backend: Backend, _: Request, __: dict[str, str]) -> Response:
    return json_response({"status": "ok", "base_url": backend.base_url})


def _capsules(backend: Backend, _: Request, __: dict[str, str]) -> Response:
    return json_response(backend.capsules())


def _faults_get(backend: Backend, _: Request, __: dict[str, str]) -> Response:
    return json_response({"faults": [r.to_json() for r in backend.faults.rules()]})


def _faults_add(backend: Backend, request: Request, __: dict[str, str]) -> Response:
    rules = backend.add_faults(request.json())
    return json_response({"added": [r.to_json() for r in rules]}, 201)


def _faults_clear(backend: Backend, _: Request, __: dict[str, str]) -> Response:
    backend.faults.clear()
    return json_response({"faults": []})


def _requests_get(backend: Backend, request: Request, __: dict[str, str]) -> Response:
    since = request.query_value("since") or "0"
    if not since.isdigit():
        raise bad_request("since must be a sequence number")
    return json_response({"requests": backend.request_log.entries(int(since))})


def _requests_clear(backend: Backend, _: Request, __: dict[str, str]) -> Response:
    backend.request_log.clear()
    return json_response({"requests": []})


def _capsule_filter(request: Request) -> str | None:
    value = request.query_value("capsule_id")
    return None if value is None else validate.check_uuid(value, "capsule_id")


def _counts(backend: Backend, request: Request, __: dict[str, str]) -> Response:
    return json_response(backend.counts(_capsule_filter(request)))


def _computations(backend: Backend, request: Request, __: dict[str, str]) -> Response:
    return json_response(backend.computations(_capsule_filter(request)))


def _reset(backend: Backend, _: Request, __: dict[str, str]) -> Response:
    backend.reset()
    return json_response({"status": "reset"})


def _start(backend: Backend, request: Request, _: dict[str, str]) -> Response:
    body = dict(validate.expect_object(request.json(), "body", (*RUN_FIELDS, "held", "min_duration")))
    options: dict[str, Any] = {key: body.pop(key) for key in ("held", "min_duration") if key in body}
    held = validate.opt_bool(options, "held", "body") or False
    min_duration = options.get("min_duration") or 0
    if isinstance(min_duration, bool) or not isinstance(min_duration, (int, float)):
        raise bad_request("body.min_duration must be a number of seconds")
    comp = start_run(backend, body, held=held, min_duration=float(min_duration))
    return json_response(comp.control_json(backend.now()))


def _hold(backend: Backend, _: Request, params: dict[str, str]) -> Response:
    backend.hold(params["computation_id"])
    return json_response({"status": "held"})


def _release(backend: Backend, _: Request, params: dict[str, str]) -> Response:
    backend.release(params["computation_id"])
    return json_response({"status": "released"})


def _complete(backend: Backend, request: Request, params: dict[str, str]) -> Response:
    body = validate.expect_object(request.json(empty={}), "body", ("end_status", "exit_code"))
    end_status = validate.opt_enum(body, "end_status", "body", ("succeeded", "failed", "stopped")) or "succeeded"
    backend.complete(params["computation_id"], end_status, validate.opt_int(body, "exit_code", "body"))
    return json_response({"status": "completed"})


def _stop(backend: Backend, _: Request, params: dict[str, str]) -> Response:
    backend.stop(params["computation_id"])
    return json_response({"status": "stopped"})


def _asset_state(backend: Backend, request: Request, params: dict[str, str]) -> Response:
    body = validate.expect_object(request.json(), "body", ("state", "failure_reason"))
    backend.set_data_asset_state(
        params["data_asset_id"],
        validate.opt_str(body, "state", "body"),
        validate.opt_str(body, "failure_reason", "body"),
    )
    return json_response({"status": "ok"})


def _release_settings(backend: Backend, request: Request, params: dict[str, str]) -> Response:
    backend.configure_release(
        params["capsule_id"],
        validate.expect_object(request.json(), "body", ("released", "issues", "outcome", "error", "delay")),
    )
    return json_response({"status": "ok"})


def _git_remote(backend: Backend, request: Request, params: dict[str, str]) -> Response:
    body = validate.expect_object(request.json(), "body", ("path",))
    backend.link_git_remote(params["capsule_id"], validate.req_str(body, "path", "body"))
    return json_response({"status": "linked"})


def _release_jobs(backend: Backend, _: Request, params: dict[str, str]) -> Response:
    return json_response(backend.release_jobs(params["capsule_id"]))


_COMPUTATION = f"{BASE}/computations/{{computation_id}}"

_ACTIONS: RouteTable = [
    ("POST", f"{_COMPUTATION}/{action}", handler)
    for action, handler in (("hold", _hold), ("release", _release), ("complete", _complete), ("stop", _stop))
]
ROUTES: RouteTable = [
    ("GET", f"{BASE}/health", _health),
    ("GET", f"{BASE}/capsules", _capsules),
    ("GET", f"{BASE}/faults", _faults_get),
    ("POST", f"{BASE}/faults", _faults_add),
    ("DELETE", f"{BASE}/faults", _faults_clear),
    ("GET", f"{BASE}/requests", _requests_get),
    ("DELETE", f"{BASE}/requests", _requests_clear),
    ("GET", f"{BASE}/counts", _counts),
    ("GET", f"{BASE}/computations", _computations),
    ("POST", f"{BASE}/computations", _start),
    ("POST", f"{BASE}/reset", _reset),
    ("POST", f"{BASE}/data_assets/{{data_asset_id}}/state", _asset_state),
    ("POST", f"{BASE}/capsules/{{capsule_id}}/release_settings", _release_settings),
    ("GET", f"{BASE}/capsules/{{capsule_id}}/release_jobs", _release_jobs),
    ("POST", f"{BASE}/capsules/{{capsule_id}}/git_remote", _git_remote),
    *_ACTIONS,
]
