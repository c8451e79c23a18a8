"""Mistakes are caught before compute is spent: when the DAG is parsed if the argument is literal, right
after rendering if it is templated, and against Code Ocean (GETs only) right before the run is started."""

from __future__ import annotations

import datetime
from typing import Any

import pendulum
import pytest

from airflow_provider_codeocean.errors import CodeOceanConfigError, CodeOceanNotFoundError
from tests.dagtest import load_dag, task_states
from tests.operators.test_computation_support import ECHO, PIPELINE, make_context, make_operator
from tests.operators.test_data_asset_support import NESTED, run_capsule

ACQUIRED = int(datetime.datetime(2026, 3, 2, tzinfo=datetime.timezone.utc).timestamp())


def posts(emulator: Any) -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if r["method"] in ("POST", "PUT")]


def on_march_2(dag: Any, conf: dict[str, Any]) -> Any:
    """``dag.test()`` for logical date 2026-03-02 (``{{ ds }}``), under either Airflow's keyword."""
    from tests.airflow_version import AIRFLOW_V_3_0_PLUS

    key = "logical_date" if AIRFLOW_V_3_0_PLUS else "execution_date"
    return dag.test(run_conf=conf, **{key: pendulum.datetime(2026, 3, 2)})


def rendered(**kwargs: Any) -> Any:
    """An operator whose arguments arrive as rendering leaves them (not checked when it was built)."""
    op = make_operator(capsule_id="{{ params.capsule_id }}")
    for key, value in {"capsule_id": None, **kwargs}.items():
        setattr(op, key, value)
    return op


# Item 2: shapes, when the DAG is parsed and again after rendering


BAD_SHAPES = [
    ({"capsule_id": ECHO[:-4]}, "capsule_id must be a Code Ocean id, a UUID"),
    ({"capsule_id": ECHO, "data_assets": [{"id": "4bc97533-6eb4", "mount": "x"}]}, "data asset id must be"),
    ({"capsule_id": ECHO, "parameters": ["a"], "named_parameters": {"message": "b"}}, "not both"),
    (
        {
            "pipeline_id": ECHO,
            "processes": [{"name": "capsule_a_1", "parameters": ["a"], "named_parameters": {"m": "b"}}],
        },
        "process 'capsule_a_1': give parameters",
    ),
    ({"capsule_id": ECHO, "named_parameters": {"my param": "x"}}, "the parameter name 'my param' is not valid"),
    ({"capsule_id": ECHO, "named_parameters": {"a;rm": "x"}}, "the parameter name 'a;rm' is not valid"),
    ({"capsule_id": ECHO, "named_parameters": {"message": "a\x00b"}}, "contains a NUL byte"),
    ({"capsule_id": ECHO, "parameters": ["x" * (64 * 1024 + 1)]}, "over the 65536-byte limit"),
    ({"capsule_id": ECHO, "data_assets": [{"id": ECHO, "mount": "data\n"}]}, "must be a folder name"),
]


@pytest.mark.parametrize(("kwargs", "fragment"), BAD_SHAPES)
def test_a_literal_mistake_fails_when_the_dag_is_parsed(emulator: Any, kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(CodeOceanConfigError, match=fragment):
        make_operator(**kwargs)

    assert emulator.requests() == []


@pytest.mark.parametrize(("kwargs", "fragment"), BAD_SHAPES)
def test_a_rendered_mistake_fails_before_any_request(emulator: Any, kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(CodeOceanConfigError, match=fragment):
        rendered(**kwargs).execute(make_context())

    assert emulator.requests() == []
    assert emulator.counts()["computations_created"] == 0


def test_templated_arguments_wait_for_rendering_but_literal_names_do_not() -> None:
    make_operator(capsule_id="{{ params.c }}", parameters="{{ params.p }}", named_parameters={"a": "b"})
    make_operator(pipeline_id="{{ params.p }}", processes=[{"name": "{{ params.process }}"}])
    with pytest.raises(CodeOceanConfigError, match="the parameter name 'bad name' is not valid"):
        make_operator(capsule_id=ECHO, named_parameters={"bad name": "{{ params.value }}"})


def test_the_emulator_gives_uuids_and_refuses_what_the_client_refuses(emulator: Any) -> None:
    from airflow_provider_codeocean.models.params import PARAM_NAME, check_id

    for capsule in emulator.capsules():
        check_id(capsule["id"], "capsule id")
    from airflow_provider_codeocean.testing.backend.runs import MAX_PARAMETER_BYTES, PARAM_NAME_RE

    assert PARAM_NAME.pattern in PARAM_NAME_RE.pattern
    assert MAX_PARAMETER_BYTES == 64 * 1024


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"name": " "}, "name must be a non-empty string"),
        ({"mount": "data\n"}, "mount must be a folder name"),
        ({"tags": "a,b"}, "tags must be a list of strings"),
        ({"custom_metadata": ["acquired"]}, "custom_metadata must be a dict"),
        ({"computation_id": ECHO[:8]}, "computation_id must be a Code Ocean id"),
        ({"data_asset_ids": [ECHO, "x"], "computation_id": None}, "data_asset_ids item must be"),
    ],
)
def test_a_literal_data_asset_mistake_fails_when_the_dag_is_parsed(kwargs: dict[str, Any], fragment: str) -> None:
    from airflow_provider_codeocean.operators.data_asset import (
        CodeOceanCreateDataAssetOperator,
        CodeOceanUpdateDataAssetOperator,
    )

    fields = {"name": "n", "computation_id": ECHO, **kwargs}
    with pytest.raises(CodeOceanConfigError, match=fragment):
        CodeOceanCreateDataAssetOperator(task_id="capture", **fields)
    if "computation_id" not in kwargs and "data_asset_ids" not in kwargs:
        with pytest.raises(CodeOceanConfigError, match=fragment):
            CodeOceanUpdateDataAssetOperator(task_id="update", data_asset_id=ECHO, **kwargs)
    # Templated, the same argument waits for rendering.
    CodeOceanCreateDataAssetOperator(task_id="t", name="{{ params.n }}", computation_id="{{ params.c }}")


# Item 2: against Code Ocean, before the POST


def test_an_unknown_named_parameter_lists_the_app_panel(emulator: Any) -> None:
    with pytest.raises(CodeOceanConfigError) as raised:
        make_operator(capsule_id=ECHO, named_parameters={"mesage": "hi"}).execute(make_context())

    assert str(raised.value) == (
        f"named_parameters ['mesage'] are not parameters of capsule {ECHO}; its App Panel has: ['message', 'repeat']"
    )
    assert posts(emulator) == []
    assert emulator.counts(ECHO)["computations_created"] == 0


def test_an_unknown_process_lists_the_pipeline_processes(emulator: Any) -> None:
    op = make_operator(pipeline_id=PIPELINE, processes=[{"name": "capsule_align", "parameters": ["x"]}])

    with pytest.raises(CodeOceanConfigError, match=r"processes \['capsule_align'\] are not processes of pipeline") as e:
        op.execute(make_context())

    assert "['capsule_align_1', 'capsule_summarize_2']" in str(e.value)
    assert posts(emulator) == []


def test_a_capsule_given_as_pipeline_id_is_named_a_capsule(emulator: Any) -> None:
    with pytest.raises(CodeOceanConfigError) as raised:
        make_operator(pipeline_id=ECHO).execute(make_context())

    assert str(raised.value) == (
        f"{ECHO} is a capsule, not a pipeline: give it as capsule_id (or use CodeOceanRunCapsuleOperator)"
    )
    assert posts(emulator) == []
    assert emulator.counts()["computations_created"] == 0


def test_a_pipeline_given_as_capsule_id_is_named_a_pipeline(httpserver: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A deployment whose capsules/ route does not answer for pipelines (the emulator's does, as before 4.1).
    from tests.hook.util import set_connection

    set_connection(monkeypatch, httpserver.url_for("/").rstrip("/"), retry_limit=0)
    httpserver.expect_request(f"/api/v1/capsules/{PIPELINE}").respond_with_json({"message": "not found"}, status=404)
    httpserver.expect_request(f"/api/v1/pipelines/{PIPELINE}").respond_with_json({"id": PIPELINE, "name": "p"})

    with pytest.raises(CodeOceanConfigError) as raised:
        make_operator(capsule_id=PIPELINE).execute(make_context())

    assert str(raised.value) == (
        f"{PIPELINE} is a pipeline, not a capsule: give it as pipeline_id (or use CodeOceanRunPipelineOperator)"
    )
    assert [r.method for r, _ in httpserver.log] == ["GET", "GET"]


@pytest.mark.parametrize(
    "fault", [f"403 method=GET path=/api/v1/capsules/{ECHO}", f"503 path=/api/v1/capsules/{ECHO}/app_panel"]
)
def test_a_check_that_cannot_read_does_not_block_the_run(emulator: Any, fault: str) -> None:
    emulator.add_fault(fault)

    result = make_operator(capsule_id=ECHO, named_parameters={"message": "hi"}).execute(make_context())

    assert result["end_status"] == "succeeded"
    assert emulator.counts(ECHO)["computations_created"] == 1


def test_a_good_run_still_runs_once(emulator: Any) -> None:
    result = make_operator(capsule_id=ECHO, named_parameters={"message": "hi"}).execute(make_context())

    assert result["end_status"] == "succeeded"
    assert emulator.counts(ECHO)["computations_created"] == 1


# Item 1: custom metadata that templates fill


def test_templated_custom_metadata_is_converted_to_the_schema(codeocean_emulator: Any, airflow_db: None) -> None:
    computation = run_capsule(codeocean_emulator, ECHO, ["hello"])
    dag = load_dag("checks_e2e", "metadata_from_templates")

    dag_run = on_march_2(dag, {"computation_id": computation["id"]})

    assert task_states(dag_run) == {"capture": "success", "update": "success"}
    assert codeocean_emulator.count_data_assets() == 1
    (asset,) = codeocean_emulator.app.store.data_assets.values()
    assert asset.custom_metadata == {"acquired": ACQUIRED, "sample_count": 6, "project": "p"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-02", ACQUIRED),
        ("2026-03-02T00:00:00Z", ACQUIRED),
        ("2026-03-02T01:00:00+01:00", ACQUIRED),
        ("2026-03-02 00:00:00", ACQUIRED),
        (str(ACQUIRED), ACQUIRED),
        (ACQUIRED + 0.5, ACQUIRED + 0.5),
        (datetime.date(2026, 3, 2), ACQUIRED),
        (datetime.datetime(2026, 3, 2, tzinfo=datetime.timezone.utc), ACQUIRED),
        (pendulum.datetime(2026, 3, 2), ACQUIRED),
    ],
)
def test_date_fields_take_every_documented_form(emulator: Any, value: Any, expected: Any) -> None:
    from airflow_provider_codeocean._common.inputs import check_metadata, metadata_from
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

    schema = CodeOceanHook().get_custom_metadata()

    values = check_metadata(schema, metadata_from({"acquired": value, "sample_count": "12", "keywords": ["a"]}))

    assert values == {"acquired": expected, "sample_count": 12, "keywords": ["a"]}


def test_a_value_that_cannot_be_converted_gets_one_error(emulator: Any) -> None:
    from airflow_provider_codeocean.operators.data_asset import CodeOceanCreateDataAssetOperator

    computation = run_capsule(emulator, ECHO)
    op = CodeOceanCreateDataAssetOperator(
        task_id="capture",
        name="x",
        computation_id=computation["id"],
        custom_metadata={"acquired": "last tuesday", "sample_count": "many"},
    )

    with pytest.raises(CodeOceanConfigError) as raised:
        op.execute(make_context())

    message = str(raised.value)
    assert message.count("'acquired'") == 1 and message.count("'sample_count'") == 1
    assert "'acquired' is a date field and cannot take 'last tuesday': give epoch seconds" in message
    assert "'sample_count' is a number field and cannot take 'many': give a number or a numeric string" in message
    assert emulator.count_data_assets() == 0


# Item 2: the capture task's metadata, checked by the run task


def test_check_capture_refuses_the_run_when_its_capture_would_fail(codeocean_emulator: Any, airflow_db: None) -> None:
    dag = load_dag("checks_e2e", "check_capture_first")

    dag_run = on_march_2(dag, {"n": "lots"})

    assert task_states(dag_run)["run"] == "failed"
    assert codeocean_emulator.counts()["computations_created"] == 0
    assert codeocean_emulator.count_data_assets() == 0


def test_check_capture_lets_a_good_run_through(codeocean_emulator: Any, airflow_db: None) -> None:
    dag = load_dag("checks_e2e", "check_capture_first")

    dag_run = on_march_2(dag, {})

    assert task_states(dag_run) == {"run": "success", "capture": "success"}
    assert codeocean_emulator.counts()["computations_created"] == 1
    (asset,) = codeocean_emulator.app.store.data_assets.values()
    assert asset.custom_metadata == {"acquired": ACQUIRED, "sample_count": 3}


def test_check_capture_message_names_the_capture_task(emulator: Any) -> None:
    from airflow.providers.common.compat.sdk import DAG

    from airflow_provider_codeocean.operators.data_asset import CodeOceanCreateDataAssetOperator

    with DAG("capture_check", schedule=None, start_date=datetime.datetime(2024, 1, 1)):
        run = make_operator(capsule_id=ECHO, check_capture="capture")
        CodeOceanCreateDataAssetOperator(
            task_id="capture",
            name="n",
            computation_id="{{ ti.xcom_pull(task_ids='run')['id'] }}",
            custom_metadata={"sample_count": "{{ params.n }}"},
            tags=["ok"],
        )
    context = make_context()
    context["params"] = {"n": "lots"}

    with pytest.raises(CodeOceanConfigError) as raised:
        run.execute(context)

    assert str(raised.value).startswith("the capture task 'capture' would fail after this run: custom_metadata: ")
    assert "'sample_count' is a number field and cannot take 'lots'" in str(raised.value)
    assert posts(emulator) == []


# Item 9: connection host with a bad port


@pytest.mark.parametrize("host", ["acme.codeocean.com:abc", "https://acme.codeocean.com:99999", "https://[::1"])
def test_a_bad_port_in_the_host_names_the_field(host: str) -> None:
    from airflow_provider_codeocean.api.settings import normalise_domain

    with pytest.raises(CodeOceanConfigError, match="connection 'c': the host field is not a valid address"):
        normalise_domain(host, port=None, allow_http=False, conn_id="c")


def test_a_mount_with_a_trailing_newline_is_refused() -> None:
    from airflow_provider_codeocean.models.params import check_mount

    with pytest.raises(CodeOceanConfigError, match="must be a folder name"):
        check_mount("data\n")


# Item 10: a missing result path lists what is there


def test_reading_a_missing_result_lists_its_folder(codeocean_emulator: Any) -> None:
    from airflow_provider_codeocean.operators.results import CodeOceanReadResultOperator

    nested = run_capsule(codeocean_emulator, NESTED)
    op = CodeOceanReadResultOperator(task_id="read", computation_id=nested["id"], path="a/b/deep.json")

    with pytest.raises(CodeOceanNotFoundError) as raised:
        op.execute(make_context())

    assert f"computation {nested['id']} has no result 'a/b/deep.json'; a/b/ holds: c/, deep.txt" in str(raised.value)


def test_downloading_a_missing_folder_lists_the_nearest_one(codeocean_emulator: Any, tmp_path: Any) -> None:
    from airflow_provider_codeocean.operators.results import CodeOceanDownloadResultsOperator

    nested = run_capsule(codeocean_emulator, NESTED)
    op = CodeOceanDownloadResultsOperator(
        task_id="dl", computation_id=nested["id"], path="plot/x", destination=str(tmp_path / "out")
    )

    with pytest.raises(CodeOceanNotFoundError) as raised:
        op.execute(make_context())

    assert "has no result 'plot/x'; the results folder holds: a/, big.txt, logs/" in str(raised.value)
    assert not (tmp_path / "out").exists()
