"""CodeOceanDataAssetSensor: wait for a data asset to become ready, in every sensor mode."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean._common.deferral import DATA_ASSET_EVENTS
from airflow_provider_codeocean._common.inputs import id_from
from airflow_provider_codeocean._common.xcom import push_data_asset_link
from airflow_provider_codeocean.errors import CodeOceanDataAssetFailedError
from airflow_provider_codeocean.links import CodeOceanDataAssetLink
from airflow_provider_codeocean.sensors.base import CodeOceanWaitSensor

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_codeocean.models import DataAsset
    from airflow_provider_codeocean.triggers.data_asset import CodeOceanDataAssetTrigger


class CodeOceanDataAssetSensor(CodeOceanWaitSensor):
    """Wait until a Code Ocean data asset is ``ready``.

    Works in ``poke`` and ``reschedule`` mode, and deferred (``deferrable=True``) in the triggerer. An asset
    that ends ``failed`` fails the sensor with
    :class:`~airflow_provider_codeocean.errors.CodeOceanDataAssetFailedError` carrying its ``failure_reason``,
    or skips it when ``soft_fail`` is set; so does the sensor ``timeout``. Transient API errors while poking
    count as "not ready yet"; 400/401/403/404 fail the sensor without retries.

    The asset's id and URL go to XCom (``codeocean_data_asset_id``, ``codeocean_data_asset_url``) for the
    "Code Ocean data asset" link; the return value is the ready asset's JSON.

    :param data_asset_id: the asset: an id, or the dict a create operator returned (templated).
    """

    template_fields: Sequence[str] = ("data_asset_id",)
    operator_extra_links = (CodeOceanDataAssetLink(),)
    ui_color = "#d7ecf7"
    events = DATA_ASSET_EVENTS

    def __init__(self, *, data_asset_id: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_asset_id = data_asset_id

    def resource_id(self) -> str:
        return id_from(self.data_asset_id, "data_asset_id")

    def push_link(self, context: Context, resource_id: str) -> None:
        push_data_asset_link(context, self.hook, resource_id, self.log)

    def get(self, resource_id: str) -> DataAsset:
        return self.hook.get_data_asset(resource_id)

    def from_json(self, raw: dict[str, Any]) -> DataAsset:
        from airflow_provider_codeocean.models import DataAsset

        return DataAsset.from_json(raw)

    def trigger(
        self, resource_id: str, end_time: float | None, execution_deadline: float | None
    ) -> CodeOceanDataAssetTrigger:
        from airflow_provider_codeocean.triggers.data_asset import CodeOceanDataAssetTrigger

        return CodeOceanDataAssetTrigger(
            conn_id=self.codeocean_conn_id,
            data_asset_id=resource_id,
            poll_interval=self.poke_interval,
            end_time=end_time,
            execution_deadline=execution_deadline,
        )

    def finish(self, asset: DataAsset) -> Any:
        from airflow.providers.common.compat.sdk import AirflowSkipException

        if asset.ready:
            return asset.to_dict()
        message = (
            f"Code Ocean data asset {asset.id} ({asset.name!r}) failed: "
            f"{asset.failure_reason or 'no failure_reason given'} ({self.hook.data_asset_url(asset.id)})"
        )
        if self.soft_fail:
            raise AirflowSkipException(message)
        raise CodeOceanDataAssetFailedError(message, data_asset=asset.to_dict())
