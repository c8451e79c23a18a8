"""CodeOceanDataAssetTrigger: wait in the triggerer until a data asset leaves the draft state."""

from __future__ import annotations

from typing import Any

from airflow_provider_codeocean._common.deferral import DATA_ASSET_EVENTS
from airflow_provider_codeocean._common.polling import DEFAULT_TRANSIENT_GRACE
from airflow_provider_codeocean.triggers.base import CodeOceanPollTrigger
from airflow_provider_codeocean.triggers.poller import DATA_ASSET

#: Every status the trigger can fire; ``execute_complete`` rejects anything else.
EVENT_STATUSES = DATA_ASSET_EVENTS.statuses


class CodeOceanDataAssetTrigger(CodeOceanPollTrigger):
    """Poll ``GET data_assets/{id}`` until the asset is ``ready`` or ``failed``, or a deadline passes.

    Fires exactly one event, a dict with ``status``, ``data_asset_id``, ``message`` and, when known,
    ``data_asset`` (the asset's JSON):

    * ``success``: the asset is ready;
    * ``failed``: the asset failed; ``message`` carries its ``failure_reason``;
    * ``timeout`` with ``deadline``: ``execution`` (the task's ``execution_timeout``) or ``wait``
      (the operator's ``timeout``);
    * ``error`` with ``error_type``: a permanent API error such as 404, or transient errors (429, 5xx,
      lost connections) that lasted longer than ``transient_grace`` seconds.

    Every kwarg is a JSON primitive; the token is never among them (the trigger looks the connection up).

    :param conn_id: the Code Ocean connection id.
    :param data_asset_id: the asset to wait for.
    :param poll_interval: seconds between polls (the first one is spread over the interval).
    :param end_time: epoch seconds after which a ``timeout`` event with ``deadline="wait"`` fires.
    :param execution_deadline: epoch seconds after which a ``timeout`` event with
        ``deadline="execution"`` fires.
    :param transient_grace: how many seconds transient API errors are tolerated before an ``error``.
    """

    id_key = DATA_ASSET_EVENTS.id_key
    item_key = DATA_ASSET_EVENTS.item_key
    kind = DATA_ASSET

    def __init__(
        self,
        conn_id: str,
        data_asset_id: str,
        poll_interval: float = 10.0,
        end_time: float | None = None,
        execution_deadline: float | None = None,
        transient_grace: float = DEFAULT_TRANSIENT_GRACE,
    ) -> None:
        super().__init__(
            conn_id,
            data_asset_id,
            poll_interval=poll_interval,
            end_time=end_time,
            execution_deadline=execution_deadline,
            transient_grace=transient_grace,
        )

    @property
    def data_asset_id(self) -> str:
        return self.resource_id

    def terminal_event(self, item: Any) -> dict[str, Any] | None:
        if item.ready:
            return {"status": "success", "message": f"{item.describe()} is ready"}
        if item.failed:
            reason = item.failure_reason or "no failure_reason given"
            return {"status": "failed", "message": f"data asset {item.id} ({item.name!r}) failed: {reason}"}
        return None
