"""Data assets: every source, failure reasons, metadata updates, search, files, permissions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from airflow_provider_codeocean.testing import (
    ECHO_CAPSULE_ID,
    FAILING_CAPSULE_ID,
    CodeOceanEmulator,
)

SEEDED_ASSET = "5eed5eed-0000-4000-8000-000000000001"
Url = Callable[[str], str]


def _create(api: requests.Session, url: Url, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(url("data_assets"), json={"tags": [], **body}, timeout=10)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert result["state"] == "draft"
    return result


def _completed(emu: CodeOceanEmulator, api: requests.Session, url: Url, capsule_id: str = ECHO_CAPSULE_ID) -> str:
    run_id = str(api.post(url("computations"), json={"capsule_id": capsule_id}, timeout=10).json()["id"])
    emu.wait_for_computation(run_id)
    return run_id


def test_from_computation_path_and_target(
    emu: CodeOceanEmulator, api: requests.Session, url: Url, buckets_dir: Any
) -> None:
    run_id = _completed(emu, api, url)
    part = _create(
        api, url, {"name": "details", "mount": "details", "source": {"computation": {"id": run_id, "path": "details"}}}
    )
    ready = emu.wait_for_data_asset(part["id"])
    assert (ready["state"], ready["files"]) == ("ready", 1)
    files = api.post(url(f"data_assets/{part['id']}/files"), json={"path": ""}, timeout=10).json()
    assert files["items"] == [{"name": "args.txt", "path": "args.txt", "type": "file", "size": 0}]

    external = _create(
        api,
        url,
        {
            "name": "exported",
            "mount": "exported",
            "source": {"computation": {"id": run_id}},
            "target": {"aws": {"bucket": "export-bucket", "prefix": "runs/one"}},
        },
    )
    done = emu.wait_for_data_asset(external["id"])
    assert done["source_bucket"] == {"origin": "aws", "bucket": "export-bucket", "prefix": "runs/one", "external": True}
    assert (buckets_dir / "export-bucket" / "runs" / "one" / "summary.txt").is_file()
    external_files = api.post(url(f"data_assets/{external['id']}/files"), json={"path": ""}, timeout=10)
    assert external_files.status_code == 400


def test_from_buckets_and_combined(emu: CodeOceanEmulator, api: requests.Session, url: Url) -> None:
    aws = _create(
        api, url, {"name": "plates", "mount": "plates", "source": {"aws": {"bucket": "raw-bucket", "prefix": "plates"}}}
    )
    gcp = _create(
        api, url, {"name": "images", "mount": "images", "source": {"gcp": {"bucket": "gcs-bucket", "prefix": "images"}}}
    )
    kept_source = {"aws": {"bucket": "raw-bucket", "keep_on_external_storage": True}}
    kept = _create(api, url, {"name": "kept", "mount": "kept", "source": kept_source})
    aws_ready = emu.wait_for_data_asset(aws["id"])
    assert (aws_ready["state"], aws_ready["type"], aws_ready["files"]) == ("ready", "dataset", 2)
    assert aws_ready["source_bucket"]["origin"] == "aws" and aws_ready["source_bucket"]["external"] is False
    assert emu.wait_for_data_asset(gcp["id"])["source_bucket"]["origin"] == "gcp"
    assert emu.wait_for_data_asset(kept["id"])["source_bucket"]["external"] is True

    combined = _create(api, url, {"name": "both", "mount": "both", "data_asset_ids": [aws["id"], gcp["id"]]})
    both = emu.wait_for_data_asset(combined["id"])
    assert both["type"] == "combined"
    assert [c["mount"] for c in both["contained_data_assets"]] == ["plates", "images"]
    top = api.post(url(f"data_assets/{combined['id']}/files"), json={"path": ""}, timeout=10).json()
    assert {(i["name"], i["type"]) for i in top["items"]} == {("plates", "folder"), ("images", "folder")}
    nested = api.post(url(f"data_assets/{combined['id']}/files"), json={"path": "plates/day1"}, timeout=10).json()
    assert nested["items"] == [{"name": "a.csv", "path": "plates/day1/a.csv", "type": "file", "size": 8}]

    run = api.post(
        url("computations"),
        json={"capsule_id": ECHO_CAPSULE_ID, "data_assets": [{"id": combined["id"], "mount": "in"}]},
        timeout=10,
    )
    emu.wait_for_computation(run.json()["id"])
    inputs = (emu.run_dir(run.json()["id"]) / "results" / "inputs.txt").read_text().split()
    assert "./in/plates/day1/a.csv" in inputs and "./in/images/img.bin" in inputs


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ({"aws": {"bucket": "no-such-bucket"}}, "bucket 'no-such-bucket' does not exist"),
        ({"aws": {"bucket": "raw-bucket", "prefix": "nope"}}, "prefix 'nope' not found"),
        ({"gcp": {"bucket": "missing"}}, "bucket 'missing' does not exist"),
    ],
)
def test_failed_bucket_sources(
    emu: CodeOceanEmulator, api: requests.Session, url: Url, source: dict[str, Any], reason: str
) -> None:
    asset = _create(api, url, {"name": "x", "mount": "x", "source": source})
    failed = emu.wait_for_data_asset(asset["id"])
    assert failed["state"] == "failed"
    assert reason in failed["failure_reason"]


def test_failed_computation_sources(emu: CodeOceanEmulator, api: requests.Session, url: Url) -> None:
    failed_run = _completed(emu, api, url, FAILING_CAPSULE_ID)
    running = api.post(url("computations"), json={"capsule_id": emu.capsule_id("slow")}, timeout=10).json()["id"]
    ok_run = _completed(emu, api, url)
    cases = {
        failed_run: ("", "did not succeed"),
        running: ("", "has not completed"),
        ok_run: ("no/such/path", "path 'no/such/path' not found"),
    }
    for run_id, (path, reason) in cases.items():
        asset = _create(api, url, {"name": "x", "mount": "x", "source": {"computation": {"id": run_id, "path": path}}})
        failed = emu.wait_for_data_asset(asset["id"])
        assert failed["state"] == "failed"
        assert reason in failed["failure_reason"]
    emu.complete_computation(running)


def test_update_delete_archive(emu: CodeOceanEmulator, api: requests.Session, url: Url) -> None:
    body = {"name": None, "description": None, "tags": None, "mount": None, "custom_metadata": None}
    same = api.put(url(f"data_assets/{SEEDED_ASSET}"), json=body, timeout=10).json()
    assert (same["name"], same["mount"], same["custom_metadata"]) == ("Reference genome", "genome", {"project": "ref"})
    changed = api.put(
        url(f"data_assets/{SEEDED_ASSET}"),
        json={**body, "custom_metadata": {"sample_count": 4, "acquired": 1700000000, "keywords": ["a", "b"]}},
        timeout=10,
    ).json()
    assert changed["custom_metadata"] == {"sample_count": 4, "acquired": 1700000000, "keywords": ["a", "b"]}
    assert (
        api.patch(url(f"data_assets/{SEEDED_ASSET}/archive"), params={"archive": "true"}, timeout=10).status_code == 204
    )
    assert (
        api.patch(url(f"data_assets/{SEEDED_ASSET}/archive"), params={"archive": "False"}, timeout=10).status_code
        == 204
    )
    assert api.delete(url(f"data_assets/{SEEDED_ASSET}"), timeout=10).status_code == 204
    assert api.get(url(f"data_assets/{SEEDED_ASSET}"), timeout=10).status_code == 404


def test_search_paging_filters_and_sort(emu: CodeOceanEmulator, api: requests.Session, url: Url) -> None:
    for index in range(25):
        _create(
            api, url,
            {"name": f"plate {index:02d}", "mount": f"p{index}", "tags": ["plate", "even" if index % 2 == 0 else "odd"],
             "source": {"aws": {"bucket": "raw-bucket", "prefix": "plates"}},
             "custom_metadata": {"sample_count": index}},
        )  # fmt: skip

    def search(**body: Any) -> dict[str, Any]:
        response = api.post(url("data_assets/search"), json=body, timeout=10)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    first = search(query="tag:plate", limit=10, sort_field="name", sort_order="asc")
    assert first["has_more"] and [a["name"] for a in first["results"]][:2] == ["plate 00", "plate 01"]
    names = [a["name"] for a in first["results"]]
    token = first["next_token"]
    while token:
        page = search(query="tag:plate", limit=10, sort_field="name", sort_order="asc", next_token=token)
        names += [a["name"] for a in page["results"]]
        token = page.get("next_token")
    assert names == [f"plate {i:02d}" for i in range(25)]
    assert [a["name"] for a in search(query="tag:plate", offset=23, limit=100, sort_field="name")["results"]] == [
        "plate 23", "plate 24",
    ]  # fmt: skip
    assert len(search(query="tag:even tag:odd")["results"]) == 25  # same field: OR
    assert len(search(query="tag:even name:03")["results"]) == 0  # different fields: AND
    assert len(search(query='"plate 1"')["results"]) == 10  # 10..19
    ranged = search(filters=[{"key": "sample_count", "range": {"min": 20, "max": 30}}])
    assert sorted(a["name"] for a in ranged["results"]) == [f"plate {i}" for i in range(20, 25)]
    excluded = search(query="tag:plate", filters=[{"key": "tags", "value": "odd", "exclude": True}])
    assert len(excluded["results"]) == 13
    assert search(type="combined")["results"] == []
    assert len(search(origin="internal", limit=1000)["results"]) == 27  # 25 + 2 seeded


def test_permissions(emu: CodeOceanEmulator, api: requests.Session, url: Url) -> None:
    target = url(f"data_assets/{SEEDED_ASSET}/permissions")
    ok = api.post(
        target,
        json={"users": [{"email": "bob@example.com", "role": "viewer"}],
              "groups": [{"group": "analysts", "role": "editor"}, {"group": "ghosts", "role": "viewer"}],
              "everyone": "discoverable", "share_assets": None},
        timeout=10,
    )  # fmt: skip
    assert ok.status_code == 204
    perms = api.get(target, timeout=10).json()
    assert perms["groups"] == [{"group": "analysts", "role": "editor"}]  # unknown group silently dropped
    assert {"email": "bob@example.com", "role": "viewer"} in perms["users"]
    assert perms["everyone"] == "discoverable"
    unknown_user = api.post(target, json={"users": [{"email": "nobody@example.com", "role": "viewer"}]}, timeout=10)
    assert unknown_user.status_code == 400
    assert "nobody@example.com" in unknown_user.json()["message"]
    assert api.get(target, timeout=10).json() == perms
