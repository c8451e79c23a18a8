"""The test-control API under ``/_emulator/`` and the functions behind it.

The same functions back :class:`~airflow_provider_codeocean.testing.emulator.CodeOceanEmulator`'s
Python methods, so HTTP and in-process control cannot drift apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean.testing.faults import FaultRule, FaultSpecError, parse_spec, rule_from_json
from airflow_provider_codeocean.testing.protocol import (
    JsonObject,
    Request,
    Response,
    bad_request,
    json_response,
)
from airflow_provider_codeocean.testing.router import RouteTable
from airflow_provider_codeocean.testing.validation import (
    check_uuid,
    expect_object,
    opt_enum,
    opt_int,
    opt_str,
)

if TYPE_CHECKING:
    from airflow_provider_codeocean.testing.app import App

BASE = "/_emulator"


# -- functions shared with the Python API ----------------------------------------------------------


def parse_faults(value: Any) -> list[FaultRule]:
    """Fault rules from a spec string, a rule object, ``{"spec": ...}``, or a list of these."""
    try:
        if isinstance(value, str):
            return parse_spec(value)
        if isinstance(value, dict) and set(value) == {"spec"} and isinstance(value["spec"], str):
            return parse_spec(value["spec"])
        if isinstance(value, list):
            return [rule for item in value for rule in parse_faults(item)]
        return [rule_from_json(value)]
    except FaultSpecError as exc:
        raise bad_request(f"invalid fault: {exc}") from None


def add_faults(app: App, value: Any) -> list[FaultRule]:
    rules = parse_faults(value)  # all or nothing
    for rule in rules:
        app.faults.add(rule)
    return rules


def counts(app: App, capsule_id: str | None = None) -> JsonObject:
    with app.store.lock:
        comps = list(app.store.computations.values())
        if capsule_id is not None:
            comps = [c for c in comps if c.capsule_id == capsule_id]
        by_capsule: dict[str, int] = {}
        for comp in app.store.computations.values():
            by_capsule[comp.capsule_id] = by_capsule.get(comp.capsule_id, 0) + 1
        return {
            "computations": len(comps),
            "computations_by_capsule": by_capsule,
            "computations_created": (
                app.store.created_computations[capsule_id]
                if capsule_id is not None
                else sum(app.store.created_computations.values())
            ),
            "data_assets": len(app.store.data_assets),
            "data_assets_created": app.store.created_data_assets,
        }


def computations(app: App, capsule_id: str | None = None) -> list[JsonObject]:
    with app.store.lock:
        now = app.now()
        return [
            {**c.to_json(now), "capsule_id": c.capsule_id, "held": c.held}
            for c in app.store.computations.values()
            if capsule_id is None or c.capsule_id == capsule_id
        ]


def hold(app: App, computation_id: str) -> None:
    with app.store.lock:
        comp = app.store.computation(computation_id)
        comp.advance(app.now())
        comp.held = comp.state not in ("completed", "failed")


def release(app: App, computation_id: str) -> None:
    with app.store.lock:
        comp = app.store.computation(computation_id)
        app.runner.release(comp)


def complete(app: App, computation_id: str, end_status: str = "succeeded", exit_code: int | None = None) -> None:
    if end_status not in ("succeeded", "failed", "stopped"):
        raise bad_request("end_status must be succeeded, failed or stopped")
    if exit_code is None:
        exit_code = {"succeeded": 0, "failed": 1, "stopped": 143}[end_status]
    with app.store.lock:
        app.runner.force_complete(app.store.computation(computation_id), end_status, exit_code)


def stop(app: App, computation_id: str) -> None:
    """Stop without deleting, as the Code Ocean UI's stop button does; DELETE stops and deletes."""
    with app.store.lock:
        comp = app.store.computation(computation_id)
        comp.advance(app.now())
        if comp.state not in ("completed", "failed"):
            app.runner.force_complete(comp, "stopped", 143)


def set_data_asset_state(app: App, data_asset_id: str, state: str | None, failure_reason: str | None) -> None:
    if state not in (None, "draft", "ready", "failed"):
        raise bad_request("state must be draft, ready or failed (or null to follow the clock)")
    with app.store.lock:
        asset = app.store.data_asset(data_asset_id)
        asset.forced_state = state
        if failure_reason is not None:
            asset.failure_reason = failure_reason


def capsules(app: App) -> list[JsonObject]:
    with app.store.lock:
        return [
            {"id": r.spec.id, "folder": r.spec.folder_name, "name": r.spec.name, "kind": r.spec.kind,
             "simulated": r.spec.simulate is not None}
            for r in app.store.capsules.values()
        ]  # fmt: skip


# -- HTTP routes -------------------------------------------------------------------------------------


def _health(app: App, _: Request, __: dict[str, str]) -> Response:
    return json_response({"status": "ok", "base_url": app.base_url})


def _capsules(app: App, _: Request, __: dict[str, str]) -> Response:
    return json_response(capsules(app))


def _faults_get(app: App, _: Request, __: dict[str, str]) -> Response:
    return json_response({"faults": [r.to_json() for r in app.faults.rules()]})


def _faults_add(app: App, request: Request, __: dict[str, str]) -> Response:
    rules = add_faults(app, request.json())
    return json_response({"added": [r.to_json() for r in rules]}, 201)


def _faults_clear(app: App, _: Request, __: dict[str, str]) -> Response:
    app.faults.clear()
    return json_response({"faults": []})


def _requests_get(app: App, request: Request, __: dict[str, str]) -> Response:
    since = request.query_value("since") or "0"
    if not since.isdigit():
        raise bad_request("since must be a sequence number")
    return json_response({"requests": app.request_log.entries(int(since))})


def _requests_clear(app: App, _: Request, __: dict[str, str]) -> Response:
    app.request_log.clear()
    return json_response({"requests": []})


def _capsule_filter(request: Request) -> str | None:
    value = request.query_value("capsule_id")
    return None if value is None else check_uuid(value, "capsule_id")


def _counts(app: App, request: Request, __: dict[str, str]) -> Response:
    return json_response(counts(app, _capsule_filter(request)))


def _computations(app: App, request: Request, __: dict[str, str]) -> Response:
    return json_response(computations(app, _capsule_filter(request)))


def _reset(app: App, _: Request, __: dict[str, str]) -> Response:
    app.reset()
    return json_response({"status": "reset"})


def _hold(app: App, _: Request, params: dict[str, str]) -> Response:
    hold(app, params["computation_id"])
    return json_response({"status": "held"})


def _release(app: App, _: Request, params: dict[str, str]) -> Response:
    release(app, params["computation_id"])
    return json_response({"status": "released"})


def _complete(app: App, request: Request, params: dict[str, str]) -> Response:
    body = expect_object(request.json(empty={}), "body", ("end_status", "exit_code"))
    end_status = opt_enum(body, "end_status", "body", ("succeeded", "failed", "stopped")) or "succeeded"
    complete(app, params["computation_id"], end_status, opt_int(body, "exit_code", "body"))
    return json_response({"status": "completed"})


def _stop(app: App, _: Request, params: dict[str, str]) -> Response:
    stop(app, params["computation_id"])
    return json_response({"status": "stopped"})


def _asset_state(app: App, request: Request, params: dict[str, str]) -> Response:
    body = expect_object(request.json(), "body", ("state", "failure_reason"))
    set_data_asset_state(
        app, params["data_asset_id"], opt_str(body, "state", "body"), opt_str(body, "failure_reason", "body")
    )
    return json_response({"status": "ok"})


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
    ("POST", f"{BASE}/reset", _reset),
    ("POST", f"{BASE}/computations/{{computation_id}}/hold", _hold),
    ("POST", f"{BASE}/computations/{{computation_id}}/release", _release),
    ("POST", f"{BASE}/computations/{{computation_id}}/complete", _complete),
    ("POST", f"{BASE}/computations/{{computation_id}}/stop", _stop),
    ("POST", f"{BASE}/data_assets/{{data_asset_id}}/state", _asset_state),
]
