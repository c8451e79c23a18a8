"""OpenLineage for the run and data asset operators, from what the task returned.

The operator keeps its return value (:func:`remember`), so the facets need no call to Airflow or Code
Ocean: the OpenLineage listener asks for them in a forked process, where a round trip to the task
runner's supervisor may never answer (it does not in ``dag.test()`` on Airflow 3). An operator that did
not run in this process (none has, so far) falls back to the task's XCom return value.

Nothing here imports OpenLineage until Airflow's OpenLineage provider asks for facets; without that
provider the methods return None. Data assets are the datasets ``codeocean://<domain>`` /
``data_assets/<id>``, named by :func:`airflow_provider_codeocean.assets.openlineage_dataset_name` (the
same as :func:`airflow_provider_codeocean.assets.convert_to_openlineage` gives their Airflow assets).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_codeocean.assets import openlineage_dataset_name

if TYPE_CHECKING:
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

    _Base = Any
else:
    _Base = object


class ComputationLineageMixin(_Base):  # type: ignore[misc]  # Any on purpose: a mixin of BaseOperator
    """OpenLineage for a run: inputs are the mounted data assets, the job is the capsule or pipeline
    (id, version), the run facets name the computation (id, state, end status, exit code, link)."""

    hook: CodeOceanHook

    def execute(self, context: Any) -> Any:
        return remember(self, super().execute(context))

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any) -> Any:
        return remember(self, super().resume_execution(next_method, next_kwargs, context))

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        computation = _returned(self, task_instance)
        if computation is None:
            return None
        kind, item_id = (
            ("pipeline", self.pipeline_id) if getattr(self, "pipeline_id", None) else ("capsule", self.capsule_id)
        )
        return build(
            self.hook.settings.base_url,
            inputs=[str(d.get("id")) for d in computation.get("data_assets") or [] if isinstance(d, dict)],
            outputs=[],
            job={"kind": kind, "id": str(item_id), "version": _version(getattr(self, "version", None))},
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
    asset = _returned(operator, task_instance)
    if asset is None:
        return None
    raw = asset.get("provenance")
    provenance: dict[str, Any] = raw if isinstance(raw, dict) else {}
    contained = [str(c.get("id")) for c in asset.get("contained_data_assets") or [] if isinstance(c, dict)]
    return build(
        operator.hook.settings.base_url,
        inputs=[str(i) for i in provenance.get("data_assets") or []] + contained,
        outputs=[str(asset["id"])],
        job=None,
        computation={"id": provenance.get("computation")} if provenance.get("computation") else None,
    )


def build(
    base_url: str,
    inputs: list[str],
    outputs: list[str],
    job: dict[str, Any] | None,
    computation: dict[str, Any] | None,
) -> Any:
    """The ``OperatorLineage``, or None without the OpenLineage provider."""
    try:
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.generated.base import (  # type: ignore[import-not-found,unused-ignore]
            InputDataset,
            OutputDataset,
        )
    except ImportError:
        return None
    job_facet, run_facet = _facet_classes()
    return OperatorLineage(
        inputs=[InputDataset(namespace=ns, name=name) for ns, name in _datasets(base_url, inputs)],
        outputs=[OutputDataset(namespace=ns, name=name) for ns, name in _datasets(base_url, outputs)],
        job_facets={"codeocean": job_facet(**job)} if job else {},
        run_facets={"codeocean_computation": run_facet(**computation)} if computation else {},
    )


@functools.cache
def _facet_classes() -> tuple[type[Any], type[Any]]:
    """The job and run facet classes, defined once, on first use (they subclass OpenLineage's)."""
    import attrs
    from openlineage.client.generated.base import JobFacet, RunFacet  # type: ignore[import-not-found,unused-ignore]

    @attrs.define
    class CodeOceanJobFacet(JobFacet):  # type: ignore[misc,unused-ignore]
        """The capsule or pipeline a run task runs: ``kind`` (capsule/pipeline), ``id``, ``version``."""

        kind: str
        id: str
        version: int | None = None

    @attrs.define
    class CodeOceanComputationRunFacet(RunFacet):  # type: ignore[misc,unused-ignore]
        """The Code Ocean computation of the task: id, state, end status, exit code and link."""

        id: str | None = None
        state: str | None = None
        end_status: str | None = None
        exit_code: int | None = None
        url: str | None = None

    return CodeOceanJobFacet, CodeOceanComputationRunFacet


def _datasets(base_url: str, data_asset_ids: list[str]) -> list[tuple[str, str]]:
    """``(namespace, name)`` of each data asset, once each, in order; an id that is not a UUID (never
    from Code Ocean) keeps its spelling."""
    named: dict[tuple[str, str], None] = {}
    for data_asset_id in data_asset_ids:
        try:
            named[openlineage_dataset_name(base_url, data_asset_id)] = None
        except ValueError:
            named[f"codeocean://{urlsplit(base_url).netloc.lower()}", f"data_assets/{data_asset_id}"] = None
    return list(named)


def _version(value: Any) -> int | None:
    """The release version as a number (a templated ``version`` renders as text), else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


_RETURNED = "_codeocean_returned"


def remember(operator: Any, result: Any) -> Any:
    """Keep what the task returns on the operator, for its lineage; returns ``result``."""
    setattr(operator, _RETURNED, result)
    return result


def _returned(operator: Any, task_instance: Any) -> dict[str, Any] | None:
    value = getattr(operator, _RETURNED, None)
    if value is None:
        value = task_instance.xcom_pull(task_ids=operator.task_id)
    return value if isinstance(value, dict) and value.get("id") else None
