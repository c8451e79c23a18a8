"""The three ways to start the emulator: console script, context manager, pytest fixture."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from airflow_provider_codeocean.testing import ECHO_CAPSULE_ID, CodeOceanEmulator

from .conftest import FIXTURE_CAPSULES, console_script, emulator_process


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_console_script(tmp_path: Path, stop_signal: signal.Signals) -> None:
    with emulator_process(
        "--port", "0", "--token", "cop_cli", "--capsules", str(FIXTURE_CAPSULES),
        "--state-dir", str(tmp_path / "state"), "--seed", "3", "--faults", "503 times=1 path=/api/v1/custom_metadata",
    ) as (process, base_url):  # fmt: skip
        assert base_url.startswith("http://127.0.0.1:")
        assert requests.get(f"{base_url}/api/v1/custom_metadata", auth=("cop_cli", ""), timeout=10).status_code == 503
        response = requests.post(f"{base_url}/api/v1/capsules/search", json={}, auth=("cop_cli", ""), timeout=10)
        assert response.status_code == 200
        assert "Data reader" in {c["name"] for c in response.json()["results"]}
        process.send_signal(stop_signal)
        assert process.wait(timeout=15) == 0


def test_console_script_rejects_bad_faults() -> None:
    result = subprocess.run(
        [*console_script(), "--faults", "teapot"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert "unknown fault" in result.stderr
    assert result.stdout == ""


def test_context_manager(tmp_path: Path) -> None:
    with CodeOceanEmulator(token="cop_ctx", state_dir=tmp_path) as emu:  # built-in capsules by default
        assert emu.base_url == f"http://127.0.0.1:{emu.port}"
        assert emu.conn_id == "codeocean_default"
        response = requests.get(f"{emu.base_url}/api/v1/capsules/{ECHO_CAPSULE_ID}", auth=(emu.token, ""), timeout=10)
        assert response.json()["name"] == "Echo and summarize"
        port = emu.port
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=2)


def test_context_manager_reports_bad_capsules(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "capsule.json").write_text('{"kind": "spaceship"}')
    with pytest.raises(ValueError, match="broken"):
        CodeOceanEmulator(tmp_path, "tok").start()


def test_fixture_sets_an_airflow_connection(codeocean_emulator: CodeOceanEmulator) -> None:
    assert codeocean_emulator.conn_id == "codeocean_default"
    conn = json.loads(os.environ["AIRFLOW_CONN_CODEOCEAN_DEFAULT"])
    assert conn == {"conn_type": "codeocean", "host": codeocean_emulator.base_url, "password": codeocean_emulator.token}
    response = requests.get(
        f"{conn['host']}/api/v1/capsules/{ECHO_CAPSULE_ID}", auth=(conn["password"], ""), timeout=10
    )
    assert response.status_code == 200


def test_fixture_connection_resolves_in_airflow(codeocean_emulator: CodeOceanEmulator) -> None:
    from airflow.models.connection import Connection

    conn = Connection.get_connection_from_secrets("codeocean_default")
    assert conn.host == codeocean_emulator.base_url
    assert conn.password == codeocean_emulator.token
    assert conn.conn_type == "codeocean"
