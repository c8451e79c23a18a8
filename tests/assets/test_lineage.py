"""OpenLineage facets of the run and data asset operators, read from what the task returned.

``apache-airflow-providers-openlineage`` is in every locked test environment, so the facet tests call
the real ``get_openlineage_facets_on_complete`` with the real provider and client classes. Without the
provider the operators must answer None: that is tested by making its imports fail. The listener path
(Airflow's OpenLineage listener calling the operators during ``dag.test()``, events written by the file
transport) is tested end to end in a subprocess.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_codeocean.assets import data_asset_uri
from airflow_provider_codeocean.operators.computation import CodeOceanRunCapsuleOperator, CodeOceanRunPipelineOperator
from airflow_provider_codeocean.operators.data_asset import (
    CodeOceanCreateDataAssetOperator,
    CodeOceanUpdateDataAssetOperator,
)
from tests.operators.test_computation_support import PIPELINE
from tests.operators.test_data_asset_support import ECHO, TINY, make_context

# Importing any of these must fail for the "without the provider" test.
OPENLINEAGE_ROOTS = ("airflow.providers.openlineage", "openlineage")


class _TI:
    """What the facet methods read of a task instance: the task's return value."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.asked: list[str] = []

    def xcom_pull(self, task_ids: str) -> Any:
        self.asked.append(task_ids)
        return self.value


def _run_and_capture(emulator: Any) -> tuple[Any, dict[str, Any], Any, dict[str, Any], dict[str, Any]]:
    """Create ``raw``, run ECHO with it mounted, capture the run: (run op, run, capture op, captured, raw)."""
    raw = CodeOceanCreateDataAssetOperator(
        task_id="raw", name="raw", aws_source={"bucket": "raw-data"}, idempotent=False, poll_interval=TINY
    ).execute(make_context())
    run = CodeOceanRunCapsuleOperator(
        task_id="run", capsule_id=ECHO, parameters=["hi"], data_assets=[{"id": raw["id"], "mount": "raw"}],
        poll_interval=TINY,
    )  # fmt: skip
    computation = run.execute(make_context())
    capture = CodeOceanCreateDataAssetOperator(
        task_id="capture", name="captured", computation_id=computation, idempotent=False, poll_interval=TINY
    )
    asset = capture.execute(make_context())
    return run, computation, capture, asset, raw


def _namespace(emulator: Any) -> str:
    return "codeocean://" + emulator.base_url.split("://")[1].lower()


def _names(datasets: list[Any]) -> list[tuple[str, str]]:
    return [(d.namespace, d.name) for d in datasets]


def test_run_facets_name_the_mounted_inputs_the_capsule_and_the_computation(codeocean_emulator: Any) -> None:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.generated.base import InputDataset, JobFacet, RunFacet

    run, computation, _, _, raw = _run_and_capture(codeocean_emulator)
    ti = _TI(computation)

    lineage = run.get_openlineage_facets_on_complete(ti)

    # From what execute returned: no XCom round trip (the listener asks in a forked process).
    assert ti.asked == []
    assert isinstance(lineage, OperatorLineage)
    assert all(isinstance(d, InputDataset) for d in lineage.inputs)
    assert _names(lineage.inputs) == [(_namespace(codeocean_emulator), f"data_assets/{raw['id']}")]
    assert lineage.outputs == []
    job = lineage.job_facets["codeocean"]
    assert isinstance(job, JobFacet)
    assert (job.kind, job.id, job.version) == ("capsule", ECHO, None)
    facet = lineage.run_facets["codeocean_computation"]
    assert isinstance(facet, RunFacet)
    assert (facet.id, facet.state, facet.end_status, facet.exit_code) == (
        computation["id"],
        "completed",
        "succeeded",
        0,
    )
    assert facet.url == f"{codeocean_emulator.base_url}/computations/{computation['id']}"


def test_the_datasets_are_the_ones_the_asset_converter_gives(codeocean_emulator: Any) -> None:
    # What the OpenLineage provider makes of Asset("codeocean://<domain>/data_assets/<id>") (an outlet, an
    # asset event) is the same dataset the facets name: one data asset, one OpenLineage dataset.
    from airflow.providers.common.compat.assets import Asset

    from airflow_provider_codeocean.assets import convert_to_openlineage

    run, computation, capture, asset, raw = _run_and_capture(codeocean_emulator)
    inputs = run.get_openlineage_facets_on_complete(_TI(computation)).inputs
    outputs = capture.get_openlineage_facets_on_complete(_TI(asset)).outputs

    def converted(data_asset_id: str) -> list[tuple[str, str]]:
        return _names([convert_to_openlineage(Asset(data_asset_uri(codeocean_emulator.base_url, data_asset_id)))])

    assert _names(inputs) == converted(raw["id"])
    assert _names(outputs) == converted(asset["id"])


def test_an_operator_that_did_not_run_here_reads_the_xcom_return_value(codeocean_emulator: Any) -> None:
    run, computation, capture, asset, _ = _run_and_capture(codeocean_emulator)
    fresh_run = CodeOceanRunCapsuleOperator(task_id="run", capsule_id=ECHO)
    fresh_capture = CodeOceanCreateDataAssetOperator(task_id="capture", name="x", computation_id=computation["id"])
    run_ti, capture_ti = _TI(computation), _TI(asset)

    assert _names(fresh_run.get_openlineage_facets_on_complete(run_ti).inputs) == _names(
        run.get_openlineage_facets_on_complete(_TI(None)).inputs
    )
    assert _names(fresh_capture.get_openlineage_facets_on_complete(capture_ti).outputs) == _names(
        capture.get_openlineage_facets_on_complete(_TI(None)).outputs
    )
    assert (run_ti.asked, capture_ti.asked) == (["run"], ["capture"])


def test_the_job_facet_names_a_pipeline_and_a_rendered_version(codeocean_emulator: Any) -> None:
    op = CodeOceanRunPipelineOperator(task_id="pipe", pipeline_id=PIPELINE, version="{{ params.version }}")
    op.version = "3"  # as rendered from the template
    computation = {"id": "c0c0c0c0-0000-4000-8000-000000000001", "state": "running", "data_assets": []}

    lineage = op.get_openlineage_facets_on_complete(_TI(computation))

    job = lineage.job_facets["codeocean"]
    assert (job.kind, job.id, job.version) == ("pipeline", PIPELINE, 3)
    facet = lineage.run_facets["codeocean_computation"]
    assert (facet.id, facet.state, facet.end_status, facet.exit_code) == (computation["id"], "running", None, None)
    assert lineage.inputs == []


def test_a_data_asset_is_named_once_in_its_canonical_spelling(codeocean_emulator: Any) -> None:
    mounted = "0A1B2C3D-0000-4000-8000-00000000AAAA"
    computation = {
        "id": "c0c0c0c0-0000-4000-8000-000000000002",
        "data_assets": [{"id": mounted, "mount": "a"}, {"id": mounted.lower(), "mount": "b"}],
    }
    op = CodeOceanRunCapsuleOperator(task_id="run", capsule_id=ECHO)

    lineage = op.get_openlineage_facets_on_complete(_TI(computation))

    assert _names(lineage.inputs) == [(_namespace(codeocean_emulator), f"data_assets/{mounted.lower()}")]


def test_capture_facets_name_the_data_asset_and_the_run_inputs(codeocean_emulator: Any) -> None:
    _, computation, capture, asset, raw = _run_and_capture(codeocean_emulator)
    namespace = _namespace(codeocean_emulator)

    lineage = capture.get_openlineage_facets_on_complete(_TI(asset))

    assert _names(lineage.outputs) == [(namespace, f"data_assets/{asset['id']}")]
    # The inputs of the computation the asset was captured from (its provenance).
    assert _names(lineage.inputs) == [(namespace, f"data_assets/{raw['id']}")]
    assert lineage.job_facets == {}
    assert lineage.run_facets["codeocean_computation"].id == computation["id"]


def test_update_facets_name_the_data_asset(codeocean_emulator: Any) -> None:
    _, computation, _, asset, raw = _run_and_capture(codeocean_emulator)
    update = CodeOceanUpdateDataAssetOperator(task_id="update", data_asset_id=asset["id"], add_tags=["reviewed"])
    updated = update.execute(make_context())
    namespace = _namespace(codeocean_emulator)

    lineage = update.get_openlineage_facets_on_complete(_TI(updated))

    assert _names(lineage.outputs) == [(namespace, f"data_assets/{asset['id']}")]
    assert _names(lineage.inputs) == [(namespace, f"data_assets/{raw['id']}")]
    assert lineage.run_facets["codeocean_computation"].id == computation["id"]

    # An uploaded asset has no provenance: no inputs, no run facet.
    lineage = CodeOceanUpdateDataAssetOperator(
        task_id="update", data_asset_id=raw["id"], add_tags=["x"]
    ).get_openlineage_facets_on_complete(_TI(raw))
    assert (_names(lineage.outputs), lineage.inputs, lineage.run_facets) == (
        [(namespace, f"data_assets/{raw['id']}")],
        [],
        {},
    )


def test_a_task_that_returned_nothing_has_no_lineage(codeocean_emulator: Any) -> None:
    run = CodeOceanRunCapsuleOperator(task_id="run", capsule_id=ECHO)
    capture = CodeOceanCreateDataAssetOperator(task_id="capture", name="x", aws_source={"bucket": "raw-data"})
    for value in (None, {}, "text"):
        assert run.get_openlineage_facets_on_complete(_TI(value)) is None
        assert capture.get_openlineage_facets_on_complete(_TI(value)) is None


def test_the_facets_serialise_as_openlineage_json(codeocean_emulator: Any) -> None:
    from openlineage.client.serde import Serde

    run, computation, _, _, _ = _run_and_capture(codeocean_emulator)
    lineage = run.get_openlineage_facets_on_complete(_TI(computation))

    job = Serde.to_dict(lineage.job_facets["codeocean"])
    facet = Serde.to_dict(lineage.run_facets["codeocean_computation"])

    assert {k: job[k] for k in ("kind", "id")} == {"kind": "capsule", "id": ECHO}
    assert job["_producer"] and job["_schemaURL"]
    assert {k: facet.get(k) for k in ("id", "state", "end_status", "exit_code")} == {
        "id": computation["id"],
        "state": "completed",
        "end_status": "succeeded",
        "exit_code": 0,
    }


def test_without_openlineage_the_operators_answer_none(
    codeocean_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, computation, capture, asset, _ = _run_and_capture(codeocean_emulator)
    # As if the provider and the client were not installed: a None entry in sys.modules makes an import
    # of that name (or below it) raise ImportError.
    for name in [
        *OPENLINEAGE_ROOTS,
        *(m for m in sys.modules if m.startswith(tuple(r + "." for r in OPENLINEAGE_ROOTS))),
    ]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError):
        from airflow.providers.openlineage.extractors import OperatorLineage  # noqa: F401

    assert run.get_openlineage_facets_on_complete(_TI(computation)) is None
    assert capture.get_openlineage_facets_on_complete(_TI(asset)) is None


LINEAGE_DAG = """
from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_codeocean.operators.computation import CodeOceanRunCapsuleOperator
from airflow_provider_codeocean.operators.data_asset import CodeOceanCreateDataAssetOperator

with DAG("codeocean_lineage", schedule=None, start_date=datetime(2024, 1, 1), catchup=False,
         render_template_as_native_obj=True):
    raw = CodeOceanCreateDataAssetOperator(
        task_id="raw", name="raw", aws_source={{"bucket": "raw-data"}}, idempotent=False, poll_interval=0.05
    )
    run = CodeOceanRunCapsuleOperator(
        task_id="run", capsule_id="{echo}", parameters=["hi"], poll_interval=0.05,
        data_assets=[{{"id": "{{{{ ti.xcom_pull(task_ids='raw')['id'] }}}}", "mount": "raw"}}],
    )
    capture = CodeOceanCreateDataAssetOperator(
        task_id="capture", name="captured", computation_id=run.output, idempotent=False, poll_interval=0.05
    )
    raw >> run >> capture
"""


@pytest.mark.integration
def test_the_listener_reports_the_facets_in_complete_events(codeocean_emulator: Any, tmp_path: Path) -> None:
    from airflow_provider_codeocean.testing.dag_testing import run_dag_test

    dag_file = tmp_path / "dags" / "codeocean_lineage.py"
    dag_file.parent.mkdir()
    dag_file.write_text(LINEAGE_DAG.format(echo=ECHO))
    events_file = tmp_path / "openlineage.jsonl"
    transport = {"type": "file", "log_file_path": str(events_file), "append": True}

    result = run_dag_test(
        dag_file,
        emulator=codeocean_emulator,
        airflow_home=tmp_path / "home",
        env={"AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport), "AIRFLOW__OPENLINEAGE__NAMESPACE": "tests"},
    )

    assert result.succeeded, result.log[-3000:]
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    complete = {
        e["job"]["name"].rsplit(".", 1)[-1]: e
        for e in events
        if e.get("eventType") == "COMPLETE" and e["job"]["name"].startswith("codeocean_lineage.")
    }
    assert {"raw", "run", "capture"} <= set(complete), sorted(e["job"]["name"] for e in events)
    namespace = _namespace(codeocean_emulator)
    raw_id, run_id, captured_id = (result.xcom(task)["id"] for task in ("raw", "run", "capture"))

    run = complete["run"]
    assert [(d["namespace"], d["name"]) for d in run["inputs"]] == [(namespace, f"data_assets/{raw_id}")]
    assert {k: run["job"]["facets"]["codeocean"][k] for k in ("kind", "id")} == {"kind": "capsule", "id": ECHO}
    facet = run["run"]["facets"]["codeocean_computation"]
    assert (facet["id"], facet["state"], facet["end_status"], facet["exit_code"]) == (
        run_id,
        "completed",
        "succeeded",
        0,
    )
    assert facet["url"] == f"{codeocean_emulator.base_url}/computations/{run_id}"

    capture = complete["capture"]
    assert [(d["namespace"], d["name"]) for d in capture["outputs"]] == [(namespace, f"data_assets/{captured_id}")]
    assert [(d["namespace"], d["name"]) for d in capture["inputs"]] == [(namespace, f"data_assets/{raw_id}")]
    assert capture["run"]["facets"]["codeocean_computation"]["id"] == run_id
    assert [(d["namespace"], d["name"]) for d in complete["raw"]["outputs"]] == [(namespace, f"data_assets/{raw_id}")]
