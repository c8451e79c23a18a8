"""Starting a run: which capsule, which inputs under which mounts, which parameters.

All of a run request is validated before anything changes, so a refused request leaves no trace.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from airflow_provider_codeocean.testing.backend import validation as validate
from airflow_provider_codeocean.testing.backend.backend import Backend
from airflow_provider_codeocean.testing.backend.releases import settle
from airflow_provider_codeocean.testing.backend.runner import RunPlan
from airflow_provider_codeocean.testing.backend.store import CapsuleRecord, Computation, now_epoch, run_name
from airflow_provider_codeocean.testing.http.messages import JsonObject, bad_request

RUN_FIELDS = (
    "capsule_id", "pipeline_id", "version", "resume_run_id", "nextflow_profile", "data_assets",
    "parameters", "named_parameters", "processes",
)  # fmt: skip


# Code Ocean hands parameters to code/run as command-line arguments: a NUL byte cannot be one, and a
# named parameter becomes "--NAME", so a name is one word. The size limit is the emulator's own
# (Code Ocean publishes none), generous for any parameter and far below what argv can carry.
PARAM_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
MAX_PARAMETER_BYTES = 64 * 1024


def _parameter(value: str, where: str) -> str:
    if "\x00" in value:
        raise bad_request(f"{where} contains a NUL byte")
    if len(value.encode()) > MAX_PARAMETER_BYTES:
        raise bad_request(f"{where} is longer than {MAX_PARAMETER_BYTES} bytes")
    return value


def _string_list(value: Any, where: str) -> list[str]:
    items = validate.expect_list(value, where)
    if not all(isinstance(item, str) for item in items):
        raise bad_request(f"{where} must be an array of strings")
    return [_parameter(item, f"{where}[{index}]") for index, item in enumerate(items)]


def _named(value: Any, where: str) -> list[tuple[str, str]]:
    named: list[tuple[str, str]] = []
    for index, item in enumerate(validate.expect_list(value, where)):
        entry = validate.expect_object(item, f"{where}[{index}]", ("param_name", "value"))
        name = validate.req_str(entry, "param_name", f"{where}[{index}]")
        if not PARAM_NAME_RE.match(name):
            raise bad_request(f"{where}[{index}].param_name '{name[:50]}' is not a valid parameter name")
        value_text = validate.req_str(entry, "value", f"{where}[{index}]", allow_empty=True)
        named.append((name, _parameter(value_text, f"{where}[{index}].value")))
    return named


def _target(backend: Backend, body: JsonObject) -> CapsuleRecord:
    capsule_id = validate.opt_str(body, "capsule_id", "body")
    pipeline_id = validate.opt_str(body, "pipeline_id", "body")
    if (capsule_id is None) == (pipeline_id is None):
        raise bad_request("exactly one of capsule_id or pipeline_id is required")
    if pipeline_id is not None:
        return backend.store.capsule(validate.check_uuid(pipeline_id, "pipeline_id"), "pipeline")
    assert capsule_id is not None
    # Before platform 4.1 pipelines were run through capsule_id; the vendor's examples still do.
    return backend.store.capsule(validate.check_uuid(capsule_id, "capsule_id"))


def _inputs(backend: Backend, record: CapsuleRecord, value: Any) -> list[dict[str, str]]:
    if value is None:
        requested: list[Any] = []
    elif isinstance(value, dict):
        # The vendor's Python example sends one {id, mount} object instead of an array.
        requested = [value]
    else:
        requested = validate.expect_list(value, "data_assets")
    inputs = {d["mount"]: dict(d) for d in record.attached}
    seen_ids: set[str] = set()
    for index, item in enumerate(requested):
        where = f"data_assets[{index}]"
        entry = validate.expect_object(item, where, ("id", "mount"))
        asset_id = validate.check_uuid(validate.req_str(entry, "id", where), f"{where}.id")
        if asset_id in seen_ids:
            raise bad_request(f"data asset {asset_id} is given more than once")
        seen_ids.add(asset_id)
        asset = backend.store.data_asset(asset_id)
        mount = entry.get("mount")
        mount = asset.mount if mount is None else validate.check_mount(mount, f"{where}.mount")
        state = asset.state(backend.now())
        if state != "ready":
            raise bad_request(f"data asset {asset_id} is not ready (state {state})")
        for other_mount, other in list(inputs.items()):
            if other["id"] == asset_id:
                del inputs[other_mount]
        if mount in inputs and inputs[mount]["id"] in seen_ids:
            raise bad_request(f"mount '{mount}' is used by more than one data asset")
        inputs[mount] = {"id": asset_id, "mount": mount}
    return list(inputs.values())


def _process_params(record: CapsuleRecord, value: Any) -> dict[str, JsonObject]:
    if value is None:
        return {}
    if record.spec.kind != "pipeline":
        raise bad_request("processes can only be given when running a pipeline")
    known = {p["name"] for p in record.spec.processes}
    result: dict[str, JsonObject] = {}
    for index, item in enumerate(validate.expect_list(value, "processes")):
        where = f"processes[{index}]"
        entry = validate.expect_object(item, where, ("name", "parameters", "named_parameters"))
        name = validate.req_str(entry, "name", where)
        if name not in known:
            raise bad_request(f"pipeline has no process named '{name}'")
        if name in result:
            raise bad_request(f"process '{name}' is given more than once")
        result[name] = {
            "name": name,
            "parameters": _string_list(entry.get("parameters") or [], f"{where}.parameters"),
            "named_parameters": [
                {"param_name": n, "value": v}
                for n, v in _named(entry.get("named_parameters") or [], f"{where}.named_parameters")
            ],
        }
    return result


def _param_labels(record: CapsuleRecord) -> tuple[list[str], dict[str, str]]:
    params = record.spec.app_panel.get("parameters") or []
    ordered = [str(p.get("name", "")) for p in params if isinstance(p, dict)]
    by_param_name = {
        str(p["param_name"]): str(p.get("name", p["param_name"]))
        for p in params
        if isinstance(p, dict) and p.get("param_name")
    }
    return ordered, by_param_name


def start_run(backend: Backend, request: Any, *, held: bool = False, min_duration: float = 0.0) -> Computation:
    """Validate a run request (the body of ``POST /computations``) and start the run.

    ``held`` starts it held (it will not complete until released); ``min_duration`` keeps it from
    completing sooner than that many seconds after it was created. Both serve tests whose capsule
    would otherwise finish before they look at it.
    """
    if min_duration < 0:
        raise bad_request("min_duration must be >= 0")
    body = validate.expect_object(request, "body", RUN_FIELDS)
    record = _target(backend, body)
    version = validate.opt_int(body, "version", "body")
    settle(record, backend.now())
    if version is not None and not record.has_version(version):
        raise bad_request(f"{record.spec.kind} {record.spec.id} has no release version {version}")
    resume = validate.opt_str(body, "resume_run_id", "body")
    if resume is not None:
        backend.store.computation(validate.check_uuid(resume, "resume_run_id"))
    profile = validate.opt_str(body, "nextflow_profile", "body")
    inputs = _inputs(backend, record, body.get("data_assets"))
    ordered = _string_list(body.get("parameters") or [], "parameters")
    named = _named(body.get("named_parameters") or [], "named_parameters")
    processes = _process_params(record, body.get("processes"))
    # Everything is validated; only now may state change.
    spec = record.spec
    labels, named_labels = _param_labels(record)
    parameters: list[dict[str, str]] = []
    for index, value in enumerate(ordered):
        entry = {"value": value}
        if index < len(labels) and labels[index]:
            entry["name"] = labels[index]
        parameters.append(entry)
    for name, value in named:
        parameters.append({"name": named_labels.get(name, name), "param_name": name, "value": value})
    process_json: list[dict[str, Any]] | None = None
    if spec.kind == "pipeline":
        process_json = []
        for proc in spec.processes:
            item = dict(proc)
            given = processes.get(proc["name"])
            if given:
                item["parameters"] = [{"value": v} for v in given["parameters"]] + [
                    {"param_name": p["param_name"], "value": p["value"]} for p in given["named_parameters"]
                ]
            process_json.append(item)
    created = now_epoch()
    comp = Computation(
        id=backend.store.new_id(),
        capsule_id=spec.id,
        kind=spec.kind,
        created=created,
        created_mono=time.monotonic(),
        name=run_name(created),
        owner=backend.config.owner_id,
        owner_email=backend.config.owner_email,
        data_assets=inputs,
        parameters=parameters,
        processes=process_json,
        nextflow_profile=profile,
        version=version,
        simulate=spec.simulate,
        held=held,
        min_duration=min_duration,
    )
    backend.store.add_computation(comp)
    for item in inputs:
        backend.store.data_assets[item["id"]].last_used = created
    if spec.simulate is None:
        args = list(ordered)
        for name, value in named:
            args += [f"--{name}", value]
        mounts: list[tuple[str, Path]] = []
        for item in inputs:
            folder = backend.store.data_assets[item["id"]].folder
            if folder is not None:
                mounts.append((item["mount"], folder))
        backend.runner.start(
            comp,
            RunPlan(
                spec,
                args,
                mounts,
                list(processes.values()) if spec.kind == "pipeline" else None,
                code=record.code(version),
            ),
        )
    return comp
