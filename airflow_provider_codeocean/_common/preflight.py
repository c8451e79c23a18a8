"""Checks against Code Ocean made right before a run is started, so a mistake costs no compute.

Each costs a GET or two. A check whose GET fails transiently is skipped with a warning: the POST that
follows reports a real problem anyway, and a flaky read must not block a run that would work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean._common.inputs import RUN_ARGUMENTS, check_metadata, metadata_from, name_from
from airflow_provider_codeocean.errors import (
    CodeOceanConfigError,
    CodeOceanError,
    CodeOceanNotFoundError,
    CodeOceanPermissionError,
)

if TYPE_CHECKING:
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook
    from airflow_provider_codeocean.models import AppPanel, RunParams

#: The capture task's arguments the run task can render and check before starting the run.
CAPTURE_FIELDS = ("name", "mount", "tags", "custom_metadata")


def checked_run_params(operator: Any, context: Any) -> RunParams:
    """A run operator's request from its rendered arguments, checked (then with GETs only) before the run starts."""
    from airflow_provider_codeocean.models import RunParams

    fields = {f: getattr(operator, f) for f in RUN_ARGUMENTS}
    name = fields.pop("name")
    if name is not None and not isinstance(name, str):
        raise CodeOceanConfigError(f"name must be a string, got {name!r}")
    params = RunParams.build(**fields)
    check_before_run(operator, params, context)
    return params


def check_before_run(operator: Any, params: RunParams, context: Any) -> None:
    """Everything a run operator checks with GETs before it starts the run (``check_capture`` included)."""
    check_target(operator.hook, params, operator.log)
    if operator.check_capture is not None:
        task = capture_task(operator, operator.check_capture)
        check_capture(operator.hook, task, context, operator.log)


def check_target(hook: CodeOceanHook, params: RunParams, log: Any) -> None:
    """The id is of the kind given (capsule or pipeline) and the parameter and process names are its App Panel's."""
    target, pipeline = params.target_id, params.is_pipeline
    kind, other = ("pipeline", "capsule") if pipeline else ("capsule", "pipeline")
    try:
        hook.get_pipeline(target) if pipeline else hook.get_capsule(target)
    except CodeOceanNotFoundError as missing:
        if _exists(hook, target, pipeline=not pipeline):
            operator = "CodeOceanRunCapsuleOperator" if pipeline else "CodeOceanRunPipelineOperator"
            raise CodeOceanConfigError(
                f"{target} is a {other}, not a {kind}: give it as {other}_id (or use {operator})"
            ) from None
        raise missing
    except CodeOceanError as exc:
        # A token may be allowed to run what it may not read: the POST decides then.
        if not exc.transient and not isinstance(exc, CodeOceanPermissionError):
            raise
        log.warning("Could not read %s %s to check the run's arguments first: %s", kind, target, exc)
        return
    try:
        panel = hook.get_app_panel(target, params.version, pipeline=pipeline)
    except CodeOceanError as exc:
        if not exc.transient and not isinstance(exc, (CodeOceanNotFoundError, CodeOceanPermissionError)):
            raise
        log.warning("Could not read the App Panel of %s %s; parameter names are not checked: %s", kind, target, exc)
        return
    _check_against_panel(panel, params, f"{kind} {target}")


def _exists(hook: CodeOceanHook, item_id: str, *, pipeline: bool) -> bool:
    try:
        hook.get_pipeline(item_id) if pipeline else hook.get_capsule(item_id)
    except CodeOceanError:
        return False
    return True


def _check_against_panel(panel: AppPanel, params: RunParams, what: str) -> None:
    known = [p.param_name for p in panel.parameters if p.param_name]
    unknown = [p.param_name for p in params.named_parameters or [] if p.param_name not in known]
    # An App Panel without named parameters says nothing about which names the script reads.
    if known and unknown:
        raise CodeOceanConfigError(
            f"named_parameters {unknown} are not parameters of {what}; its App Panel has: {known}"
        )
    processes = [str(p["name"]) for p in panel.processes if isinstance(p.get("name"), str)]
    given = [p.name for p in params.processes or []]
    unknown = [name for name in given if name not in processes]
    if processes and unknown:
        raise CodeOceanConfigError(
            f"processes {unknown} are not processes of {what}; its processes are: {processes} "
            "(the names in the pipeline's main.nf)"
        )
    twice = sorted({name for name in given if given.count(name) > 1})
    if twice:
        raise CodeOceanConfigError(f"processes {twice} are given more than once; give each process once")


def check_capture(hook: CodeOceanHook, task: Any, context: Any, log: Any) -> None:
    """Render the capture task's name, mount, tags and custom metadata now and check them.

    A field whose template pulls XCom is skipped: this run's own results are not known before it runs.
    """
    from airflow_provider_codeocean.models.params import check_mount, check_tags

    rendered: dict[str, Any] = {}
    for field in CAPTURE_FIELDS:
        value = getattr(task, field, None)
        if value is None or "xcom" in repr(value).lower():
            continue
        try:
            rendered[field] = task.render_template(value, context)
        except Exception as exc:
            log.info("Not checking %s.%s before the run: it cannot be rendered yet (%s)", task.task_id, field, exc)
    where = f"the capture task {task.task_id!r}"
    try:
        if rendered.get("name") is not None:
            name_from(rendered["name"])
        if rendered.get("mount") not in (None, ""):
            check_mount(rendered["mount"])
        check_tags(rendered.get("tags"))
        metadata = rendered.get("custom_metadata")
        if metadata is not None:
            values = metadata_from(metadata)
            if getattr(task, "validate_custom_metadata", True) and values:
                check_metadata(hook.get_custom_metadata(), values)
    except CodeOceanConfigError as exc:
        raise CodeOceanConfigError(f"{where} would fail after this run: {exc}; not starting the run") from None


def capture_task(run_task: Any, given: Any) -> Any:
    """The task ``check_capture`` names (a task or its task_id), from the run task's DAG."""
    task_id = given if isinstance(given, str) else getattr(given, "task_id", None)
    dag = getattr(run_task, "dag", None)
    if not isinstance(task_id, str) or dag is None or not dag.has_task(task_id):
        raise CodeOceanConfigError(f"check_capture must be the capture task or its task_id in this DAG, got {given!r}")
    from airflow_provider_codeocean.operators.data_asset import (
        CodeOceanCreateDataAssetOperator,
        CodeOceanUpdateDataAssetOperator,
    )

    task = dag.get_task(task_id)
    if not isinstance(task, (CodeOceanCreateDataAssetOperator, CodeOceanUpdateDataAssetOperator)):
        raise CodeOceanConfigError(
            f"check_capture {task_id!r} is a {type(task).__name__}, not a Code Ocean data asset create or update task"
        )
    return task
