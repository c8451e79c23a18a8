"""The models' outcome helpers and the validation of request bodies (bad input fails before any request)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_codeocean.errors import CodeOceanConfigError
from airflow_provider_codeocean.models import (
    AWSTarget,
    Computation,
    ComputationEndStatus,
    ComputationState,
    CustomMetadataSchema,
    DataAsset,
    DataAssetParams,
    DataAssetState,
    DataAssetUpdate,
    GroupPermission,
    NamedParameter,
    Permissions,
    RunParams,
    UserPermission,
)
from airflow_provider_codeocean.models.params import (
    AWSSource,
    ComputationSource,
    check_id,
    check_mount,
    check_tags,
    safe_mount,
)

ID = "4bc97533-6eb4-48ac-966f-648548a756d2"
# Ids are full UUIDs (a shorter one is refused before sending).
A1, A2, C1 = (f"00000000-0000-4000-8000-00000000000{n}" for n in (1, 2, 3))


def computation(**fields: Any) -> Computation:
    return Computation.from_json({"id": "c1", "name": "Run 1", **fields})


# Computation outcome


@pytest.mark.parametrize(
    ("fields", "outcome"),
    [
        ({"state": "completed", "end_status": "succeeded", "exit_code": 0}, "succeeded"),
        ({"state": "completed", "end_status": "succeeded"}, "succeeded"),  # exit_code absent
        ({"state": "completed", "end_status": "succeeded", "exit_code": 1}, "failed"),
        ({"state": "completed", "end_status": "succeeded", "exit_code": "2"}, "failed"),
        ({"state": "completed", "end_status": "failed", "exit_code": 1}, "failed"),
        ({"state": "completed", "end_status": "failed", "exit_code": 0}, "failed"),
        ({"state": "completed"}, "failed"),  # no end status: not a success
        ({"state": "completed", "end_status": "stopped"}, "stopped"),
        ({"state": "failed"}, "failed"),
        ({"state": "failed", "end_status": "succeeded", "exit_code": 0}, "failed"),
        ({"state": "failed", "end_status": "stopped"}, "stopped"),
        ({"state": "initializing"}, "running"),
        ({"state": "running"}, "running"),
        ({"state": "finalizing", "end_status": "succeeded"}, "running"),
        ({"state": "queued"}, "running"),
        ({}, "running"),
    ],
)
def test_outcome(fields: dict[str, Any], outcome: str) -> None:
    run = computation(**fields)
    assert run.outcome == outcome
    assert run.succeeded is (outcome == "succeeded")
    assert run.failed is (outcome == "failed")
    assert run.stopped is (outcome == "stopped")
    assert run.is_terminal is (outcome != "running")


def test_unknown_values_are_kept_as_text() -> None:
    run = computation(state="queued", end_status="evicted")
    assert run.state == "queued" and not isinstance(run.state, ComputationState)
    assert run.end_status == "evicted" and not isinstance(run.end_status, ComputationEndStatus)
    assert not run.is_terminal


def test_known_values_are_enums_that_compare_as_text() -> None:
    run = computation(state="completed", end_status="succeeded")
    assert run.state is ComputationState.COMPLETED and run.state == "completed"


def test_describe_and_to_dict() -> None:
    raw = {"id": "c1", "name": "Run 1", "state": "completed", "end_status": "failed", "exit_code": 3, "x": [1]}
    run = Computation.from_json(raw)
    assert run.describe() == "computation c1 state=completed end_status=failed exit_code=3"
    assert run.to_dict() == raw and run.to_dict() is not run.raw


def test_lenient_parsing_of_odd_values() -> None:
    run = Computation.from_json(
        {
            "id": 12,
            "created": "1689691505",
            "run_time": 1.9,
            "has_results": "true",
            "data_assets": [{"id": "a"}, "junk"],
            "parameters": "not a list",
        }
    )
    assert run.id == "12" and run.created == 1689691505 and run.run_time == 1
    assert run.has_results is True
    assert run.data_asset_ids == ["a"] and run.parameters == []
    assert Computation.from_json(None).id == "" and Computation.from_json([1]).state is None


def test_parameter_values_are_the_positional_ones() -> None:
    run = computation(parameters=[{"value": "a"}, {"name": "k", "value": "b"}, {"value": "c"}])
    assert run.parameter_values == ["a", "c"]


# Data asset state


@pytest.mark.parametrize(
    ("state", "ready", "failed", "terminal"),
    [
        ("draft", False, False, False),
        ("DATA_ASSET_STATE_DRAFT", False, False, False),
        ("ready", True, False, True),
        ("READY", True, False, True),
        ("DATA_ASSET_STATE_READY", True, False, True),
        ("failed", False, True, True),
        ("archiving", False, False, False),
        (None, False, False, False),
    ],
)
def test_data_asset_state(state: Any, ready: bool, failed: bool, terminal: bool) -> None:
    asset = DataAsset.from_json({"id": "d1", "name": "x", "state": state})
    assert (asset.ready, asset.failed, asset.is_terminal) == (ready, failed, terminal)


def test_data_asset_seed_spellings() -> None:
    asset = DataAsset.from_json(
        {"id": "d1", "state": "DATA_ASSET_STATE_DRAFT", "type": "DATA_ASSET_TYPE_RESULT", "lastUsed": 5,
         "sizeInBytes": "42"}
    )  # fmt: skip
    assert asset.state is DataAssetState.DRAFT and asset.type == "result"
    assert asset.last_used == 5 and asset.size == 42


def test_data_asset_documented_fields_win_over_seed_spellings() -> None:
    asset = DataAsset.from_json({"id": "d1", "last_used": 1, "lastUsed": 2, "size": 3, "sizeInBytes": 4})
    assert asset.last_used == 1 and asset.size == 3


# RunParams.build


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give exactly one of capsule_id or pipeline_id"),
        ({"capsule_id": ID, "pipeline_id": ID}, "give exactly one of capsule_id or pipeline_id"),
        ({"capsule_id": "has space"}, "capsule_id must be a Code Ocean id"),
        ({"pipeline_id": "../etc"}, "pipeline_id must be a Code Ocean id"),
        ({"capsule_id": 123}, "capsule_id must be a Code Ocean id"),
        ({"capsule_id": ID, "version": "latest"}, "version must be a whole number, got 'latest'"),
        ({"capsule_id": ID, "version": 0}, "version must be 1 or more"),
        ({"capsule_id": ID, "resume_run_id": "a b"}, "resume_run_id must be a Code Ocean id"),
        ({"capsule_id": ID, "data_assets": [{"id": ID}]}, f"data asset {ID} has no mount"),
        ({"capsule_id": ID, "data_assets": [{"id": ID, "mount": ""}]}, "has no mount"),
        ({"capsule_id": ID, "data_assets": [{"id": ID, "mount": "a/b"}]}, "mount of data asset"),
        ({"capsule_id": ID, "data_assets": [{"id": ID, "mount": "has space"}]}, "no '/' or spaces"),
        ({"capsule_id": ID, "data_assets": [{"mount": "m"}]}, "data asset id must be a Code Ocean id"),
        ({"capsule_id": ID, "data_assets": "abc"}, "data_assets must be a list"),
        ({"capsule_id": ID, "data_assets": [ID]}, "each data asset must be"),
        (
            {"capsule_id": ID, "data_assets": [{"id": A1, "mount": "m"}, {"id": A2, "mount": "m"}]},
            "share the mount(s) ['m']",
        ),
        ({"capsule_id": ID, "parameters": "a b"}, "parameters must be a list of strings"),
        ({"capsule_id": ID, "parameters": ["a", 1, 2.5]}, "convert these: [1, 2.5]"),
        ({"capsule_id": ID, "named_parameters": {"alpha": 1}}, "the value of 'alpha' must be a string"),
        ({"capsule_id": ID, "named_parameters": {"": "x"}}, "a parameter name must be a non-empty string"),
        ({"capsule_id": ID, "named_parameters": "alpha=1"}, "must be a dict or a list of (name, value) pairs"),
        ({"capsule_id": ID, "named_parameters": [("a", "1", "extra")]}, "items must be (name, value) pairs"),
        ({"capsule_id": ID, "named_parameters": [{"param_name": "a", "value": None}]}, "value of 'a'"),
        ({"pipeline_id": ID, "processes": [{"parameters": ["x"]}]}, "each process needs a 'name'"),
        ({"pipeline_id": ID, "processes": "p1"}, "processes must be a list"),
        (
            {"pipeline_id": ID, "processes": [{"name": "p1", "named_parameters": {"k": 3}}]},
            "named_parameters of process 'p1': the value of 'k' must be a string",
        ),
    ],
)
def test_run_params_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(CodeOceanConfigError) as info:
        RunParams.build(**kwargs)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "named",
    [
        {"alpha": "1", "beta": "x y"},
        [("alpha", "1"), ("beta", "x y")],
        [["alpha", "1"], ["beta", "x y"]],
        [{"param_name": "alpha", "value": "1"}, {"param_name": "beta", "value": "x y"}],
        [NamedParameter("alpha", "1"), NamedParameter("beta", "x y")],
    ],
)
def test_named_parameters_forms(named: Any) -> None:
    params = RunParams.build(capsule_id=ID, named_parameters=named)
    assert params.to_json()["named_parameters"] == [
        {"param_name": "alpha", "value": "1"},
        {"param_name": "beta", "value": "x y"},
    ]


def test_run_params_body_leaves_unset_fields_out() -> None:
    params = RunParams.build(capsule_id=f" {ID} ", version="2", parameters=[], resume_run_id="", nextflow_profile="")
    assert params.to_json() == {"capsule_id": ID, "version": 2, "parameters": []}
    assert params.target_id == ID and not params.is_pipeline


def test_run_params_data_assets_forms() -> None:
    one = {"id": ID, "mount": "Alignment"}
    assert RunParams.build(capsule_id=ID, data_assets=[one]).to_json()["data_assets"] == [one]
    assert RunParams.build(capsule_id=ID, data_assets=one).to_json()["data_assets"] == [one]
    assert RunParams.build(capsule_id=ID, data_assets=None).data_assets == []
    assert RunParams.build(capsule_id=ID, data_assets=()).data_assets == []


def test_pipeline_processes_as_a_mapping() -> None:
    params = RunParams.build(pipeline_id=ID, processes={"capsule_a_1": {"parameters": ["x"]}, "capsule_b_2": None})
    assert params.is_pipeline
    assert params.to_json()["processes"] == [{"name": "capsule_a_1", "parameters": ["x"]}, {"name": "capsule_b_2"}]


# DataAssetParams and DataAssetUpdate


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": " "}, "a data asset needs a non-empty name"),
        ({"mount": "a/b"}, "mount must be a folder name"),
        ({"mount": ".."}, "mount must be a folder name"),
        ({"tags": "one"}, "tags must be a list of strings"),
        ({"tags": ["ok", ""]}, "tags must be non-empty strings"),
        ({"source": None}, "give exactly one of a source"),
        ({"data_asset_ids": [A1]}, "give exactly one of a source"),
        ({"source": ComputationSource(id="not valid")}, "source computation id must be a Code Ocean id"),
        ({"source": AWSSource(bucket="b"), "target": AWSTarget(bucket="t")}, "external target applies only"),
        ({"custom_metadata": ["x"]}, "custom_metadata must be a dict"),
    ],
)
def test_data_asset_params_validation(kwargs: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {"name": "n", "mount": "m", "source": ComputationSource(id=C1), **kwargs}
    with pytest.raises(CodeOceanConfigError, match=message.replace("(", r"\(")):
        DataAssetParams(**fields)


def test_combined_data_asset_params() -> None:
    params = DataAssetParams(name="both", mount="both", data_asset_ids=[A1, A2], tags=["t"])
    assert params.to_json() == {"name": "both", "mount": "both", "tags": ["t"], "data_asset_ids": [A1, A2]}
    with pytest.raises(CodeOceanConfigError, match="data_asset_ids item"):
        DataAssetParams(name="x", mount="x", data_asset_ids=[A1, "no way"])


def test_external_result_asset_body() -> None:
    params = DataAssetParams(
        name="r", mount="r", source=ComputationSource(id=C1, path="out"), target=AWSTarget(bucket="b", prefix="p")
    )
    assert params.to_json() == {
        "name": "r",
        "mount": "r",
        "tags": [],
        "source": {"computation": {"id": C1, "path": "out"}},
        "target": {"aws": {"bucket": "b", "prefix": "p"}},
    }


def test_data_asset_update_validation_and_body() -> None:
    assert DataAssetUpdate().to_json() == {}
    assert DataAssetUpdate(tags=[]).to_json() == {"tags": []}
    with pytest.raises(CodeOceanConfigError, match="name cannot be empty"):
        DataAssetUpdate(name="")
    with pytest.raises(CodeOceanConfigError, match="mount must be a folder name"):
        DataAssetUpdate(mount="a b")
    with pytest.raises(CodeOceanConfigError, match="tags must be"):
        DataAssetUpdate(tags=[None])  # type: ignore[list-item]


# Helpers


def test_check_helpers() -> None:
    assert check_id(f" {ID} ", "x") == ID
    assert check_mount("My.Data-1_x") == "My.Data-1_x"
    assert check_tags(None) == [] and check_tags(("a", "b")) == ["a", "b"]
    assert safe_mount("  My results: run #3 ") == "My_results_run_3"
    assert safe_mount("///") == "data"
    assert len(safe_mount("x" * 300)) == 255


# Permissions


def test_permissions_missing_from() -> None:
    wanted = Permissions(
        users=[UserPermission("A@x.org", "editor"), UserPermission("b@x.org", "viewer")],
        groups=[GroupPermission("lab", "viewer")],
        everyone="viewer",
    )
    actual = Permissions.from_json(
        {"users": [{"email": "a@x.org", "role": "editor"}], "groups": [{"group": "lab", "role": "viewer"}]}
    )
    assert wanted.missing_from(actual) == ["user b@x.org as viewer", "everyone as viewer"]
    assert Permissions().missing_from(actual) == []


# Custom metadata


SCHEMA = CustomMetadataSchema.from_json(
    {
        "fields": [
            {"name": "study", "type": "string", "required": True},
            {"name": "count", "type": "number"},
            {"name": "collected", "type": "date"},
            {"name": "kind", "type": "string", "allowed_values": ["a", "b"], "multiple": True},
            {"name": "level", "allowed_values": ["1", "2"]},
        ]
    }
)


@pytest.mark.parametrize(
    ("values", "problems"),
    [
        ({"study": "S"}, []),
        ({"study": "S", "count": 3.5, "collected": 1682956260, "kind": ["a", "b"], "level": 2}, []),
        ({}, ["required key 'study' is missing"]),
        ({"study": "S", "extra": 1}, ["unknown key 'extra'"]),
        ({"study": 5}, ["'study' must be a string, got 5"]),
        ({"study": "S", "count": "3"}, ["'count' must be a number (number), got '3'"]),
        ({"study": "S", "collected": True}, ["'collected' must be a number (date), got True"]),
        ({"study": "S", "kind": ["a", "z"]}, ["'kind' must be one of ['a', 'b'], got 'z'"]),
        ({"study": "S", "level": 3}, ["'level' must be one of ['1', '2'], got 3"]),
    ],
)
def test_custom_metadata_problems(values: dict[str, Any], problems: list[str]) -> None:
    assert SCHEMA.problems(values) == problems
