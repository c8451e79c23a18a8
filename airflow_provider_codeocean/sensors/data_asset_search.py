"""CodeOceanDataAssetSearchSensor: wait for data assets you have no id for (matching a search) to be ready."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean._common.asset_search import AssetSearch, settled
from airflow_provider_codeocean._common.deferral import error_from_event, reraise
from airflow_provider_codeocean.errors import CodeOceanConfigError, CodeOceanError
from airflow_provider_codeocean.sensors.base import CodeOceanWaitSensor

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class CodeOceanDataAssetSearchSensor(CodeOceanWaitSensor):
    """Wait until data assets matching a search exist and are ready; return them for ``.expand()``.

    A match has every tag in ``tags``, the ``type``, every ``custom_metadata`` value, was created after
    ``created_after`` and is not archived (the API searches, and each answer is re-checked locally). The
    sensor is done once at least ``min_count`` matches are ready and none is still being created, so
    one answer holds a whole batch; failed matches are left out. Returns the ready matches' JSON, oldest
    first: ``CodeOceanRunCapsuleOperator.partial(...).expand(data_assets=...)`` or any ``data_asset_id``
    argument accepts them.

    Works in ``poke`` and ``reschedule`` mode, and deferred (``deferrable=True``). Transient API errors
    count as "not yet"; a sensor ``timeout`` fails the task (or skips it with ``soft_fail``).

    :param query: free text or ``field:value`` terms (templated).
    :param tags: tags every match carries (templated).
    :param type: ``dataset``, ``result``, ``combined`` or ``model`` (templated).
    :param custom_metadata: ``{field: value}`` every match has (templated).
    :param created_after: only assets created after this: a datetime, ISO 8601 string or epoch seconds,
        e.g. ``"{{ data_interval_start }}"`` (templated).
    :param min_count: how many ready matches are enough.
    :param poke_interval: seconds between searches (``codeocean_conn_id`` and ``deferrable`` are those of
        :class:`~airflow_provider_codeocean.sensors.base.CodeOceanWaitSensor`).
    """

    template_fields: Sequence[str] = ("query", "tags", "type", "custom_metadata", "created_after")
    template_fields_renderers = {"custom_metadata": "json"}
    ui_color = "#d7ecf7"

    def __init__(
        self,
        *,
        query: str | None = None,
        tags: Sequence[str] | None = None,
        type: str | None = None,
        custom_metadata: Mapping[str, Any] | None = None,
        created_after: Any = None,
        min_count: int = 1,
        poke_interval: float | timedelta = 60.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise CodeOceanConfigError(f"min_count must be a whole number of at least 1, got {min_count!r}")
        self.query, self.tags, self.type = query, tags, type
        self.custom_metadata, self.created_after, self.min_count = custom_metadata, created_after, min_count

    def search(self) -> AssetSearch:
        """The search from the rendered arguments."""
        return AssetSearch.of(self.query, self.tags, self.type, self.custom_metadata, self.created_after)

    # The base's execute() defers through these two: a search has no single item id.

    def resource_id(self) -> str:
        return ""

    def trigger(self, resource_id: str, end_time: float | None, execution_deadline: float | None) -> Any:
        from airflow_provider_codeocean.triggers.data_asset_search import CodeOceanDataAssetSearchTrigger

        return CodeOceanDataAssetSearchTrigger(
            conn_id=self.codeocean_conn_id,
            search=self.search().to_json(),
            min_count=self.min_count,
            poll_interval=self.poke_interval,
            end_time=end_time,
            execution_deadline=execution_deadline,
        )

    def poke(self, context: Context) -> Any:
        from airflow.providers.common.compat.sdk import PokeReturnValue

        try:
            spec = self.search()
            try:
                found = spec.find(self.hook)
            except CodeOceanError as exc:
                if not self._poke_policy.tolerates(exc, time.monotonic()):
                    raise
                self.log.warning("Searching data assets failed, will search again: %s", exc)
                return PokeReturnValue(is_done=False)
            self._poke_policy.answered()
            ready = settled(found, self.min_count)
            self.log.info("%d matching data asset(s): %s", len(found), [f"{a.id} {a.state}" for a in found])
            if ready is None:
                return PokeReturnValue(is_done=False)
            return PokeReturnValue(is_done=True, xcom_value=[a.to_dict() for a in ready])
        except CodeOceanError as exc:
            reraise(exc)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired (in a fresh process: everything comes from the event)."""
        from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException

        if not isinstance(event, dict) or event.get("status") not in ("success", "timeout", "error"):
            raise CodeOceanError(f"unexpected event from the data asset search trigger: {event!r}")
        if event["status"] == "success":
            assets: list[dict[str, Any]] = event["data_assets"]
            self.log.info("%s: %s", event.get("message"), [a.get("id") for a in assets])
            return assets
        if event["status"] == "error":
            reraise(error_from_event(event))
        message = f"Code Ocean data asset search: {event.get('message')}"
        if self.soft_fail:
            raise AirflowSkipException(message)
        raise AirflowSensorTimeout(message)
