"""What the computation and data asset sensors share: poke, defer to the trigger, resume from its event."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseSensorOperator, conf

from airflow_provider_codeocean.errors import CodeOceanError
from airflow_provider_codeocean.operators._deferral import error_from_event, reraise, validate_event

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook


class CodeOceanWaitSensor(BaseSensorOperator):  # type: ignore[misc]  # Airflow is not type-followed
    """Wait for one Code Ocean item in ``poke``, ``reschedule`` or deferrable mode.

    Subclasses name the item (``id_key``, ``item_key``, ``kind``) and say how to read it, how to build its
    trigger, and what a finished item means (:meth:`finish` returns the XCom value or raises).

    :param codeocean_conn_id: the Airflow connection to Code Ocean.
    :param deferrable: wait in the triggerer. Defaults to ``[operators] default_deferrable``.
    :param poke_interval: seconds between checks (also the trigger's poll interval).
    """

    id_key: ClassVar[str]
    item_key: ClassVar[str]
    kind: ClassVar[str]
    event_statuses: ClassVar[frozenset[str]]

    def __init__(
        self,
        *,
        codeocean_conn_id: str = "codeocean_default",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: float | timedelta = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        if self.poke_interval <= 0:
            raise ValueError(f"poke_interval must be more than 0 seconds, got {poke_interval!r}")
        self.codeocean_conn_id = codeocean_conn_id
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> CodeOceanHook:
        from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

        return CodeOceanHook(self.codeocean_conn_id)

    # Per item kind

    def resource_id(self) -> str:
        raise NotImplementedError

    def push_link(self, context: Context, resource_id: str) -> None:
        raise NotImplementedError

    def get(self, resource_id: str) -> Any:
        raise NotImplementedError

    def from_json(self, raw: dict[str, Any]) -> Any:
        raise NotImplementedError

    def trigger(self, resource_id: str, end_time: float, execution_deadline: float | None) -> Any:
        raise NotImplementedError

    def finish(self, item: Any) -> Any:
        raise NotImplementedError

    # Shared flow

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        done = self.poke(context)
        if done:
            return done.xcom_value
        now = time.time()
        self.defer(
            trigger=self.trigger(
                self.resource_id(),
                end_time=now + self.timeout,
                execution_deadline=now + self.execution_timeout.total_seconds() if self.execution_timeout else None,
            ),
            method_name="execute_complete",
            timeout=None,
        )

    def poke(self, context: Context) -> Any:
        from airflow.providers.common.compat.sdk import PokeReturnValue

        try:
            resource_id = self.resource_id()
            self.push_link(context, resource_id)
            try:
                item = self.get(resource_id)
            except CodeOceanError as exc:
                if not getattr(exc, "transient", False):
                    raise
                self.log.warning("Checking %s %s failed, will check again: %s", self.kind, resource_id, exc)
                return PokeReturnValue(is_done=False)
            self.log.info("%s", item.describe())
            if not item.is_terminal:
                return PokeReturnValue(is_done=False)
            return PokeReturnValue(is_done=True, xcom_value=self.finish(item))
        except CodeOceanError as exc:
            reraise(exc)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired (in a fresh process: everything comes from the event)."""
        from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException

        try:
            event = validate_event(event, self.id_key, self.event_statuses)
            status = event["status"]
            if status == "timeout":
                message = f"Code Ocean {self.kind} {event[self.id_key]} did not finish in time: {event['message']}"
                if self.soft_fail:
                    raise AirflowSkipException(message)
                raise AirflowSensorTimeout(message)
            if status == "error":
                raise error_from_event(event)
            raw = event.get(self.item_key)
            if not isinstance(raw, dict):
                raise CodeOceanError(f"the trigger's {status!r} event has no {self.kind}: {event!r}")
            return self.finish(self.from_json(raw))
        except CodeOceanError as exc:
            reraise(exc)
