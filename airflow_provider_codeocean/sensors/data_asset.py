"""CodeOceanDataAssetSensor: wait for a data asset to become ready, in every sensor mode."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseSensorOperator, conf

from airflow_provider_codeocean.errors import CodeOceanDataAssetFailedError, CodeOceanError
from airflow_provider_codeocean.links import CodeOceanDataAssetLink
from airflow_provider_codeocean.operators._deferral import error_from_event, reraise, validate_event
from airflow_provider_codeocean.operators.data_asset import id_from, push_data_asset_link

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook
    from airflow_provider_codeocean.models import DataAsset


class CodeOceanDataAssetSensor(BaseSensorOperator):  # type: ignore[misc]  # Airflow is not type-followed
    """Wait until a Code Ocean data asset is ``ready``.

    Works in ``poke`` and ``reschedule`` mode, and deferred (``deferrable=True``) in the triggerer. An asset
    that ends ``failed`` fails the sensor with
    :class:`~airflow_provider_codeocean.errors.CodeOceanDataAssetFailedError` carrying its ``failure_reason``,
    or skips it when ``soft_fail`` is set; so does the sensor ``timeout``. Transient API errors while poking
    count as "not ready yet"; 400/401/403/404 fail the sensor without retries.

    The asset's id and URL go to XCom (``codeocean_data_asset_id``, ``codeocean_data_asset_url``) for the
    "Code Ocean data asset" link; the return value is the ready asset's JSON.

    :param data_asset_id: the asset: an id, or the dict a create operator returned (templated).
    :param codeocean_conn_id: the Airflow connection to Code Ocean.
    :param deferrable: wait in the triggerer. Defaults to ``[operators] default_deferrable``.
    :param poke_interval: seconds between checks (also the trigger's poll interval).
    """

    template_fields: Sequence[str] = ("data_asset_id",)
    operator_extra_links = (CodeOceanDataAssetLink(),)
    ui_color = "#d7ecf7"

    def __init__(
        self,
        *,
        data_asset_id: Any,
        codeocean_conn_id: str = "codeocean_default",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: float | timedelta = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        if self.poke_interval <= 0:
            raise ValueError(f"poke_interval must be more than 0 seconds, got {poke_interval!r}")
        self.data_asset_id = data_asset_id
        self.codeocean_conn_id = codeocean_conn_id
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> CodeOceanHook:
        from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

        return CodeOceanHook(self.codeocean_conn_id)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        done = self.poke(context)
        if done:
            return done.xcom_value
        from airflow_provider_codeocean.triggers.data_asset import CodeOceanDataAssetTrigger

        self.defer(
            trigger=CodeOceanDataAssetTrigger(
                conn_id=self.codeocean_conn_id,
                data_asset_id=id_from(self.data_asset_id, "data_asset_id"),
                poll_interval=self.poke_interval,
                end_time=time.time() + self.timeout,
                execution_deadline=(
                    time.time() + self.execution_timeout.total_seconds() if self.execution_timeout else None
                ),
            ),
            method_name="execute_complete",
            timeout=None,
        )

    def poke(self, context: Context) -> Any:
        from airflow.providers.common.compat.sdk import PokeReturnValue

        try:
            data_asset_id = id_from(self.data_asset_id, "data_asset_id")
            push_data_asset_link(context, self.hook, data_asset_id, self.log)
            try:
                asset = self.hook.get_data_asset(data_asset_id)
            except CodeOceanError as exc:
                if not getattr(exc, "transient", False):
                    raise
                self.log.warning("Checking data asset %s failed, will check again: %s", data_asset_id, exc)
                return PokeReturnValue(is_done=False)
            self.log.info("%s", asset.describe())
            if not asset.is_terminal:
                return PokeReturnValue(is_done=False)
            return PokeReturnValue(is_done=True, xcom_value=self._finish(asset))
        except CodeOceanError as exc:
            reraise(exc)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired (in a fresh process: everything comes from the event)."""
        from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException

        from airflow_provider_codeocean.models import DataAsset
        from airflow_provider_codeocean.triggers.data_asset import EVENT_STATUSES

        try:
            event = validate_event(event, "data_asset_id", EVENT_STATUSES)
            status = event["status"]
            if status == "timeout":
                message = f"Code Ocean data asset {event['data_asset_id']} was not ready in time: {event['message']}"
                if self.soft_fail:
                    raise AirflowSkipException(message)
                raise AirflowSensorTimeout(message)
            if status == "error":
                raise error_from_event(event)
            raw = event.get("data_asset")
            if not isinstance(raw, dict):
                raise CodeOceanError(f"the trigger's {status!r} event has no data asset: {event!r}")
            return self._finish(DataAsset.from_json(raw))
        except CodeOceanError as exc:
            reraise(exc)

    def _finish(self, asset: DataAsset) -> Any:
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
