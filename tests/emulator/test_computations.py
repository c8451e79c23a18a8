"""Computations: argv, working directory, state machine, stop/delete, simulation, results and URLs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests

from airflow_provider_codeocean.testing import (
    ECHO_CAPSULE_ID,
    PIPELINE_ID,
    SIMULATED_CAPSULE_ID,
    CodeOceanEmulator,
)

from .conftest import wait_until

ARGS_CAPSULE = "a7a7a7a7-0000-4000-8000-00000000a7a7"
SEEDED_ASSET = "5eed5eed-0000-4000-8000-000000000001"


def _run(api: requests.Session, url: Callable[[str], str], body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(url("computations"), json=body, timeout=10)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _text(api: requests.Session, url: Callable[[str], str], computation_id: str, path: str) -> str:
    urls = api.get(url(f"computations/{computation_id}/results/urls"), params={"path": path}, timeout=10).json()
    return requests.get(urls["download_url"], timeout=10).text


def test_parameters_become_argv_and_cwd_is_code(
    emu: CodeOceanEmulator, api: requests.Session, url: Callable[[str], str]
) -> None:
    run = _run(
        api,
        url,
        {
            "capsule_id": ARGS_CAPSULE,
            "parameters": ["first", "with space", ""],
            "named_parameters": [{"param_name": "alpha", "value": "1"}, {"param_name": "beta", "value": "x y"}],
        },
    )
    emu.wait_for_computation(run["id"])
    argv = _text(api, url, run["id"], "argv.txt").splitlines()
    assert argv == ["first", "with space", "", "--alpha", "1", "--beta", "x y"]
    assert _text(api, url, run["id"], "cwd.txt").strip().endswith(f"{run['id']}/code")
    assert [p["value"] for p in run["parameters"]] == ["first", "with space", "", "1", "x y"]
    assert run["parameters"][3]["param_name"] == "alpha"


def test_pipeline_process_parameters_arrive_as_json(
    emu: CodeOceanEmulator, api: requests.Session, url: Callable[[str], str]
) -> None:
    run = _run(
        api,
        url,
        {
            "pipeline_id": PIPELINE_ID,
            "nextflow_profile": "local",
            "processes": [
                {"name": "capsule_summarize_2", "named_parameters": [{"param_name": "depth", "value": "3"}]},
            ],
        },
    )
    done = emu.wait_for_computation(run["id"])
    assert done["nextflow_profile"] == "local"
    assert done["processes"][1]["parameters"] == [{"param_name": "depth", "value": "3"}]
    passed = json.loads(_text(api, url, run["id"], "processes.json"))
    assert passed == [
        {"name": "capsule_summarize_2", "parameters": [], "named_parameters": [{"param_name": "depth", "value": "3"}]}
    ]


def test_state_machine_and_run_time(emu: CodeOceanEmulator, api: requests.Session, url: Callable[[str], str]) -> None:
    slow = _run(api, url, {"capsule_id": emu.capsule_id("slow")})
    assert slow["state"] == "initializing"
    wait_until(lambda: api.get(url(f"computations/{slow['id']}"), timeout=10).json()["state"] == "running")
    running = api.get(url(f"computations/{slow['id']}"), timeout=10).json()
    assert "exit_code" not in running and "end_status" not in running
    emu.complete_computation(slow["id"], "failed", 9)
    done = api.get(url(f"computations/{slow['id']}"), timeout=10).json()
    assert (done["state"], done["end_status"], done["exit_code"]) == ("completed", "failed", 9)
    assert isinstance(done["run_time"], int)


def test_finalizing_is_observable(emu: CodeOceanEmulator, api: requests.Session, url: Callable[[str], str]) -> None:
    emu.app.runner._finalize_delay = 0.3
    run = _run(api, url, {"capsule_id": ECHO_CAPSULE_ID})
    seen: set[str] = set()

    def finished() -> bool:
        state = api.get(url(f"computations/{run['id']}"), timeout=10).json()["state"]
        seen.add(state)
        return state == "completed"

    wait_until(finished)
    assert "finalizing" in seen


def test_delete_stops_a_running_computation(
    emu: CodeOceanEmulator, api: requests.Session, url: Callable[[str], str]
) -> None:
    slow = _run(api, url, {"capsule_id": emu.capsule_id("slow")})
    wait_until(lambda: emu.computation(slow["id"])["state"] == "running")
    assert api.delete(url(f"computations/{slow['id']}"), timeout=10).status_code == 204
    assert api.get(url(f"computations/{slow['id']}"), timeout=10).status_code == 404
    assert api.delete(url(f"computations/{slow['id']}"), timeout=10).status_code == 404
    assert emu.count_computations() == 0
    wait_until(lambda: not emu.run_dir(slow["id"]).exists())


def test_stop_keeps_the_computation(emu: CodeOceanEmulator, api: requests.Session, url: Callable[[str], str]) -> None:
    slow = _run(api, url, {"capsule_id": emu.capsule_id("slow")})
    wait_until(lambda: emu.computation(slow["id"])["state"] == "running")
    stop = api.post(f"{emu.base_url}/_emulator/computations/{slow['id']}/stop", timeout=10)
    assert stop.status_code == 200
    done = api.get(url(f"computations/{slow['id']}"), timeout=10).json()
    assert (done["state"], done["end_status"]) == ("completed", "stopped")


def test_hold_and_release(emu: CodeOceanEmulator, api: requests.Session, url: Callable[[str], str]) -> None:
    run = _run(api, url, {"capsule_id": emu.capsule_id("sim-fast")})
    emu.hold_computation(run["id"])
    emu.app.store.computations[run["id"]].created_mono -= 10  # its simulated time is long past
    assert emu.computation(run["id"])["state"] == "running"
    emu.release_computation(run["id"])
    assert emu.computation(run["id"])["end_status"] == "succeeded"

    real = _run(api, url, {"capsule_id": ECHO_CAPSULE_ID})
    held = api.post(f"{emu.base_url}/_emulator/computations/{real['id']}/hold", timeout=10)
    assert held.status_code == 200
    wait_until(lambda: emu.app.store.computations[real["id"]].pending_exit is not None)
    assert emu.computation(real["id"])["state"] == "running"
    api.post(f"{emu.base_url}/_emulator/computations/{real['id']}/release", timeout=10)
    assert emu.computation(real["id"])["end_status"] == "succeeded"


def test_simulated_runs(emu: CodeOceanEmulator, api: requests.Session, url: Callable[[str], str]) -> None:
    ok = _run(api, url, {"capsule_id": SIMULATED_CAPSULE_ID})
    bad = _run(api, url, {"capsule_id": emu.capsule_id("sim-failed")})
    done = emu.wait_for_computation(ok["id"])
    assert (done["end_status"], done["exit_code"], done["has_results"]) == ("succeeded", 0, True)
    failed = emu.wait_for_computation(bad["id"])
    assert (failed["end_status"], failed["exit_code"]) == ("failed", 7)
    assert _text(api, url, ok["id"], "metrics/summary.json") == '{"accuracy": 0.97}\n'
    listing = api.post(url(f"computations/{ok['id']}/results"), json={"path": "metrics"}, timeout=10).json()
    assert listing == {"items": [{"name": "summary.json", "path": "metrics/summary.json", "type": "file", "size": 19}]}


def test_many_simulated_computations(emu: CodeOceanEmulator, api: requests.Session, url: Callable[[str], str]) -> None:
    capsule = emu.capsule_id("sim-fast")
    for _ in range(300):
        _run(api, url, {"capsule_id": capsule})
    listed = api.get(url(f"capsules/{capsule}/computations"), timeout=10).json()
    assert len(listed) == 300
    assert {"name", "created", "parameters", "data_assets"} <= set(listed[0])
    assert emu.count_computations(capsule) == 300
    assert emu.counts()["computations_created"] == 300


def test_nested_results_and_ranges(emu: CodeOceanEmulator, api: requests.Session, url: Callable[[str], str]) -> None:
    run = _run(api, url, {"capsule_id": emu.capsule_id("reader"), "data_assets": [{"id": SEEDED_ASSET, "mount": "g"}]})
    emu.wait_for_computation(run["id"])
    level = api.post(url(f"computations/{run['id']}/results"), json={"path": "copied/deeper"}, timeout=10).json()
    assert level["items"] == [{"name": "deepest", "path": "copied/deeper/deepest", "type": "folder"}]
    assert _text(api, url, run["id"], "copied/deeper/deepest/bottom.txt") == "bottom\n"
    assert _text(api, url, run["id"], "copied/g/chr1/seq.fa") == ">chr1\nACGT\n"

    urls = api.get(url(f"computations/{run['id']}/results/urls"), params={"path": "digits.txt"}, timeout=10).json()
    part = requests.get(urls["download_url"], headers={"Range": "bytes=2-5"}, timeout=10)
    assert (part.status_code, part.text, part.headers["Content-Range"]) == (206, "2345", "bytes 2-5/10")
    tail = requests.get(urls["download_url"], headers={"Range": "bytes=-3"}, timeout=10)
    assert tail.text == "789"
    assert requests.get(urls["download_url"], headers={"Range": "bytes=50-"}, timeout=10).status_code == 416
    assert "attachment" in requests.get(urls["download_url"], timeout=10).headers["Content-Disposition"]
    assert "inline" in requests.get(urls["view_url"], timeout=10).headers["Content-Disposition"]
    tampered = urls["download_url"].replace("digits.txt", "output")
    assert requests.get(tampered, timeout=10).status_code == 403


def test_capsule_without_script_or_metadata(
    emu: CodeOceanEmulator, api: requests.Session, url: Callable[[str], str]
) -> None:
    missing = _run(api, url, {"capsule_id": emu.capsule_id("noscript")})
    done = emu.wait_for_computation(missing["id"])
    assert (done["end_status"], done["exit_code"]) == ("failed", 127)
    # nometa has neither capsule.json nor an executable bit on code/run.
    plain = _run(api, url, {"capsule_id": emu.capsule_id("nometa")})
    assert emu.wait_for_computation(plain["id"])["end_status"] == "succeeded"
    assert "without capsule.json is valid" in _text(api, url, plain["id"], "output")


def test_rename_and_list_finds_the_run(
    emu: CodeOceanEmulator, api: requests.Session, url: Callable[[str], str]
) -> None:
    run = _run(api, url, {"capsule_id": SIMULATED_CAPSULE_ID, "parameters": ["p1"]})
    assert (
        api.patch(url(f"computations/{run['id']}"), params={"name": "airflow__d__r__t__try1"}, timeout=10).status_code
        == 204
    )
    listed = api.get(url(f"capsules/{SIMULATED_CAPSULE_ID}/computations"), timeout=10).json()
    assert [(c["id"], c["name"], c["parameters"]) for c in listed] == [
        (run["id"], "airflow__d__r__t__try1", [{"value": "p1"}])
    ]
