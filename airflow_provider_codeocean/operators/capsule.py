"""Operators that change a capsule or pipeline rather than run it: Git sync, attach and detach data assets.

Releasing a new version is :class:`~airflow_provider_codeocean.operators.release.CodeOceanReleaseOperator`.
Deleting a capsule is deliberately not an operator: see ``CodeOceanHook.delete_capsule``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_codeocean.errors import (
    CodeOceanApiError,
    CodeOceanBadRequestError,
    CodeOceanConfigError,
    CodeOceanConflictError,
    CodeOceanPermissionError,
    error_for_status,
)
from airflow_provider_codeocean.models.lifecycle import attach_params_from
from airflow_provider_codeocean.models.params import check_id
from airflow_provider_codeocean.operators.base import CodeOceanBaseOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_codeocean.models import DataAssetMount

_SYNC_HINTS: dict[type[CodeOceanApiError], str] = {
    CodeOceanBadRequestError: "the capsule has no Git remote: link it to a Git repository in Code Ocean first",
    CodeOceanPermissionError: "Code Ocean needs credentials for the Git remote, and no uncommitted changes in the "
    "capsule: add the credentials, or commit or discard the changes",
    CodeOceanConflictError: "the capsule and its Git remote have conflicting histories, or the capsule is locked "
    "(being edited or synced): resolve the conflict in Code Ocean, or retry once the lock is gone",
}


def is_templated(value: Any) -> bool:
    """Whether a value still holds Jinja (checked again after rendering, in execute)."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, Mapping):
        return any(is_templated(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_templated(v) for v in value)
    return False


class CodeOceanCapsuleChangeOperator(CodeOceanBaseOperator):
    """Base of the operators that act on one capsule or pipeline: give exactly one of the two ids.

    :param capsule_id: the capsule (templated).
    :param pipeline_id: the pipeline (templated); give this or ``capsule_id``.
    """

    template_fields: Sequence[str] = ("capsule_id", "pipeline_id")
    ui_color = "#e3f1fb"

    def __init__(self, *, capsule_id: str | None = None, pipeline_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if bool(capsule_id) == bool(pipeline_id):
            raise CodeOceanConfigError(
                f"give exactly one of capsule_id or pipeline_id (got capsule_id={capsule_id!r}, "
                f"pipeline_id={pipeline_id!r})"
            )
        for name, value in (("capsule_id", capsule_id), ("pipeline_id", pipeline_id)):
            if value and not is_templated(value):
                check_id(value, name)
        self.capsule_id = capsule_id
        self.pipeline_id = pipeline_id

    @property
    def is_pipeline(self) -> bool:
        return bool(self.pipeline_id)

    @property
    def what(self) -> str:
        return "pipeline" if self.is_pipeline else "capsule"

    def target_id(self) -> str:
        """The rendered id, checked (templates are rendered by now)."""
        name = "pipeline_id" if self.is_pipeline else "capsule_id"
        return check_id(self.pipeline_id if self.is_pipeline else self.capsule_id, name)

    def attached(self, target: str) -> dict[str, str]:
        """Data assets attached to the target now, id -> mount (its app panel lists them)."""
        panel = self.hook.get_app_panel(target, pipeline=self.is_pipeline)
        return {str(d.get("id")): str(d.get("mount") or "") for d in panel.data_assets if d.get("id")}


class CodeOceanGitSyncOperator(CodeOceanCapsuleChangeOperator):
    """Sync a capsule or pipeline with its linked Git remote: push its commits, pull the remote's.

    Returns (XCom ``return_value``) ``{"pushed": int, "pulled": int, "new_branch": bool}`` and logs it.
    A capsule without a Git remote, missing Git credentials, uncommitted changes, a conflict or a lock
    fail the task with the server's message and what to do about it. Sending the sync twice is harmless,
    so it is retried like a read.

    :param capsule_id: the capsule to sync (templated).
    :param pipeline_id: the pipeline to sync (templated); give this or ``capsule_id``.
    """

    def _execute(self, context: Context) -> Any:
        target = self.target_id()
        try:
            result = self.hook.git_sync_capsule(target, pipeline=self.is_pipeline)
        except CodeOceanApiError as exc:
            hint = next((h for cls, h in _SYNC_HINTS.items() if isinstance(exc, cls)), None)
            if hint is None:
                raise
            raise error_for_status(
                exc.status_code, exc.message, method=exc.method, path=exc.path, data=exc.data, hint=hint
            ) from exc
        self.log.info(
            "Git sync of %s %s: pushed %d commit(s), pulled %d commit(s)%s",
            self.what,
            target,
            result.pushed,
            result.pulled,
            ", created the branch on the remote" if result.new_branch else "",
        )
        return result.to_dict()


class _AttachedDataAssetsOperator(CodeOceanCapsuleChangeOperator):
    """What attach and detach share: ``data_assets`` (checked at parse time unless templated), and the
    assets attached now."""

    template_fields: Sequence[str] = (*CodeOceanCapsuleChangeOperator.template_fields, "data_assets")
    template_fields_renderers: ClassVar[dict[str, str]] = {"data_assets": "json"}

    def __init__(
        self, *, data_assets: Any, capsule_id: str | None = None, pipeline_id: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(capsule_id=capsule_id, pipeline_id=pipeline_id, **kwargs)
        if not is_templated(data_assets):
            attach_params_from(data_assets)
        self.data_assets = data_assets

    def wanted_and_attached(self) -> tuple[list[DataAssetMount], str, dict[str, str]]:
        """The assets asked for, the rendered target id, and what is attached to it now (id -> mount)."""
        wanted = attach_params_from(self.data_assets)
        target = self.target_id()
        return wanted, target, self.attached(target)


class CodeOceanAttachDataAssetsOperator(_AttachedDataAssetsOperator):
    """Attach data assets to a capsule or pipeline, so every run reads them under ``/data/<mount>``.

    Idempotent: an asset already attached under the wanted mount is logged and left alone, so a retry or
    a rerun succeeds. Mounts are checked before anything is sent, like the run operator's: one folder
    name each, no two assets on one mount, and none on a mount another attached asset uses.

    Returns the attached assets as ``[{"id": ..., "mount": ...}]``.

    :param capsule_id: the capsule (templated).
    :param pipeline_id: the pipeline (templated); give this or ``capsule_id``.
    :param data_assets: ids, or ``{"id": ..., "mount": ...}`` (no mount: the asset's own) (templated).
    """

    def _execute(self, context: Context) -> Any:
        wanted, target, current = self.wanted_and_attached()
        todo: list[DataAssetMount] = []
        for item in wanted:
            if item.id in current and item.mount in (None, current[item.id]):
                self.log.info("Data asset %s is already attached at /data/%s: nothing to do", item.id, current[item.id])
                continue
            taken = [i for i, m in current.items() if item.mount is not None and m == item.mount and i != item.id]
            if taken:
                raise CodeOceanConfigError(
                    f"mount {item.mount!r} is used by data asset {taken[0]}, attached to {self.what} {target}: "
                    "detach it first, or choose another mount"
                )
            todo.append(item)
        if todo:
            for result in self.hook.attach_data_assets(target, todo, pipeline=self.is_pipeline):
                current[result.id] = result.mount or current.get(result.id, "")
                self.log.info("Attached data asset %s at /data/%s (%s)", result.id, result.mount, result.mount_state)
        return [{"id": item.id, "mount": current.get(item.id, item.mount)} for item in wanted]


class CodeOceanDetachDataAssetsOperator(_AttachedDataAssetsOperator):
    """Detach data assets from a capsule or pipeline.

    Idempotent: an asset that is not attached is logged and skipped. Returns the ids detached now.

    :param capsule_id: the capsule (templated).
    :param pipeline_id: the pipeline (templated); give this or ``capsule_id``.
    :param data_assets: the ids to detach (templated).
    """

    def _execute(self, context: Context) -> Any:
        wanted, target, current = self.wanted_and_attached()
        ids = [item.id for item in wanted]
        todo = [i for i in ids if i in current]
        for asset_id in ids:
            if asset_id not in current:
                self.log.info("Data asset %s is not attached to %s %s: nothing to detach", asset_id, self.what, target)
        if todo:
            self.hook.detach_data_assets(target, todo, pipeline=self.is_pipeline)
            self.log.info("Detached data asset(s) %s from %s %s", ", ".join(todo), self.what, target)
        return todo
