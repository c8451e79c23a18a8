"""OpenLineage facets of the run and data asset operators, read from what the task returned.

The OpenLineage provider is not in the locked test environments (see docs/assets-and-lineage.md), so
the facet test runs only where it is installed; without it the operators must answer None.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from airflow_provider_codeocean.operators.computation import CodeOceanRunCapsuleOperator
from airflow_provider_codeocean.operators.data_asset import CodeOceanCreateDataAssetOperator
from tests.operators.test_data_asset_support import ECHO, TINY, make_context

HAS_OPENLINEAGE = importlib.util.find_spec("openlineage") is not None and (
    importlib.util.find_spec("airflow.providers.openlineage") is not None
)


class _TI:
    def __init__(self, value: Any) -> None:
        self.value = value

    def xcom_pull(self, task_ids: str) -> Any:
        return self.value


def _run_and_capture(emulator: Any) -> tuple[Any, dict[str, Any], Any, dict[str, Any]]:
    source = CodeOceanCreateDataAssetOperator(
        task_id="raw", name="raw", aws_source={"bucket": "raw-data"}, idempotent=False, poll_interval=TINY
    ).execute(make_context())
    run = CodeOceanRunCapsuleOperator(
        task_id="run", capsule_id=ECHO, parameters=["hi"], data_assets=[{"id": source["id"], "mount": "raw"}],
        poll_interval=TINY,
    )  # fmt: skip
    computation = run.execute(make_context())
    capture = CodeOceanCreateDataAssetOperator(
        task_id="capture", name="captured", computation_id=computation, idempotent=False, poll_interval=TINY
    )
    asset = capture.execute(make_context())
    return run, computation, capture, asset


@pytest.mark.skipif(HAS_OPENLINEAGE, reason="checks the behaviour without the OpenLineage provider")
def test_without_openlineage_the_operators_answer_none(codeocean_emulator: Any) -> None:
    run, computation, capture, asset = _run_and_capture(codeocean_emulator)
    assert run.get_openlineage_facets_on_complete(_TI(computation)) is None
    assert capture.get_openlineage_facets_on_complete(_TI(asset)) is None


@pytest.mark.skipif(not HAS_OPENLINEAGE, reason="apache-airflow-providers-openlineage is not installed")
def test_facets_name_the_mounted_inputs_and_the_captured_output(codeocean_emulator: Any) -> None:
    run, computation, capture, asset = _run_and_capture(codeocean_emulator)
    namespace = "codeocean://" + codeocean_emulator.base_url.split("://")[1]

    lineage = run.get_openlineage_facets_on_complete(_TI(computation))
    assert [(d.namespace, d.name) for d in lineage.inputs] == [
        (namespace, f"data_assets/{computation['data_assets'][0]['id']}")
    ]
    assert lineage.job_facets["codeocean"].id == ECHO
    facet = lineage.run_facets["codeocean_computation"]
    assert (facet.id, facet.state, facet.exit_code) == (computation["id"], "completed", 0)

    lineage = capture.get_openlineage_facets_on_complete(_TI(asset))
    assert [(d.namespace, d.name) for d in lineage.outputs] == [(namespace, f"data_assets/{asset['id']}")]
