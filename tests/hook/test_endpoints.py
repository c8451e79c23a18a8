"""What each hook method sends (method, path, query, JSON body) and how the answer is parsed.

Bodies from the vendor's seed pages are compared exactly: those requests must work as documented.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from airflow_provider_codeocean.api import endpoints
from airflow_provider_codeocean.models import (
    CapsuleStatus,
    ComputationState,
    DataAssetParams,
    DataAssetState,
    DataAssetType,
    DataAssetUpdate,
    GroupPermission,
    Permissions,
    RunParams,
    UserPermission,
)
from airflow_provider_codeocean.models.params import ComputationSource
from tests.hook.util import TOKEN_B64, body

CAPSULE_ID = "4bc97533-6eb4-48ac-966f-648548a756d2"
COMPUTATION_ID = "94994ace-cd3d-4e38-9c5c-9aed12a5169d"
ASSET_ID = "d36665a7-ef59-4b8e-a799-bee7f83ee317"

# The seed page's capsule, verbatim (pre-3.1 field names: keywords, status non-published).
SEED_CAPSULE = {
    "cloned_from_url": "",
    "created": 1673385764,
    "description": "This tool takes an alignment of reads ...",
    "field": "Bioinformatics",
    "id": CAPSULE_ID,
    "keywords": ["ChIP", "Normalization"],
    "name": "deepTools-bamCoverage",
    "owner": "467ef120-2c93-42eb-8865-5866004243bf",
    "published_capsule": "",
    "slug": "7607289",
    "status": "non-published",
}
SEED_RUN_RESPONSE = {
    "created": 1689691505,
    "has_results": False,
    "id": COMPUTATION_ID,
    "name": "Run 9691505",
    "run_time": 1,
    "state": "initializing",
}
SEED_UPDATED_ASSET = {
    "created": 1682956260,
    "description": "a new description from the API!",
    "files": 1,
    "id": "2fc14a4d-5746-4f66-8da8-079ed3441286",
    "last_used": 1682956368,
    "name": "Modified The Name",
    "size": 4594062,
    "state": "ready",
    "tags": ["I", "Am", "New"],
    "type": "dataset",
}


def only_request(httpserver: HTTPServer) -> Any:
    assert len(httpserver.log) == 1, [r.path for r, _ in httpserver.log]
    return httpserver.log[0][0]


# Computations


def test_run_capsule_with_data_asset_sends_the_seed_body(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request("/api/v1/computations", method="POST").respond_with_json(SEED_RUN_RESPONSE)
    params = RunParams.build(
        capsule_id=CAPSULE_ID,
        data_assets=[{"id": "bf8cf993-a583-495c-bebd-2f38f81d1ea1", "mount": "Alignment"}],
    )

    computation = hook.run_computation(params)

    request = only_request(httpserver)
    assert body(request) == {
        "capsule_id": CAPSULE_ID,
        "data_assets": [{"id": "bf8cf993-a583-495c-bebd-2f38f81d1ea1", "mount": "Alignment"}],
    }
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == f"Basic {TOKEN_B64}"
    assert computation.id == COMPUTATION_ID
    assert computation.state == ComputationState.INITIALIZING
    assert not computation.is_terminal
    assert computation.owner is None  # "required" in the SDK, absent here: no KeyError
    assert computation.to_dict() == SEED_RUN_RESPONSE


def test_run_capsule_seed_python_example_with_a_single_data_asset_dict(httpserver: HTTPServer, hook: Any) -> None:
    # The seed page's Python example passes data_assets as one dict rather than a list.
    httpserver.expect_request("/api/v1/computations", method="POST").respond_with_json(SEED_RUN_RESPONSE)
    params = RunParams.build(
        capsule_id=CAPSULE_ID, data_assets={"id": "bf8cf993-a583-495c-bebd-2f38f81d1ea1", "mount": "Alignment"}
    )

    hook.run_computation(params)

    assert body(only_request(httpserver)) == {
        "capsule_id": CAPSULE_ID,
        "data_assets": [{"id": "bf8cf993-a583-495c-bebd-2f38f81d1ea1", "mount": "Alignment"}],
    }


def test_run_capsule_version_sends_the_seed_body(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request("/api/v1/computations", method="POST").respond_with_json(
        {**SEED_RUN_RESPONSE, "id": "9af23fd6-2957-40bf-b691-16190056c94e", "run_time": 0}
    )

    computation = hook.run_computation(RunParams.build(capsule_id=CAPSULE_ID, version="1"))

    assert body(only_request(httpserver)) == {"capsule_id": CAPSULE_ID, "version": 1}
    assert computation.id == "9af23fd6-2957-40bf-b691-16190056c94e"


def test_run_plain_capsule_sends_only_the_id(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request("/api/v1/computations", method="POST").respond_with_json(SEED_RUN_RESPONSE)

    hook.run_computation(RunParams.build(capsule_id=CAPSULE_ID))

    assert body(only_request(httpserver)) == {"capsule_id": CAPSULE_ID}


def test_run_pipeline_with_processes_and_named_parameters(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request("/api/v1/computations", method="POST").respond_with_json(SEED_RUN_RESPONSE)
    params = RunParams.build(
        pipeline_id=CAPSULE_ID,
        nextflow_profile="large",
        named_parameters={"alpha": "1"},
        processes=[
            {"name": "capsule_art_1", "parameters": ["x"]},
            {"name": "capsule_report_2", "named_parameters": [("k", "v")]},
        ],
    )

    hook.run_computation(params)

    assert body(only_request(httpserver)) == {
        "pipeline_id": CAPSULE_ID,
        "nextflow_profile": "large",
        "named_parameters": [{"param_name": "alpha", "value": "1"}],
        "processes": [
            {"name": "capsule_art_1", "parameters": ["x"]},
            {"name": "capsule_report_2", "named_parameters": [{"param_name": "k", "value": "v"}]},
        ],
    }


def test_get_computation_parses_a_finished_run(httpserver: HTTPServer, hook: Any, send: Any) -> None:
    httpserver.expect_request(f"/api/v1/computations/{COMPUTATION_ID}", method="GET").respond_with_json(
        {
            "id": COMPUTATION_ID,
            "name": "Run 1",
            "state": "completed",
            "end_status": "succeeded",
            "exit_code": 0,
            "owner": "release",
            "has_results": True,
            "data_assets": [{"id": "a1", "mount": "m"}],
            "parameters": [{"name": "alpha", "value": "1"}],
            "processes": [{"name": "p1", "capsule_id": "c1", "version": 2}],
            "some_future_field": {"x": 1},
        }
    )

    computation = send(hook, endpoints.get_computation(COMPUTATION_ID))

    assert computation.succeeded and computation.outcome == "succeeded"
    assert computation.owner == "release"
    assert computation.data_asset_ids == ["a1"]
    assert computation.processes[0].version == 2
    assert computation.raw["some_future_field"] == {"x": 1}


def test_unknown_state_is_kept_as_text_and_not_terminal(httpserver: HTTPServer, hook: Any, send: Any) -> None:
    httpserver.expect_request(f"/api/v1/computations/{COMPUTATION_ID}").respond_with_json(
        {"id": COMPUTATION_ID, "name": "r", "state": "queued", "end_status": "evicted"}
    )

    computation = send(hook, endpoints.get_computation(COMPUTATION_ID))

    assert computation.state == "queued"
    assert not isinstance(computation.state, ComputationState)
    assert computation.end_status == "evicted"
    assert not computation.is_terminal
    assert computation.outcome == "running"


def test_computation_missing_every_optional_and_required_field(httpserver: HTTPServer, hook: Any, send: Any) -> None:
    httpserver.expect_request(f"/api/v1/computations/{COMPUTATION_ID}").respond_with_json({"id": COMPUTATION_ID})

    computation = send(hook, endpoints.get_computation(COMPUTATION_ID))

    assert computation.id == COMPUTATION_ID
    assert computation.name == "" and computation.state is None and computation.owner is None
    assert computation.created is None and computation.run_time is None
    assert not computation.is_terminal


def test_ids_are_one_path_segment(httpserver: HTTPServer, hook: Any) -> None:
    # A stray '/' or '?' in an id must not reach another endpoint.
    httpserver.expect_request(re.compile(".*")).respond_with_json({"id": "a/b?x=1"})

    hook.get_computation("a/b?x=1")

    request = only_request(httpserver)
    assert request.environ["RAW_URI"] == "/api/v1/computations/a%2Fb%3Fx%3D1"
    assert request.query_string == b""


def test_aget_computation_and_adelete(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request(f"/api/v1/computations/{COMPUTATION_ID}", method="GET").respond_with_json(
        {"id": COMPUTATION_ID, "name": "r", "state": "running"}
    )
    httpserver.expect_request(f"/api/v1/computations/{COMPUTATION_ID}", method="DELETE").respond_with_data(
        "", status=204
    )

    async def run() -> Any:
        async with hook:
            computation = await hook.aget_computation(COMPUTATION_ID)
            await hook.adelete_computation(COMPUTATION_ID)
            return computation

    computation = asyncio.run(run())

    assert computation.state == ComputationState.RUNNING
    assert [(r.method, r.headers["Authorization"]) for r, _ in httpserver.log] == [
        ("GET", f"Basic {TOKEN_B64}"),
        ("DELETE", f"Basic {TOKEN_B64}"),
    ]


def test_rename_and_delete_computation(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request(
        f"/api/v1/computations/{COMPUTATION_ID}", method="PATCH", query_string={"name": "nightly 1"}
    ).respond_with_data("", status=204)
    httpserver.expect_request(f"/api/v1/computations/{COMPUTATION_ID}", method="DELETE").respond_with_data(
        "", status=204
    )

    assert hook.rename_computation(COMPUTATION_ID, "nightly 1") is None
    assert hook.delete_computation(COMPUTATION_ID) is None
    httpserver.check_assertions()
    assert [r.method for r, _ in httpserver.log] == ["PATCH", "DELETE"]


def test_list_computations_of_capsule_and_pipeline(httpserver: HTTPServer, hook: Any) -> None:
    runs = [{"id": "c1", "name": "Run 1", "state": "completed", "end_status": "failed"}, {"id": "c2"}]
    httpserver.expect_request(f"/api/v1/capsules/{CAPSULE_ID}/computations", method="GET").respond_with_json(runs)
    httpserver.expect_request(f"/api/v1/pipelines/{CAPSULE_ID}/computations", method="GET").respond_with_json(runs[:1])

    from_capsule = hook.list_computations(CAPSULE_ID)
    from_pipeline = hook.list_computations(CAPSULE_ID, pipeline=True)

    assert [c.id for c in from_capsule] == ["c1", "c2"]
    assert from_capsule[0].failed
    assert [c.id for c in from_pipeline] == ["c1"]


def test_list_computations_seed_answer_of_one_object(httpserver: HTTPServer, hook: Any) -> None:
    # The seed page's example answer is one computation object, not a list.
    httpserver.expect_request(f"/api/v1/capsules/{CAPSULE_ID}/computations").respond_with_json(
        {
            "created": 1689691505,
            "end_status": "succeeded",
            "has_results": True,
            "id": COMPUTATION_ID,
            "name": "Run 9691505",
            "run_time": 10,
            "state": "completed",
        }
    )

    runs = hook.list_computations(CAPSULE_ID)

    assert [r.id for r in runs] == [COMPUTATION_ID]
    assert runs[0].succeeded


# Capsules


def test_get_capsule_parses_the_seed_capsule(httpserver: HTTPServer, hook: Any, send: Any) -> None:
    httpserver.expect_request(f"/api/v1/capsules/{CAPSULE_ID}", method="GET").respond_with_json(SEED_CAPSULE)

    capsule = send(hook, endpoints.get_capsule(CAPSULE_ID))

    assert capsule.id == CAPSULE_ID and capsule.name == "deepTools-bamCoverage"
    assert capsule.tags == ["ChIP", "Normalization"]
    assert capsule.status == "non-published"
    assert not isinstance(capsule.status, CapsuleStatus)
    assert capsule.created == 1673385764
    assert capsule.to_dict() == SEED_CAPSULE


def test_get_pipeline_uses_the_pipelines_route(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request(f"/api/v1/pipelines/{CAPSULE_ID}").respond_with_json(
        {"id": CAPSULE_ID, "name": "p", "status": "release", "tags": ["a"]}
    )

    pipeline = hook.get_pipeline(CAPSULE_ID)

    assert pipeline.status == CapsuleStatus.RELEASE and pipeline.tags == ["a"]


def test_app_panel_version_query(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request(
        f"/api/v1/capsules/{CAPSULE_ID}/app_panel", query_string={"version": "3"}
    ).respond_with_json({"parameters": [{"name": "Alpha", "param_name": "alpha", "required": True}]})

    panel = hook.get_app_panel(CAPSULE_ID, 3)

    assert panel.parameters[0].param_name == "alpha" and panel.parameters[0].required is True


def test_archive_capsule_and_data_asset_send_lowercase_booleans(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request(
        f"/api/v1/capsules/{CAPSULE_ID}/archive", method="PATCH", query_string={"archive": "true"}
    ).respond_with_data("", status=204)
    httpserver.expect_request(
        f"/api/v1/data_assets/{ASSET_ID}/archive", method="PATCH", query_string={"archive": "false"}
    ).respond_with_data("", status=204)

    hook.archive_capsule(CAPSULE_ID)
    hook.archive_data_asset(ASSET_ID, archive=False)

    httpserver.check_assertions()
    assert len(httpserver.log) == 2


def test_permissions_round_trip(httpserver: HTTPServer, hook: Any) -> None:
    answer = {"users": [{"email": "a@x.org", "role": "owner"}], "groups": [], "everyone": "viewer"}
    httpserver.expect_request(f"/api/v1/capsules/{CAPSULE_ID}/permissions", method="GET").respond_with_json(answer)
    httpserver.expect_request(f"/api/v1/data_assets/{ASSET_ID}/permissions", method="POST").respond_with_data("")
    wanted = Permissions(
        users=[UserPermission("a@x.org", "owner")], groups=[GroupPermission("lab", "viewer")], share_assets=True
    )

    got = hook.get_capsule_permissions(CAPSULE_ID)
    hook.update_data_asset_permissions(ASSET_ID, wanted)

    assert got.everyone == "viewer" and got.users[0].email == "a@x.org"
    assert body(httpserver.log[1][0]) == {
        "users": [{"email": "a@x.org", "role": "owner"}],
        "groups": [{"group": "lab", "role": "viewer"}],
        "share_assets": True,
    }
    assert wanted.missing_from(got) == ["group lab as viewer"]


# Data assets


def test_create_data_asset_from_computation_sends_the_seed_body(httpserver: HTTPServer, hook: Any) -> None:
    # The seed page's answer uses proto-style enum values and camelCase keys.
    httpserver.expect_request("/api/v1/data_assets", method="POST").respond_with_json(
        {
            "created": 1673385764,
            "description": "An example for creating data asset from CO API",
            "files": 3,
            "id": ASSET_ID,
            "lastUsed": 0,
            "name": "Data asset From API",
            "sizeInBytes": 1024,
            "state": "DATA_ASSET_STATE_DRAFT",
            "tags": ["proteomics", "bioinformatics"],
            "type": "DATA_ASSET_TYPE_DATASET",
        }
    )
    params = DataAssetParams(
        name="Data asset From API",
        description="An example for creating data asset from CO API",
        mount="ProteinFile",
        tags=["proteomics", "bioinformatics"],
        source=ComputationSource(id="c229ed13-ec06-43d0-abd9-4d481af3f5e3"),
    )

    asset = hook.create_data_asset(params)

    assert body(only_request(httpserver)) == {
        "name": "Data asset From API",
        "description": "An example for creating data asset from CO API",
        "mount": "ProteinFile",
        "tags": ["proteomics", "bioinformatics"],
        "source": {"computation": {"id": "c229ed13-ec06-43d0-abd9-4d481af3f5e3"}},
    }
    assert asset.state == DataAssetState.DRAFT and not asset.is_terminal
    assert asset.type == DataAssetType.DATASET
    assert asset.last_used == 0 and asset.size == 1024 and asset.files == 3


def test_seed_placeholder_values_do_not_crash(httpserver: HTTPServer, hook: Any) -> None:
    # The seed page's answer taken literally: every value is a placeholder string.
    httpserver.expect_request(f"/api/v1/data_assets/{ASSET_ID}").respond_with_json(
        {
            "created": "created ID",
            "description": "the description provided",
            "files": "the number of the files in the datset",
            "id": "dataset's ID",
            "lastUsed": 0,
            "name": "name of the dataset",
            "sizeInBytes": "size of the dataset",
            "state": "DATA_ASSET_STATE_DRAFT",
            "tags": "the tags provided",
            "type": "DATA_ASSET_TYPE_DATASET",
        }
    )

    asset = hook.get_data_asset(ASSET_ID)

    assert asset.state == DataAssetState.DRAFT
    assert asset.created is None and asset.files is None and asset.size is None
    assert asset.tags == ["the tags provided"]


def test_update_data_asset_sends_the_seed_body(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request(f"/api/v1/data_assets/{ASSET_ID}", method="PUT").respond_with_json(SEED_UPDATED_ASSET)
    update = DataAssetUpdate(
        name="Modified The Name",
        description="a new description from the API!",
        tags=["I", "Am", "New"],
        mount="NewMount",
    )

    asset = hook.update_data_asset(ASSET_ID, update)

    assert body(only_request(httpserver)) == {
        "name": "Modified The Name",
        "description": "a new description from the API!",
        "tags": ["I", "Am", "New"],
        "mount": "NewMount",
    }
    assert asset.ready and asset.tags == ["I", "Am", "New"] and asset.size == 4594062


def test_update_data_asset_custom_metadata(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request(f"/api/v1/data_assets/{ASSET_ID}", method="PUT").respond_with_json(SEED_UPDATED_ASSET)

    hook.update_data_asset(ASSET_ID, DataAssetUpdate(custom_metadata={"study": "S1", "collected": 1682956260}))

    assert body(only_request(httpserver)) == {"custom_metadata": {"study": "S1", "collected": 1682956260}}


def test_get_data_asset_async_and_failed_state(httpserver: HTTPServer, hook: Any, send: Any) -> None:
    httpserver.expect_request(f"/api/v1/data_assets/{ASSET_ID}").respond_with_json(
        {"id": ASSET_ID, "name": "x", "state": "failed", "failure_reason": "no results", "type": "result"}
    )

    asset = send(hook, endpoints.get_data_asset(ASSET_ID))

    assert asset.failed and asset.is_terminal and "no results" in asset.describe()
    assert asset.owner is None and asset.mount is None


def test_aget_data_asset(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request(f"/api/v1/data_assets/{ASSET_ID}").respond_with_json(
        {"id": ASSET_ID, "name": "x", "state": "ready", "type": "model"}
    )

    asset = asyncio.run(hook.aget_data_asset(ASSET_ID))

    assert asset.ready and asset.type == DataAssetType.MODEL


def test_delete_data_asset(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request(f"/api/v1/data_assets/{ASSET_ID}", method="DELETE").respond_with_data("", status=204)

    hook.delete_data_asset(ASSET_ID)

    assert only_request(httpserver).method == "DELETE"


def test_transfer_data_asset_body(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request(f"/api/v1/data_assets/{ASSET_ID}/transfer", method="POST").respond_with_data("")

    hook.transfer_data_asset(ASSET_ID, "bucket-1", "pre/", force=True)

    assert body(only_request(httpserver)) == {
        "target": {"aws": {"bucket": "bucket-1", "prefix": "pre/"}},
        "force": True,
    }


def test_custom_metadata(httpserver: HTTPServer, hook: Any, send: Any) -> None:
    schema = {
        "fields": [
            {"name": "study", "type": "string", "required": True},
            {"name": "kind", "type": "string", "allowed_values": ["a", "b"], "multiple": True},
            {"name": "collected", "type": "date", "range": {"min": 0, "max": 9}},
        ],
        "categories": ["lab"],
    }
    httpserver.expect_request("/api/v1/custom_metadata", method="GET").respond_with_json(schema)

    got = send(hook, endpoints.get_custom_metadata())

    assert [f.name for f in got.fields] == ["study", "kind", "collected"]
    assert got.fields[0].required and got.fields[1].multiple and got.fields[2].range == {"min": 0, "max": 9}
    assert got.categories == ["lab"]
    assert got.problems({"study": "S", "kind": ["a", "c"]}) == ["'kind' must be one of ['a', 'b'], got 'c'"]


def test_empty_and_204_answers_parse_to_none(httpserver: HTTPServer, hook: Any, send: Any) -> None:
    httpserver.expect_request(f"/api/v1/computations/{COMPUTATION_ID}", method="DELETE").respond_with_data(
        "", status=204
    )

    assert send(hook, endpoints.delete_computation(COMPUTATION_ID)) is None


def test_non_json_success_body_is_a_clear_error(httpserver: HTTPServer, hook: Any, send: Any) -> None:
    from airflow_provider_codeocean.errors import CodeOceanApiError

    httpserver.expect_request(f"/api/v1/computations/{COMPUTATION_ID}").respond_with_data(
        "<html>login page</html>", content_type="text/html"
    )

    with pytest.raises(CodeOceanApiError, match="not JSON") as info:
        send(hook, endpoints.get_computation(COMPUTATION_ID))
    assert info.value.status_code == 200
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    ("make", "method", "path", "query", "sent"),
    [
        (lambda: endpoints.list_results("c1", "out"), "POST", "computations/c1/results", "", {"path": "out"}),
        (lambda: endpoints.get_result_file_urls("c1", "a b.txt"), "GET", "computations/c1/results/urls",
         "path=a+b.txt", None),
        (lambda: endpoints.list_data_asset_files("d1"), "POST", "data_assets/d1/files", "", {"path": ""}),
        (lambda: endpoints.get_data_asset_file_urls("d1", "x/y"), "GET", "data_assets/d1/files/urls",
         "path=x%2Fy", None),
        (lambda: endpoints.search_capsules({"query": "q"}, kind="pipelines"), "POST", "pipelines/search", "",
         {"query": "q"}),
        (lambda: endpoints.get_data_asset_permissions("d1"), "GET", "data_assets/d1/permissions", "", None),
    ],
)  # fmt: skip
def test_endpoint_shapes_sync_and_async(
    httpserver: HTTPServer, hook: Any, send: Any, make: Any, method: str, path: str, query: str, sent: Any
) -> None:
    httpserver.expect_request(f"/api/v1/{path}", method=method).respond_with_json({})

    send(hook, make())

    request = only_request(httpserver)
    assert request.query_string.decode() == query
    assert body(request) == sent
    if sent is not None:
        assert json.loads(request.get_data()) == sent and request.headers["Content-Type"] == "application/json"
