"""Bad input is a 4xx with ``{"message": ...}``, never a 500, and changes nothing."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
import requests

from airflow_provider_codeocean.testing import ECHO_CAPSULE_ID, PIPELINE_ID, SIMULATED_CAPSULE_ID, CodeOceanEmulator

SEEDED = "5eed5eed-0000-4000-8000-000000000001"
UNKNOWN = "00000000-0000-4000-8000-000000000000"
RAW = object()  # marks a body sent as raw bytes

Case = tuple[str, str, Any, int]

MALFORMED_JSON: list[Case] = [
    ("POST", "computations", b"{not json", 400),
    ("POST", "computations", b"", 400),
    ("POST", "data_assets", b'{"name": "x",', 400),
    ("PUT", "data_assets/{asset}", b"\xff\xfe", 400),
    ("POST", "data_assets/search", b"[1,", 400),
    ("POST", "computations/{comp}/results", b"{", 400),
    ("POST", "data_assets/{asset}/permissions", b"nope", 400),
]
UNKNOWN_FIELDS: list[Case] = [
    ("POST", "computations", {"capsule_id": ECHO_CAPSULE_ID, "priority": "high"}, 400),
    ("POST", "computations", {"capsule_id": ECHO_CAPSULE_ID, "data_assets": [{"id": SEEDED, "path": "x"}]}, 400),
    (
        "POST",
        "data_assets",
        {"name": "x", "mount": "x", "tags": [], "source": {"computation": {"id": "{comp}", "extra": 1}}},
        400,
    ),
    ("PUT", "data_assets/{asset}", {"name": "x", "owner": "me"}, 400),
    ("PUT", "data_assets/{asset}", {"custom_metadata": {"not_a_field": "x"}}, 400),
    ("POST", "data_assets/search", {"query": "x", "page": 2}, 400),
    ("POST", "computations/{comp}/results", {"path": "", "recursive": True}, 400),
    ("POST", "capsules/search", {"colour": "blue"}, 400),
]
MISSING_FIELDS: list[Case] = [
    ("POST", "computations", {}, 400),
    ("POST", "computations", {"capsule_id": ECHO_CAPSULE_ID, "pipeline_id": PIPELINE_ID}, 400),
    ("POST", "computations", {"capsule_id": ECHO_CAPSULE_ID, "named_parameters": [{"value": "1"}]}, 400),
    ("POST", "data_assets", {"mount": "x", "tags": [], "source": {"computation": {"id": "{comp}"}}}, 400),
    ("POST", "data_assets", {"name": "x", "tags": [], "source": {"computation": {"id": "{comp}"}}}, 400),
    ("POST", "data_assets", {"name": "x", "mount": "x", "tags": []}, 400),
    ("POST", "data_assets", {"name": "x", "mount": "x", "source": {"aws": None, "gcp": None}}, 400),
    ("POST", "data_assets", {"name": "x", "mount": "x", "source": {"aws": {"prefix": "p"}}}, 400),
    ("PATCH", "computations/{comp}", None, 400),
    ("PATCH", "data_assets/{asset}/archive", None, 400),
    ("GET", "computations/{comp}/results/urls", None, 400),
]
WRONG_TYPES: list[Case] = [
    ("POST", "computations", [ECHO_CAPSULE_ID], 400),
    ("POST", "computations", {"capsule_id": 42}, 400),
    ("POST", "computations", {"capsule_id": ECHO_CAPSULE_ID, "parameters": "a b"}, 400),
    ("POST", "computations", {"capsule_id": ECHO_CAPSULE_ID, "parameters": [1, 2]}, 400),
    ("POST", "computations", {"capsule_id": ECHO_CAPSULE_ID, "version": "1"}, 400),
    ("POST", "computations", {"capsule_id": ECHO_CAPSULE_ID, "version": True}, 400),
    ("POST", "computations", {"capsule_id": ECHO_CAPSULE_ID, "processes": [{"name": "capsule_align_1"}]}, 400),
    ("POST", "computations", {"pipeline_id": PIPELINE_ID, "processes": [{"name": "no_such_process"}]}, 400),
    (
        "POST",
        "data_assets",
        {"name": "x", "mount": "x", "tags": "a,b", "source": {"computation": {"id": "{comp}"}}},
        400,
    ),
    (
        "POST",
        "data_assets",
        {"name": ["x"], "mount": "x", "tags": [], "source": {"computation": {"id": "{comp}"}}},
        400,
    ),
    ("POST", "data_assets", {"name": "x", "mount": "x", "tags": [], "data_asset_ids": SEEDED}, 400),
    (
        "POST",
        "data_assets",
        {
            "name": "x",
            "mount": "x",
            "tags": [],
            "source": {"aws": {"bucket": "raw-bucket"}},
            "target": {"aws": {"bucket": "export-bucket"}},
        },
        400,
    ),
    ("PUT", "data_assets/{asset}", {"tags": "one"}, 400),
    ("PUT", "data_assets/{asset}", {"name": ""}, 400),
    ("PUT", "data_assets/{asset}", {"custom_metadata": {"sample_count": "four"}}, 400),
    ("PUT", "data_assets/{asset}", {"custom_metadata": {"acquired": "2024-01-01"}}, 400),
    ("PUT", "data_assets/{asset}", {"custom_metadata": {"modality": "telepathy"}}, 400),
    ("PUT", "data_assets/{asset}", {"custom_metadata": {"sample_count": 10**9}}, 400),
    ("PUT", "data_assets/{asset}", {"custom_metadata": ["project"]}, 400),
    ("POST", "data_assets/search", {"limit": 5000}, 400),
    ("POST", "data_assets/search", {"limit": "10"}, 400),
    ("POST", "data_assets/search", {"next_token": "garbage!"}, 400),
    ("POST", "data_assets/search", {"sort_field": "colour"}, 400),
    ("POST", "data_assets/search", {"type": "spreadsheet"}, 400),
    ("POST", "data_assets/search", {"filters": [{"key": "name"}]}, 400),
    ("POST", "data_assets/search", {"filters": [{"key": "name", "range": {"min": "a", "max": 1}}]}, 400),
    ("POST", "data_assets/search", {"query": '"unbalanced'}, 400),
    ("POST", "computations/{comp}/results", {"path": 7}, 400),
    ("POST", "computations/{comp}/results", {"path": "../../etc"}, 400),
    ("POST", "computations/{comp}/results", {"path": "output"}, 400),
    ("GET", "computations/{comp}/results/urls?path=metrics", None, 400),
    ("PATCH", "data_assets/{asset}/archive?archive=maybe", None, 400),
    ("POST", "data_assets/{asset}/permissions", {"users": [{"email": "alice@example.com", "role": "god"}]}, 400),
    ("POST", "data_assets/{asset}/permissions", {"everyone": "all"}, 400),
    ("POST", "data_assets/{asset}/permissions", {"users": [{"email": "ghost@example.com", "role": "viewer"}]}, 400),
    ("GET", f"capsules/{ECHO_CAPSULE_ID}/app_panel?version=x", None, 400),
]
WRONG_ID_FORMATS: list[Case] = [
    ("GET", "computations/not-a-uuid", None, 400),
    ("GET", "computations/123", None, 400),
    ("DELETE", "computations/abc", None, 400),
    ("GET", "data_assets/xyz", None, 400),
    ("GET", "capsules/echo", None, 400),
    ("GET", "pipelines/0000/computations", None, 400),
    ("POST", "computations", {"capsule_id": "echo"}, 400),
    ("POST", "computations", {"capsule_id": ECHO_CAPSULE_ID, "data_assets": [{"id": "abc", "mount": "m"}]}, 400),
    ("POST", "computations", {"capsule_id": ECHO_CAPSULE_ID, "resume_run_id": "zzz"}, 400),
    ("POST", "data_assets", {"name": "x", "mount": "x", "tags": [], "source": {"computation": {"id": "c229"}}}, 400),
    ("POST", "data_assets", {"name": "x", "mount": "x", "tags": [], "data_asset_ids": ["nope"]}, 400),
]
UNKNOWN_IDS: list[Case] = [
    ("GET", f"computations/{UNKNOWN}", None, 404),
    ("DELETE", f"computations/{UNKNOWN}", None, 404),
    ("PATCH", f"computations/{UNKNOWN}?name=x", None, 404),
    ("POST", f"computations/{UNKNOWN}/results", {"path": ""}, 404),
    ("GET", f"data_assets/{UNKNOWN}", None, 404),
    ("PUT", f"data_assets/{UNKNOWN}", {"name": "x"}, 404),
    ("DELETE", f"data_assets/{UNKNOWN}", None, 404),
    ("GET", f"capsules/{UNKNOWN}", None, 404),
    ("GET", f"capsules/{UNKNOWN}/computations", None, 404),
    ("GET", f"pipelines/{ECHO_CAPSULE_ID}", None, 404),  # a capsule is not a pipeline
    ("POST", "computations", {"capsule_id": UNKNOWN}, 404),
    ("POST", "computations", {"pipeline_id": ECHO_CAPSULE_ID}, 404),
    ("POST", "computations", {"capsule_id": ECHO_CAPSULE_ID, "data_assets": [{"id": UNKNOWN, "mount": "m"}]}, 404),
    ("POST", "data_assets", {"name": "x", "mount": "x", "tags": [], "source": {"computation": {"id": UNKNOWN}}}, 404),
    ("POST", "data_assets", {"name": "x", "mount": "x", "tags": [], "data_asset_ids": [UNKNOWN]}, 404),
    ("GET", "computations/{comp}/results/urls?path=missing.txt", None, 404),
    ("POST", "data_assets/{asset}/files", {"path": "no/such"}, 404),
]
INVALID_MOUNTS: list[Case] = [
    ("POST", "data_assets", {"name": "x", "mount": mount, "tags": [], "source": {"computation": {"id": "{comp}"}}}, 400)
    for mount in ("", "a/b", "../up", ".hidden", "-rf", "with space", "x" * 256, "tab\t", 7)
] + [
    ("PUT", "data_assets/{asset}", {"mount": "bad/mount"}, 400),
    ("POST", "computations", {"capsule_id": ECHO_CAPSULE_ID, "data_assets": [{"id": SEEDED, "mount": "a/b"}]}, 400),
    ("POST", "computations", {"capsule_id": ECHO_CAPSULE_ID, "data_assets": [{"id": SEEDED, "mount": ""}]}, 400),
]
ROUTING: list[Case] = [
    ("GET", "no/such/endpoint", None, 404),
    ("PUT", "computations", {}, 405),
    ("GET", "data_assets/search", None, 405),
]

ALL_CASES = {
    "malformed_json": MALFORMED_JSON,
    "unknown_fields": UNKNOWN_FIELDS,
    "missing_fields": MISSING_FIELDS,
    "wrong_types": WRONG_TYPES,
    "wrong_id_formats": WRONG_ID_FORMATS,
    "unknown_ids": UNKNOWN_IDS,
    "invalid_mounts": INVALID_MOUNTS,
    "routing": ROUTING,
}


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.replace("{comp}", ids["comp"]).replace("{asset}", ids["asset"])
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _snapshot(emu: CodeOceanEmulator, api: requests.Session) -> Any:
    base = f"{emu.base_url}/api/v1"
    assets = api.post(f"{base}/data_assets/search", json={"limit": 1000, "archived": False}, timeout=10).json()
    return (
        emu.counts(),
        sorted(json.dumps(a, sort_keys=True) for a in assets["results"]),
        api.get(f"{base}/data_assets/{SEEDED}/permissions", timeout=10).json(),
        [c["name"] for c in emu.computations()],
    )


@pytest.fixture
def ids(emu: CodeOceanEmulator, api: requests.Session) -> dict[str, str]:
    comp = api.post(f"{emu.base_url}/api/v1/computations", json={"capsule_id": SIMULATED_CAPSULE_ID}, timeout=10).json()
    emu.wait_for_computation(comp["id"])
    return {"comp": comp["id"], "asset": SEEDED}


@pytest.mark.parametrize("kind", sorted(ALL_CASES))
def test_rejected_without_state_change(
    kind: str, emu: CodeOceanEmulator, api: requests.Session, ids: dict[str, str]
) -> None:
    for method, path, body, status in ALL_CASES[kind]:
        before = _snapshot(emu, api)
        target = f"{emu.base_url}/api/v1/{_fill(path, ids)}"
        if isinstance(body, bytes):
            response = api.request(method, target, data=body, timeout=10)
        elif body is None:
            response = api.request(method, target, timeout=10)
        else:
            response = api.request(method, target, json=_fill(body, ids), timeout=10)
        where = f"{method} {path} {body!r}"
        assert response.status_code == status, (where, response.text)
        assert isinstance(response.json().get("message"), str) and response.json()["message"], where
        assert _snapshot(emu, api) == before, where


def test_auth_failures(emu: CodeOceanEmulator) -> None:
    target = f"{emu.base_url}/api/v1/capsules/{ECHO_CAPSULE_ID}"
    for auth_header in (None, "Bearer cop_test_token", "Basic !!!", "Basic " + "d3Jvbmc6"):
        headers = {} if auth_header is None else {"Authorization": auth_header}
        response = requests.get(target, headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json()["message"].startswith("Unauthorized")
    # Token with a password is not the documented form.
    assert requests.get(target, auth=(emu.token, "secret"), timeout=10).status_code == 401
    assert requests.get(target, auth=(emu.token, ""), timeout=10).status_code == 200


def test_min_server_version(emu: CodeOceanEmulator) -> None:
    target = f"{emu.base_url}/api/v1/capsules/{ECHO_CAPSULE_ID}"
    for header, status in (("4.8.0", 200), ("4.9", 200), ("99.0.0", 400), ("latest", 400)):
        response = requests.get(target, auth=(emu.token, ""), headers={"Min-Server-Version": header}, timeout=10)
        assert response.status_code == status, header
        if status == 400:
            assert "version" in response.json()["message"].lower()


def test_not_ready_asset_cannot_be_attached(emu: CodeOceanEmulator, api: requests.Session, ids: dict[str, str]) -> None:
    base = f"{emu.base_url}/api/v1"
    draft = api.post(
        f"{base}/data_assets",
        json={"name": "d", "mount": "d", "tags": [], "source": {"aws": {"bucket": "raw-bucket"}}},
        timeout=10,
    ).json()
    emu.set_data_asset_state(draft["id"], "draft")
    before = emu.count_computations()
    response = api.post(
        f"{base}/computations", json={"capsule_id": ECHO_CAPSULE_ID, "data_assets": [{"id": draft["id"]}]}, timeout=10
    )
    assert response.status_code == 400
    assert "not ready" in response.json()["message"]
    assert emu.count_computations() == before


def _raw(emu: CodeOceanEmulator, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as conn:
        conn.sendall(payload)
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "payload",
    [
        b"NONSENSE\r\n\r\n",
        b"GET /api/v1/capsules HTTP/9.9\r\n\r\n",
        # RFC 9112 requires Host on HTTP/1.1, and Code Ocean's proxy refuses a request without it.
        b"GET /_emulator/health HTTP/1.1\r\n\r\n",
        b"GET http://elsewhere/ HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /api/v1/computations HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header Line\r\n\r\n",
        b"POST /api/v1/computations HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_garbage_http_is_a_400(emu: CodeOceanEmulator, payload: bytes) -> None:
    response = _raw(emu, payload)
    assert response.startswith(b"HTTP/1.1 400 "), response[:80]
    assert b'"message"' in response
    assert emu.count_computations() == 0
