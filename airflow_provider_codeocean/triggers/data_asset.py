"""Wait in the triggerer for a data asset to leave the draft state."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_codeocean.triggers.base import CodeOceanPollTrigger


class CodeOceanDataAssetTrigger(CodeOceanPollTrigger):
    """Poll ``GET /data_assets/{id}`` until the asset is ``ready`` or ``failed``.

    Fires one event: ``success`` (ready), ``failed`` (with the asset's ``failure_reason`` as the
    message), ``timeout`` or ``error``. The event carries ``data_asset_id`` and, when known, the asset's
    JSON under ``data_asset``. Kwargs are JSON primitives only: the connection is named by id.

    :param conn_id: the Code Ocean connection id.
    :param resource_id: the data asset id.
    :param poll_interval: seconds between polls (jittered by 10%).
    :param end_time: epoch seconds after which a ``timeout`` event with ``deadline: wait`` fires.
    :param execution_deadline: epoch seconds of the task's execution_timeout (``deadline: execution``).
    :param transient_grace: seconds of consecutive 429/5xx/connection failures tolerated before ``error``.
    """

    id_key: ClassVar[str] = "data_asset_id"
    item_key: ClassVar[str] = "data_asset"

    async def fetch(self, hook: Any) -> Any:
        return await hook.aget_data_asset(self.resource_id)

    def terminal_event(self, item: Any) -> dict[str, Any] | None:
        if item.ready:
            return {"status": "success", "message": f"{item.describe()} is ready"}
        if item.failed:
            reason = item.failure_reason or "no failure_reason given"
            return {"status": "failed", "message": f"data asset {item.id} ({item.name!r}) failed: {reason}"}
        return None
