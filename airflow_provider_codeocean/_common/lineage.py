"""OpenLineage for the run and data asset operators, read from the task's XCom return value.

Nothing here imports OpenLineage until Airflow's OpenLineage provider asks for facets; without that
provider the methods return None. Data assets are the datasets ``codeocean://<domain>`` /
``data_assets/<id>`` (the same as :func:`airflow_provider_codeocean.assets.convert_to_openlineage`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

    _Base = Any
else:
    _Base = object


class ComputationLineageMixin(_Base):  # type: ignore[misc]  # Any on purpose: a mixin of BaseOperator
    """OpenLineage for a run: inputs are the mounted data assets, the job is the capsule or pipeline
    (id, version), the run facets name the computation (id, state, end status, exit code, link)."""

    hook: CodeOceanHook

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        computation = _returned(task_instance, self.task_id)
        if computation is None:
            return None
        namespace = _namespace(self.hook)
        kind, item_id = (
            ("pipeline", self.pipeline_id) if getattr(self, "pipeline_id", None) else ("capsule", self.capsule_id)
        )
        return build(
            namespace,
            inputs=[str(d.get("id")) for d in computation.get("data_assets") or [] if isinstance(d, dict)],
            outputs=[],
            job={"kind": kind, "id": str(item_id), "version": getattr(self, "version", None)},
            computation={
                "id": computation.get("id"),
                "state": computation.get("state"),
                "end_status": computation.get("end_status"),
                "exit_code": computation.get("exit_code"),
                "url": self.hook.computation_url(str(computation.get("id"))),
            },
        )


def data_asset_lineage(operator: Any, task_instance: Any) -> Any:
    """OpenLineage for a create/update: output the data asset; inputs the assets it came from, when known."""
    asset = _returned(task_instance, operator.task_id)
    if asset is None:
        return None
    raw = asset.get("provenance")
    provenance: dict[str, Any] = raw if isinstance(raw, dict) else {}
    contained = [str(c.get("id")) for c in asset.get("contained_data_assets") or [] if isinstance(c, dict)]
    return build(
        _namespace(operator.hook),
        inputs=[str(i) for i in provenance.get("data_assets") or []] + contained,
        outputs=[str(asset["id"])],
        job=None,
        computation={"id": provenance.get("computation")} if provenance.get("computation") else None,
    )


def build(
    namespace: str,
    inputs: list[str],
    outputs: list[str],
    job: dict[str, Any] | None,
    computation: dict[str, Any] | None,
) -> Any:
    """The ``OperatorLineage``, or None without the OpenLineage provider."""
    try:
        import attrs
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.generated.base import (  # type: ignore[import-not-found,unused-ignore]
            InputDataset,
            JobFacet,
            OutputDataset,
            RunFacet,
        )
    except ImportError:
        return None

    @attrs.define
    class CodeOceanJobFacet(JobFacet):  # type: ignore[misc]
        kind: str
        id: str
        version: int | None = None

    @attrs.define
    class CodeOceanComputationRunFacet(RunFacet):  # type: ignore[misc]
        id: str | None = None
        state: str | None = None
        end_status: str | None = None
        exit_code: int | None = None
        url: str | None = None

    return OperatorLineage(
        inputs=[InputDataset(namespace=namespace, name=f"data_assets/{i}") for i in dict.fromkeys(inputs)],
        outputs=[OutputDataset(namespace=namespace, name=f"data_assets/{o}") for o in outputs],
        job_facets={"codeocean": CodeOceanJobFacet(**job)} if job else {},
        run_facets={"codeocean_computation": CodeOceanComputationRunFacet(**computation)} if computation else {},
    )


def _namespace(hook: CodeOceanHook) -> str:
    return f"codeocean://{urlsplit(hook.settings.base_url).netloc.lower()}"


def _returned(task_instance: Any, task_id: str) -> dict[str, Any] | None:
    value = task_instance.xcom_pull(task_ids=task_id)
    return value if isinstance(value, dict) and value.get("id") else None
