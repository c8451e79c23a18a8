"""Where a capsule or client can tell, the emulator is as strict as Code Ocean (issue 10, item 7)."""

from __future__ import annotations

import hashlib
import socket
import ssl
import sys
import time
from pathlib import Path

import pytest
import requests

from airflow_provider_codeocean.testing import ECHO_CAPSULE_ID, SIMULATED_CAPSULE_ID, ApiError, CodeOceanEmulator

from .conftest import TOKEN, emulator_process, wait_until

SEEDED_ASSET = "5eed5eed-0000-4000-8000-000000000001"  # "genome": chr1/seq.fa, with a data_asset.json

MOUNT_CHECK = f"""#!/bin/sh
find ../data -type f | sort > ../results/find.txt
{sys.executable} -c "import pathlib; print(sorted(str(p) for p in pathlib.Path('../data').rglob('*')
  if p.is_file()))" > ../results/rglob.txt
if echo x > ../data/genome/x.txt 2>/dev/null; then echo wrote; else echo refused; fi > ../results/new_file.txt
if echo y >> ../data/genome/chr1/seq.fa 2>/dev/null; then echo wrote; else echo refused; fi > ../results/append.txt
"""


def _tree(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        for path in sorted(root.rglob("*"))
    }


def test_data_assets_are_mounted_as_real_read_only_directories(
    tmp_path: Path, data_assets_dir: Path, capsules_dir: Path
) -> None:
    (capsules_dir / "mount-check" / "code").mkdir(parents=True)
    (capsules_dir / "mount-check" / "code" / "run").write_text(MOUNT_CHECK)
    before = _tree(data_assets_dir)
    with CodeOceanEmulator(capsules_dir, TOKEN, state_dir=tmp_path / "state", data_assets_dir=data_assets_dir) as emu:
        run = emu.start_computation(
            emu.capsule_id("mount-check"), data_assets=[{"id": SEEDED_ASSET, "mount": "genome"}]
        )
        done = emu.wait_for_computation(run["id"])
        results = emu.run_dir(run["id"]) / "results"
        assert done["end_status"] == "succeeded", (results / "output").read_text()
        assert (results / "find.txt").read_text() == "../data/genome/chr1/seq.fa\n"
        assert (results / "rglob.txt").read_text() == "['../data/genome/chr1/seq.fa']\n"
        assert (results / "new_file.txt").read_text() == "refused\n"
        assert (results / "append.txt").read_text() == "refused\n"
    assert _tree(data_assets_dir) == before


def test_relative_state_dir_runs_real_capsules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with CodeOceanEmulator(token=TOKEN, state_dir="emulator-state") as emu:
        run = emu.start_computation(ECHO_CAPSULE_ID, parameters=["hi"])
        done = emu.wait_for_computation(run["id"])
    assert (done["end_status"], done["exit_code"]) == ("succeeded", 0)
    assert (tmp_path / "emulator-state" / "runs" / run["id"] / "results" / "summary.txt").is_file()


def test_tls_handshake_fails_at_once_with_a_plain_http_answer(emu: CodeOceanEmulator) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # A hang would end in TimeoutError after 60 s, which is neither of the errors expected here.
    with (
        socket.create_connection(("127.0.0.1", emu.port), timeout=60) as raw,
        pytest.raises((ssl.SSLError, ConnectionResetError)),
    ):
        context.wrap_socket(raw, server_hostname="localhost")
    with socket.create_connection(("127.0.0.1", emu.port), timeout=60) as raw:
        raw.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"plain-HTTP server" in answer


def test_hold_on_a_finished_run_is_a_conflict(emu: CodeOceanEmulator, api: requests.Session) -> None:
    run = emu.start_computation(ECHO_CAPSULE_ID)
    emu.wait_for_computation(run["id"])
    response = api.post(f"{emu.base_url}/_emulator/computations/{run['id']}/hold", timeout=10)
    assert response.status_code == 409
    assert "already finished" in response.json()["message"]
    with pytest.raises(ApiError) as err:
        emu.hold_computation(run["id"])
    assert err.value.status == 409
    assert emu.computation(run["id"])["state"] == "completed"


def test_run_started_held_through_the_control_api(emu: CodeOceanEmulator, api: requests.Session) -> None:
    response = api.post(
        f"{emu.base_url}/_emulator/computations", json={"capsule_id": ECHO_CAPSULE_ID, "held": True}, timeout=10
    )
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["held"] is True
    wait_until(lambda: emu.app.store.computations[run["id"]].pending_exit is not None)  # code/run has ended
    assert emu.computation(run["id"])["state"] == "running"
    emu.release_computation(run["id"])
    assert emu.computation(run["id"])["end_status"] == "succeeded"


def test_held_simulated_run_from_the_helper(emu: CodeOceanEmulator) -> None:
    run = emu.start_computation(SIMULATED_CAPSULE_ID, held=True)
    emu.app.store.computations[run["id"]].created_mono -= 3600  # its simulated time is long past
    assert emu.computation(run["id"])["state"] == "running"
    emu.release_computation(run["id"])
    assert emu.computation(run["id"])["state"] == "completed"


def test_run_with_a_minimum_duration(emu: CodeOceanEmulator, api: requests.Session) -> None:
    started = time.monotonic()
    response = api.post(
        f"{emu.base_url}/_emulator/computations",
        json={"capsule_id": ECHO_CAPSULE_ID, "min_duration": 1.0},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    run_id = response.json()["id"]
    wait_until((emu.run_dir(run_id) / "results" / "output").exists)  # code/run has ended
    assert emu.computation(run_id)["state"] == "running"
    done = emu.wait_for_computation(run_id)
    assert done["end_status"] == "succeeded"
    assert time.monotonic() - started >= 1.0
    simulated = emu.start_computation(SIMULATED_CAPSULE_ID, min_duration=3600)
    emu.app.store.computations[simulated["id"]].created_mono -= 60  # past its own duration, not the minimum
    assert emu.computation(simulated["id"])["state"] != "completed"


def test_bad_run_options_are_refused(emu: CodeOceanEmulator, api: requests.Session) -> None:
    for body in ({"capsule_id": ECHO_CAPSULE_ID, "min_duration": "soon"}, {"capsule_id": ECHO_CAPSULE_ID, "held": 1}):
        assert api.post(f"{emu.base_url}/_emulator/computations", json=body, timeout=10).status_code == 400
    with pytest.raises(ApiError):
        emu.start_computation(ECHO_CAPSULE_ID, min_duration=-1)
    assert emu.count_computations() == 0


def test_ui_links_lead_to_html_pages(emu: CodeOceanEmulator) -> None:
    run = emu.start_computation(SIMULATED_CAPSULE_ID)
    for path, name in ((f"computations/{run['id']}", run["id"]), (f"data-assets/{SEEDED_ASSET}", "Reference genome")):
        page = requests.get(f"{emu.base_url}/{path}", timeout=10)
        assert page.status_code == 200
        assert page.headers["Content-Type"].startswith("text/html")
        assert name in page.text
    missing = requests.get(f"{emu.base_url}/computations/{'0' * 8}-0000-4000-8000-{'0' * 12}", timeout=10)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "body",
    [
        {"parameters": ["a\u0000b"]},
        {"named_parameters": [{"param_name": "message", "value": "nul\u0000"}]},
        {"named_parameters": [{"param_name": "two words", "value": "x"}]},
        {"named_parameters": [{"param_name": "a;rm", "value": "x"}]},
        {"parameters": ["x" * (64 * 1024 + 1)]},
    ],
    ids=["nul", "named-nul", "name-space", "name-semicolon", "too-long"],
)
def test_bad_parameters_are_a_400(emu: CodeOceanEmulator, api: requests.Session, body: dict[str, object]) -> None:
    response = api.post(f"{emu.base_url}/api/v1/computations", json={"capsule_id": ECHO_CAPSULE_ID, **body}, timeout=10)
    assert response.status_code == 400, response.text
    assert emu.count_computations() == 0


def test_token_is_never_printed(tmp_path: Path) -> None:
    token = "cop_secret_do_not_print_7f3a"
    with emulator_process("--port", "0", "--token", token, "--state-dir", str(tmp_path / "state")) as (
        process,
        base_url,
    ):
        assert requests.get(f"{base_url}/api/v1/capsules/{ECHO_CAPSULE_ID}", auth=(token, ""), timeout=10).ok
        assert (
            requests.get(f"{base_url}/api/v1/capsules/{ECHO_CAPSULE_ID}", auth=("wrong", ""), timeout=10).status_code
            == 401
        )
        process.terminate()
        out, err = process.communicate(timeout=15)
    assert token not in base_url + out + err
    assert "serving" in err
    with CodeOceanEmulator(token=token, state_dir=tmp_path / "inproc") as emu:
        assert token not in repr(emu.config)
