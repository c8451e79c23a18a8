"""The vendor's API pages (shared/seeds), request for request, with plain ``requests``."""

from __future__ import annotations

from collections.abc import Callable

import requests

from airflow_provider_codeocean.testing import ECHO_CAPSULE_ID, PIPELINE_ID, CodeOceanEmulator

SEEDED_ASSET = "5eed5eed-0000-4000-8000-000000000001"
HEADERS = {"Content-Type": "application/json"}


def _completed_run(emu: CodeOceanEmulator, url: Callable[[str], str]) -> str:
    response = requests.post(
        url("computations"), headers=HEADERS, json={"capsule_id": ECHO_CAPSULE_ID}, auth=(emu.token, ""), timeout=10
    )
    computation_id = str(response.json()["id"])
    emu.wait_for_computation(computation_id)
    return computation_id


def test_run_capsule(emu: CodeOceanEmulator, url: Callable[[str], str]) -> None:
    response = requests.post(
        url("computations"), headers=HEADERS, json={"capsule_id": ECHO_CAPSULE_ID}, auth=(emu.token, ""), timeout=10
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"created", "has_results", "id", "name", "run_time", "state"}
    assert body["state"] == "initializing"
    assert body["has_results"] is False
    assert isinstance(body["created"], int)
    assert body["name"] == f"Run {body['created'] % 10_000_000:07d}"
    assert "end_status" not in body and "exit_code" not in body


def test_run_capsule_with_data_assets(emu: CodeOceanEmulator, url: Callable[[str], str]) -> None:
    # The curl example: a list of {id, mount}.
    as_list = requests.post(
        url("computations"),
        headers=HEADERS,
        json={"capsule_id": ECHO_CAPSULE_ID, "data_assets": [{"id": SEEDED_ASSET, "mount": "Alignment"}]},
        auth=(emu.token, ""),
        timeout=10,
    )
    assert as_list.status_code == 200
    assert as_list.json()["data_assets"] == [{"id": SEEDED_ASSET, "mount": "Alignment"}]
    # The Python example sends one object instead of a list; it must work as shown.
    as_object = requests.post(
        url("computations"),
        headers=HEADERS,
        json={"capsule_id": ECHO_CAPSULE_ID, "data_assets": {"id": SEEDED_ASSET, "mount": "Alignment"}},
        auth=(emu.token, ""),
        timeout=10,
    )
    assert as_object.status_code == 200
    done = emu.wait_for_computation(as_object.json()["id"])
    assert done["end_status"] == "succeeded"
    assert (emu.run_dir(done["id"]) / "results" / "inputs.txt").read_text().strip() == "./Alignment/chr1/seq.fa"


def test_run_pipeline_through_capsule_id(emu: CodeOceanEmulator, url: Callable[[str], str]) -> None:
    # "capsule_id": "{capsule/pipeline_id}" in the seed.
    response = requests.post(
        url("computations"), headers=HEADERS, json={"capsule_id": PIPELINE_ID}, auth=(emu.token, ""), timeout=10
    )
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["processes"]] == ["capsule_align_1", "capsule_summarize_2"]


def test_run_version(emu: CodeOceanEmulator, url: Callable[[str], str]) -> None:
    response = requests.post(
        url("computations"),
        headers=HEADERS,
        json={"capsule_id": ECHO_CAPSULE_ID, "version": 1},
        # The seed's Python example quotes the token like this; accepted on purpose.
        auth=("'" + emu.token, "'"),
        timeout=10,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "initializing"
    assert body["run_time"] == 0
    missing = requests.post(
        url("computations"),
        headers=HEADERS,
        json={"capsule_id": ECHO_CAPSULE_ID, "version": 9},
        auth=(emu.token, ""),
        timeout=10,
    )
    assert missing.status_code == 400
    assert "version 9" in missing.json()["message"]


def test_get_capsule_and_list_computations(emu: CodeOceanEmulator, url: Callable[[str], str]) -> None:
    capsule = requests.get(url(f"capsules/{ECHO_CAPSULE_ID}"), headers=HEADERS, auth=("'" + emu.token, "'"), timeout=10)
    assert capsule.status_code == 200
    assert set(capsule.json()) >= {
        "cloned_from_url", "created", "description", "field", "id", "name", "owner", "slug", "status",
    }  # fmt: skip
    run_id = _completed_run(emu, url)
    listed = requests.get(
        url(f"capsules/{ECHO_CAPSULE_ID}/computations"), headers=HEADERS, auth=(emu.token, ""), timeout=10
    )
    assert listed.status_code == 200
    [run] = listed.json()
    assert run["id"] == run_id
    assert set(run) >= {"created", "end_status", "has_results", "id", "name", "run_time", "state"}
    assert run["state"] == "completed"
    assert run["end_status"] == "succeeded"
    assert run["has_results"] is True


def test_create_get_and_update_data_asset(emu: CodeOceanEmulator, url: Callable[[str], str]) -> None:
    run_id = _completed_run(emu, url)
    json_data = {
        "name": "Data asset From API",
        "description": "An example for creating data asset from CO API",
        "mount": "ProteinFile",
        "tags": ["proteomics", "bioinformatics"],
        "source": {"computation": {"id": run_id}},
    }
    created = requests.post(url("data_assets"), headers=HEADERS, json=json_data, auth=(emu.token, ""), timeout=10)
    assert created.status_code == 200
    body = created.json()
    assert body["state"] == "draft"
    assert body["type"] == "result"
    assert body["tags"] == ["proteomics", "bioinformatics"]
    asset_id = body["id"]
    emu.wait_for_data_asset(asset_id)

    fetched = requests.get(url(f"data_assets/{asset_id}"), headers=HEADERS, auth=("'" + emu.token, "'"), timeout=10)
    assert fetched.status_code == 200
    assert fetched.json()["state"] == "ready"

    update = {
        "name": "Modified The Name",
        "description": "a new description from the API!",
        "tags": ["I", "Am", "New"],
        "mount": "NewMount",
    }
    updated = requests.put(
        url(f"data_assets/{asset_id}"), headers=HEADERS, json=update, auth=("'" + emu.token, "'"), timeout=10
    )
    assert updated.status_code == 200
    result = updated.json()
    assert {k: result[k] for k in update} == update
    assert set(result) >= {
        "created",
        "description",
        "files",
        "id",
        "last_used",
        "name",
        "size",
        "state",
        "tags",
        "type",
    }
    assert result["state"] == "ready"
    assert result["type"] == "result"
