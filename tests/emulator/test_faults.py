"""Fault injection: every mode, counted and seeded triggers, routes, and the control API."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from codeocean import CodeOcean, Error
from codeocean.computation import RunParams
from urllib3.util import Retry

from airflow_provider_codeocean.testing import ECHO_CAPSULE_ID, SIMULATED_CAPSULE_ID, CodeOceanEmulator

Url = Callable[[str], str]
SEEDED_ASSET = "5eed5eed-0000-4000-8000-000000000001"


def _get_capsule(api: requests.Session, url: Url) -> requests.Response:
    return api.get(url(f"capsules/{ECHO_CAPSULE_ID}"), timeout=10)


def test_429_with_retry_after_then_recovers(emu: CodeOceanEmulator, api: requests.Session, url: Url) -> None:
    emu.add_fault("429 times=1 method=GET path=/api/v1/capsules/*")
    limited = _get_capsule(api, url)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert "Too Many Requests" in limited.json()["message"]
    assert _get_capsule(api, url).status_code == 200


def test_sdk_retry_honours_retry_after(emu: CodeOceanEmulator) -> None:
    emu.add_fault("429 times=2 retry_after=0 path=/api/v1/capsules/**")
    client = CodeOcean(
        domain=emu.base_url, token=emu.token, retries=Retry(total=3, status_forcelist=[429], allowed_methods=None)
    )
    assert client.capsules.get_capsule(ECHO_CAPSULE_ID).id == ECHO_CAPSULE_ID
    statuses = [r["status"] for r in emu.requests() if r["path"].startswith("/api/v1/capsules/")]
    assert statuses == [429, 429, 200]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors(emu: CodeOceanEmulator, status: int) -> None:
    emu.add_fault(f"{status} times=1")
    client = CodeOcean(domain=emu.base_url, token=emu.token)
    with pytest.raises(Error) as err:
        client.capsules.get_capsule(ECHO_CAPSULE_ID)
    assert err.value.status_code == status
    assert isinstance(err.value.data, dict) and err.value.data["message"]
    assert client.capsules.get_capsule(ECHO_CAPSULE_ID).id == ECHO_CAPSULE_ID


def test_html_502_like_a_proxy(emu: CodeOceanEmulator) -> None:
    emu.add_fault("502-html times=1")
    client = CodeOcean(domain=emu.base_url, token=emu.token)
    with pytest.raises(Error) as err:
        client.capsules.get_capsule(ECHO_CAPSULE_ID)
    assert err.value.status_code == 502
    assert err.value.data is None
    assert "<h1>502 Bad Gateway</h1>" in err.value.message


def test_connection_reset(emu: CodeOceanEmulator, api: requests.Session, url: Url) -> None:
    emu.add_fault("reset times=1")
    with pytest.raises(requests.ConnectionError):
        _get_capsule(api, url)
    assert _get_capsule(api, url).status_code == 200
    assert [r["fault"] for r in emu.requests()] == ["reset", None]


def test_latency_still_answers(emu: CodeOceanEmulator, api: requests.Session, url: Url) -> None:
    emu.add_fault("latency:0.05 times=1")
    assert _get_capsule(api, url).status_code == 200
    assert emu.requests()[-1]["fault"] == "latency"
    assert emu.faults()[0].hits == 1


def test_hang_until_client_gives_up(emu: CodeOceanEmulator, api: requests.Session, url: Url) -> None:
    emu.add_fault("hang times=1")
    with pytest.raises(requests.ReadTimeout):
        api.get(url(f"capsules/{ECHO_CAPSULE_ID}"), timeout=0.2)
    assert _get_capsule(api, url).status_code == 200
    assert emu.requests()[0]["fault"] == "hang"


def test_hang_for_a_while_then_drop(emu: CodeOceanEmulator, api: requests.Session, url: Url) -> None:
    emu.add_fault("hang:0.1 times=1")
    with pytest.raises(requests.ConnectionError):
        _get_capsule(api, url)


def test_hanging_connection_does_not_block_shutdown(capsules_dir: Path) -> None:
    emulator = CodeOceanEmulator(capsules_dir, "tok")
    emulator.start()
    emulator.add_fault("hang")
    client = socket.create_connection(("127.0.0.1", emulator.port))
    client.sendall(b"GET /api/v1/capsules/x HTTP/1.1\r\nHost: x\r\n\r\n")
    thread = emulator._thread
    emulator.stop()
    assert thread is not None and not thread.is_alive()
    try:
        assert client.recv(100) == b""  # the server closed it ...
    except ConnectionResetError:
        pass  # ... or reset it; either way the client is not left hanging
    finally:
        client.close()


def test_ambiguous_post_creates_exactly_one_computation(emu: CodeOceanEmulator) -> None:
    emu.add_fault("ambiguous:502 method=POST path=/api/v1/computations times=1")
    client = CodeOcean(domain=emu.base_url, token=emu.token)
    with pytest.raises(Error) as err:
        client.computations.run_capsule(RunParams(capsule_id=SIMULATED_CAPSULE_ID))
    assert err.value.status_code == 502
    assert emu.count_computations(SIMULATED_CAPSULE_ID) == 1
    [found] = client.capsules.list_computations(SIMULATED_CAPSULE_ID)
    assert found.name.startswith("Run ")
    entry = emu.requests()[0]
    assert (entry["status"], entry["fault"], entry["handled_status"]) == (502, "ambiguous", 200)


def test_ambiguous_reset_creates_exactly_one_data_asset(
    emu: CodeOceanEmulator, api: requests.Session, url: Url
) -> None:
    emu.add_fault("ambiguous:reset method=POST path=/api/v1/data_assets times=1")
    before = emu.count_data_assets()
    body = {"name": "x", "mount": "x", "tags": [], "source": {"aws": {"bucket": "raw-bucket"}}}
    with pytest.raises(requests.ConnectionError):
        api.post(url("data_assets"), json=body, timeout=10)
    assert emu.count_data_assets() == before + 1
    assert emu.counts()["data_assets_created"] == 1


def test_times_limits_occurrences_and_routes_are_respected(
    emu: CodeOceanEmulator, api: requests.Session, url: Url
) -> None:
    emu.add_fault("503 times=2 method=GET path=/api/v1/capsules/*")
    assert api.post(url("capsules/search"), json={}, timeout=10).status_code == 200  # other method
    assert api.get(url(f"capsules/{ECHO_CAPSULE_ID}/app_panel"), timeout=10).status_code == 200  # * is one segment
    assert [_get_capsule(api, url).status_code for _ in range(3)] == [503, 503, 200]


def test_probability_is_deterministic_by_seed(capsules_dir: Path) -> None:
    def pattern(seed: int) -> list[int]:
        with (
            CodeOceanEmulator(capsules_dir, "tok", seed=seed, faults="503 p=0.5") as emulator,
            requests.Session() as session,
        ):
            session.auth = ("tok", "")
            target = f"{emulator.base_url}/api/v1/capsules/{ECHO_CAPSULE_ID}"
            return [session.get(target, timeout=10).status_code for _ in range(30)]

    first = pattern(7)
    assert first == pattern(7)
    assert set(first) == {200, 503}


def test_control_api_over_http(emu: CodeOceanEmulator, api: requests.Session, url: Url) -> None:
    control = f"{emu.base_url}/_emulator"
    assert requests.get(f"{control}/health", timeout=10).json()["status"] == "ok"
    assert requests.get(f"{control}/faults", timeout=10).status_code == 401
    added = api.post(f"{control}/faults", json={"spec": "504 times=1 path=/api/v1/capsules/**"}, timeout=10)
    assert added.status_code == 201
    assert api.post(
        f"{control}/faults", json={"kind": "status", "status": 500, "times": 1, "method": "PUT"}, timeout=10
    ).ok
    assert len(api.get(f"{control}/faults", timeout=10).json()["faults"]) == 2
    assert _get_capsule(api, url).status_code == 504
    assert api.post(f"{control}/faults", json={"spec": "teapot"}, timeout=10).status_code == 400
    assert api.delete(f"{control}/faults", timeout=10).json() == {"faults": []}

    api.post(url("computations"), json={"capsule_id": SIMULATED_CAPSULE_ID}, timeout=10)
    counts = api.get(f"{control}/counts", params={"capsule_id": SIMULATED_CAPSULE_ID}, timeout=10).json()
    assert (counts["computations"], counts["computations_created"]) == (1, 1)
    log = api.get(f"{control}/requests", timeout=10).json()["requests"]
    assert {"method", "path", "status", "query", "seq"} <= set(log[0])
    text = json.dumps(log).lower()
    assert "authorization" not in text and emu.token.lower() not in text
    assert len(api.get(f"{control}/computations", timeout=10).json()) == 1

    assert api.post(f"{control}/reset", timeout=10).json() == {"status": "reset"}
    assert emu.count_computations() == 0
    assert api.get(url(f"data_assets/{SEEDED_ASSET}"), timeout=10).status_code == 200  # seeds come back


def test_signed_urls_never_logged(emu: CodeOceanEmulator, api: requests.Session, url: Url) -> None:
    urls = api.get(url(f"data_assets/{SEEDED_ASSET}/files/urls"), params={"path": "chr1/seq.fa"}, timeout=10).json()
    assert requests.get(urls["download_url"], timeout=10).status_code == 200
    signature = urls["download_url"].split("signature=")[1]
    assert signature not in json.dumps(emu.requests())


def test_faults_from_constructor_and_json_rules(capsules_dir: Path) -> None:
    with CodeOceanEmulator(capsules_dir, "tok", faults="503 times=1; 429 times=1 retry_after=none") as emulator:
        emulator.add_fault(kind="status", status=500, times=1)
        with requests.Session() as session:
            session.auth = ("tok", "")
            got = [session.get(f"{emulator.base_url}/api/v1/custom_metadata", timeout=10) for _ in range(4)]
    assert [r.status_code for r in got] == [503, 429, 500, 200]
    assert "Retry-After" not in got[1].headers
