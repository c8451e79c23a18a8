"""What the computation and data asset sensors share: poke, defer to the trigger, resume from its event."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow.providers.common.compat.sdk import BaseSensorOperator, conf

from airflow_provider_codeocean._common.deferral import EventSpec, deadlines, reraise, resume
from airflow_provider_codeocean._common.polling import PollPolicy
from airflow_provider_codeocean._common.refresh import refreshed
from airflow_provider_codeocean.errors import CodeOceanError

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook


class CodeOceanWaitSensor(BaseSensorOperator):  # type: ignore[misc]  # Airflow is not type-followed
    """Wait for one Code Ocean item in ``poke``, ``reschedule`` or deferrable mode.

    Subclasses name the item (``events``) and say how to read it, how to build its
    trigger, and what a finished item means (:meth:`finish` returns the XCom value or raises).

    :param codeocean_conn_id: the Airflow connection to Code Ocean.
    :param deferrable: wait in the triggerer. Defaults to ``[operators] default_deferrable``.
    :param poke_interval: seconds between checks (also the trigger's poll interval).
    """

    #: The trigger's events: the item's id and JSON keys, its kind, and every status it can fire.
    events: ClassVar[EventSpec]

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
        # Transient errors in a row are counted across pokes of one process (poke mode); in reschedule
        # mode each poke starts afresh, and the sensor's own timeout bounds the wait.
        self._poke_policy = PollPolicy(self.poke_interval)

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

    def trigger(self, resource_id: str, end_time: float | None, execution_deadline: float | None) -> Any:
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
        end_time, execution_deadline = deadlines(self.timeout, self.execution_timeout)
        self.defer(
            trigger=self.trigger(self.resource_id(), end_time=end_time, execution_deadline=execution_deadline),
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
                if not self._poke_policy.tolerates(exc, time.monotonic()):
                    raise
                self.log.warning("Checking %s %s failed, will check again: %s", self.events.kind, resource_id, exc)
                return PokeReturnValue(is_done=False)
            self._poke_policy.answered()
            self.log.info("%s", item.describe())
            if not item.is_terminal:
                return PokeReturnValue(is_done=False)
            return PokeReturnValue(is_done=True, xcom_value=self.finish(item))
        except CodeOceanError as exc:
            reraise(exc)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired (in a fresh process: everything comes from the event)."""

        def finish(checked: dict[str, Any], raw: dict[str, Any]) -> Any:
            item = refreshed(self.get, checked[self.events.id_key], self.from_json(raw), self.events.kind)
            return self.finish(item)

        return resume(event, self.events, finish, self._timed_out)

    def _timed_out(self, event: dict[str, Any]) -> NoReturn:
        from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException

        message = (
            f"Code Ocean {self.events.kind} {event[self.events.id_key]} did not finish in time: {event['message']}"
        )
        if self.soft_fail:
            raise AirflowSkipException(message)
        raise AirflowSensorTimeout(message)
