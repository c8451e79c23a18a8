"""Retention: archive, unarchive and delete data assets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean._common.inputs import id_from
from airflow_provider_codeocean.errors import CodeOceanConfigError, CodeOceanConflictError, CodeOceanNotFoundError
from airflow_provider_codeocean.links import CodeOceanDataAssetLink
from airflow_provider_codeocean.operators.base import CodeOceanBaseOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class CodeOceanArchiveDataAssetOperator(CodeOceanBaseOperator):
    """Archive a data asset (it leaves searches and the default listing, and can be unarchived).

    Archiving an archived asset changes nothing and succeeds. Returns the asset's id.

    :param data_asset_id: the asset: an id, or the dict a create operator returned (templated).
    """

    template_fields: Sequence[str] = ("data_asset_id",)
    operator_extra_links = (CodeOceanDataAssetLink(),)
    ui_color = "#e8e8e8"
    #: What the operator does: archive (True) or unarchive (False).
    archive = True

    def __init__(self, *, data_asset_id: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_asset_id = data_asset_id

    def _execute(self, context: Context) -> str:
        asset_id = id_from(self.data_asset_id, "data_asset_id")
        self.hook.archive_data_asset(asset_id, self.archive)
        self.log.info("%s data asset %s", "Archived" if self.archive else "Unarchived", asset_id)
        return asset_id


class CodeOceanUnarchiveDataAssetOperator(CodeOceanArchiveDataAssetOperator):
    """Unarchive a data asset, so it can be searched for and mounted again. Returns the asset's id.

    :param data_asset_id: the asset: an id, or the dict a create operator returned (templated).
    """

    archive = False


class CodeOceanDeleteDataAssetOperator(CodeOceanBaseOperator):
    """Delete a data asset for good. Needs ``confirm=True``: deleting cannot be undone.

    Idempotent: an asset that is already gone (404, e.g. deleted by an earlier try whose answer was
    lost) counts as deleted, with a log line. When Code Ocean refuses because the asset is in use
    (409/423, e.g. mounted by a running computation), the task fails with that reason; its retries (if
    any) try again, which succeeds once the run has finished. Returns the asset's id.

    :param data_asset_id: the asset: an id, or the dict a create operator returned (templated).
    :param confirm: must be ``True``; a guard against deleting data by accident.
    """

    template_fields: Sequence[str] = ("data_asset_id",)
    ui_color = "#f4d6d6"

    def __init__(self, *, data_asset_id: Any, confirm: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if confirm is not True:
            raise CodeOceanConfigError(
                "deleting a data asset cannot be undone: pass confirm=True to CodeOceanDeleteDataAssetOperator "
                f"(got confirm={confirm!r})"
            )
        self.data_asset_id = data_asset_id
        self.confirm = confirm

    def _execute(self, context: Context) -> str:
        asset_id = id_from(self.data_asset_id, "data_asset_id")
        try:
            self.hook.delete_data_asset(asset_id)
        except CodeOceanNotFoundError:
            self.log.info("Data asset %s is already gone; nothing to delete", asset_id)
            return asset_id
        except CodeOceanConflictError as exc:
            raise CodeOceanConflictError(
                f"Code Ocean refused to delete data asset {asset_id}: it is in use (e.g. mounted by a running "
                f"computation): {exc.message}. Delete it after the run finishes, or archive it instead.",
                status_code=exc.status_code,
                method=exc.method,
                path=exc.path,
            ) from exc
        self.log.info("Deleted data asset %s", asset_id)
        return asset_id
