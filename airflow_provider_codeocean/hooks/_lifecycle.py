"""The capsule lifecycle half of :class:`~airflow_provider_codeocean.hooks.codeocean.CodeOceanHook`.

Git sync, release jobs, attaching and detaching data assets, and deleting a capsule or pipeline: the
calls that change a capsule rather than run it. Kept beside the hook as a mixin so the hook module
stays about reading and running; every call is still one endpoint of
:mod:`airflow_provider_codeocean.api.endpoints`, sent by the hook's own transports.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_codeocean._common.polling import DEFAULT_TRANSIENT_GRACE
from airflow_provider_codeocean.api import endpoints
from airflow_provider_codeocean.errors import (
    CodeOceanApiError,
    CodeOceanBadRequestError,
    CodeOceanPermissionError,
    CodeOceanReleaseValidationError,
)
from airflow_provider_codeocean.models.lifecycle import (
    ReleaseValidationIssues,
    attach_params_from,
    data_asset_ids_from,
)

if TYPE_CHECKING:
    from airflow_provider_codeocean.api.wire import Endpoint
    from airflow_provider_codeocean.models import CapsuleReleaseJob, DataAssetAttachResult, GitSyncResult

T = TypeVar("T")

NEVER_RELEASED_HINT = "only later releases can be made through the API: release the first version in the Code Ocean app"


def explain_release_refusal(exc: CodeOceanApiError) -> CodeOceanApiError:
    """A release refusal made readable: 403 lists each unmet requirement, 400 says how to release first."""
    if isinstance(exc, CodeOceanPermissionError) and not isinstance(exc, CodeOceanReleaseValidationError):
        issues = ReleaseValidationIssues.from_json(exc.data)
        if issues.issues:
            lines = "\n".join(f"  - {line}" for line in issues.describe())
            return CodeOceanReleaseValidationError(
                f"the release requirements are not met:\n{lines}",
                status_code=exc.status_code,
                method=exc.method,
                path=exc.path,
                data=exc.data,
                hint="fix each issue listed, then release again",
                issues=[(name, line) for name, line in zip(issues.issues, issues.describe(), strict=True)],
            )
    if isinstance(exc, CodeOceanBadRequestError) and exc.hint is None:
        return CodeOceanBadRequestError(
            exc.message, status_code=exc.status_code, method=exc.method, path=exc.path, data=exc.data,
            hint=NEVER_RELEASED_HINT,
        )  # fmt: skip
    return exc


class CapsuleLifecycleMixin:
    """Git sync, release, attach/detach data assets and delete, for capsules and (``pipeline=True``) pipelines.

    Method names follow the vendor SDK, except git sync: ``git_sync_capsule`` (the SDK's ``sync_capsule``),
    so that "sync" never reads as the opposite of async. Async variants are prefixed ``a``.
    """

    if TYPE_CHECKING:

        def call(self, endpoint: Endpoint[T]) -> T: ...

        async def acall(self, endpoint: Endpoint[T]) -> T: ...

    # Git

    def git_sync_capsule(self, capsule_id: str, *, pipeline: bool = False) -> GitSyncResult:
        """Push and pull the commits between the capsule and its linked Git remote.

        400 if the capsule has no Git remote; 403 for missing Git credentials or uncommitted changes;
        409/423 (:class:`~airflow_provider_codeocean.errors.CodeOceanConflictError`) when it is locked or
        the histories conflict.
        """
        return self.call(endpoints.git_sync_capsule(capsule_id, _kind(pipeline)))

    async def agit_sync_capsule(self, capsule_id: str, *, pipeline: bool = False) -> GitSyncResult:
        return await self.acall(endpoints.git_sync_capsule(capsule_id, _kind(pipeline)))

    # Releases

    def release_capsule(self, capsule_id: str, *, pipeline: bool = False) -> CapsuleReleaseJob:
        """Start releasing a new version (platform 4.8+); returns the job, to poll with :meth:`get_release_job`.

        Not retried on ambiguous failures (it would start a second release). Refusals raise
        :class:`~airflow_provider_codeocean.errors.CodeOceanBadRequestError` (400: never released; the first
        release is made in the app) or :class:`~airflow_provider_codeocean.errors.CodeOceanReleaseValidationError`
        (403 listing each unmet requirement).
        """
        try:
            return self.call(endpoints.release_capsule(capsule_id, _kind(pipeline)))
        except CodeOceanApiError as exc:
            raise explain_release_refusal(exc) from exc

    async def arelease_capsule(self, capsule_id: str, *, pipeline: bool = False) -> CapsuleReleaseJob:
        try:
            return await self.acall(endpoints.release_capsule(capsule_id, _kind(pipeline)))
        except CodeOceanApiError as exc:
            raise explain_release_refusal(exc) from exc

    def get_release_job(self, capsule_id: str, job_id: str, *, pipeline: bool = False) -> CapsuleReleaseJob:
        return self.call(endpoints.get_release_job(capsule_id, job_id, _kind(pipeline)))

    async def aget_release_job(self, capsule_id: str, job_id: str, *, pipeline: bool = False) -> CapsuleReleaseJob:
        return await self.acall(endpoints.get_release_job(capsule_id, job_id, _kind(pipeline)))

    def wait_for_release(
        self,
        capsule_id: str,
        job_id: str,
        *,
        pipeline: bool = False,
        poll_interval: float = 10.0,
        timeout: float | None = None,
        on_poll: Callable[[CapsuleReleaseJob], None] | None = None,
        transient_grace: float = DEFAULT_TRANSIENT_GRACE,
    ) -> CapsuleReleaseJob:
        """Poll until the job is completed, failed or canceled and return it; TimeoutError past ``timeout``.

        Transient API errors are tolerated for ``transient_grace`` seconds, as in every wait.
        """
        from airflow_provider_codeocean._common.polling import PollPolicy
        from airflow_provider_codeocean.hooks.codeocean import _poll

        return _poll(
            lambda: self.get_release_job(capsule_id, job_id, pipeline=pipeline),
            f"release job {job_id} of {capsule_id}",
            PollPolicy.starting(time.monotonic(), poll_interval, timeout, transient_grace),
            on_poll,
        )

    # Data assets attached to the capsule (its default inputs)

    def attach_data_assets(
        self, capsule_id: str, data_assets: Any, *, pipeline: bool = False
    ) -> list[DataAssetAttachResult]:
        """Attach data assets: ids, or ``{"id": ..., "mount": ...}`` (no mount: the asset's own).

        Attaching an attached asset again under the same mount changes nothing.
        """
        mounts = attach_params_from(data_assets)
        return self.call(endpoints.attach_data_assets(capsule_id, mounts, _kind(pipeline)))

    async def aattach_data_assets(
        self, capsule_id: str, data_assets: Any, *, pipeline: bool = False
    ) -> list[DataAssetAttachResult]:
        mounts = attach_params_from(data_assets)
        return await self.acall(endpoints.attach_data_assets(capsule_id, mounts, _kind(pipeline)))

    def detach_data_assets(self, capsule_id: str, data_asset_ids: Any, *, pipeline: bool = False) -> None:
        """Detach data assets by id (the detach operator leaves out the ones not attached)."""
        self.call(endpoints.detach_data_assets(capsule_id, data_asset_ids_from(data_asset_ids), _kind(pipeline)))

    async def adetach_data_assets(self, capsule_id: str, data_asset_ids: Any, *, pipeline: bool = False) -> None:
        ids = data_asset_ids_from(data_asset_ids)
        await self.acall(endpoints.detach_data_assets(capsule_id, ids, _kind(pipeline)))

    # Deletion

    def delete_capsule(self, capsule_id: str, *, pipeline: bool = False) -> None:
        """**Dangerous: permanently deletes the capsule or pipeline, its code and its history.** No undo.

        Code Ocean refuses (403) unless it is archived, not released, and the caller owns it or is an
        admin. Deliberately a hook method only: no operator deletes capsules from a DAG.
        """
        self.call(endpoints.delete_capsule(capsule_id, _kind(pipeline)))

    async def adelete_capsule(self, capsule_id: str, *, pipeline: bool = False) -> None:
        """Like :meth:`delete_capsule`, and as dangerous."""
        await self.acall(endpoints.delete_capsule(capsule_id, _kind(pipeline)))


def _kind(pipeline: bool) -> endpoints.Kind:
    return "pipelines" if pipeline else "capsules"
