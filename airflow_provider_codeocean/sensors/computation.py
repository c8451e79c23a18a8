"""CodeOceanComputationSensor: wait for any Code Ocean computation to finish, in every sensor mode."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseSensorOperator, conf

from airflow_provider_codeocean.errors import CodeOceanError, CodeOceanRunFailedError
from airflow_provider_codeocean.links import COMPUTATION_ID_KEY, COMPUTATION_URL_KEY, CodeOceanComputationLink
from airflow_provider_codeocean.operators._deferral import error_from_event, reraise, validate_event

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook
    from airflow_provider_codeocean.models import Computation


class CodeOceanComputationSensor(BaseSensorOperator):  # type: ignore[misc]  # Airflow is not type-followed
    """Wait until a Code Ocean computation finishes; succeed only if it succeeded.

    Works in ``poke`` and ``reschedule`` mode, and deferred (``deferrable=True``) in the triggerer. A run that
    failed or was stopped fails the sensor with :class:`~airflow_provider_codeocean.errors.CodeOceanRunFailedError`,
    or skips it when ``soft_fail`` is set; so does the sensor ``timeout``. The sensor never stops the run:
    it does not own it. Transient API errors while poking count as "not finished yet"; 400/401/403/404 fail
    the sensor without retries.

    The computation's id and URL go to XCom (``codeocean_computation_id``, ``codeocean_computation_url``) for
    the "Code Ocean computation" link; the return value is the finished computation's JSON.

    :param computation_id: the computation to wait for (templated, e.g. from an upstream XCom).
    :param codeocean_conn_id: the Airflow connection to Code Ocean.
    :param deferrable: wait in the triggerer. Defaults to ``[operators] default_deferrable``.
    :param poke_interval: seconds between checks (also the trigger's poll interval).
    """

    template_fields: Sequence[str] = ("computation_id",)
    operator_extra_links = (CodeOceanComputationLink(),)
    ui_color = "#e3f1fb"

    def __init__(
        self,
        *,
        computation_id: str,
        codeocean_conn_id: str = "codeocean_default",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: float | timedelta = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        if self.poke_interval <= 0:
            raise ValueError(f"poke_interval must be more than 0 seconds, got {poke_interval!r}")
        self.computation_id = computation_id
        self.codeocean_conn_id = codeocean_conn_id
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> CodeOceanHook:
        from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

        return CodeOceanHook(self.codeocean_conn_id)

    def _checked_id(self) -> str:
        from airflow_provider_codeocean.models.params import check_id

        return check_id(self.computation_id, "computation_id")

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        done = self.poke(context)
        if done:
            return done.xcom_value
        from airflow_provider_codeocean.triggers.computation import CodeOceanComputationTrigger

        self.defer(
            trigger=CodeOceanComputationTrigger(
                conn_id=self.codeocean_conn_id,
                computation_id=self._checked_id(),
                poll_interval=self.poke_interval,
                end_time=time.time() + self.timeout,
                execution_deadline=(
                    time.time() + self.execution_timeout.total_seconds() if self.execution_timeout else None
                ),
                cancel_on_kill=False,
            ),
            method_name="execute_complete",
            timeout=None,
        )

    def poke(self, context: Context) -> Any:
        from airflow.providers.common.compat.sdk import PokeReturnValue

        try:
            computation_id = self._checked_id()
            ti = context["ti"]
            ti.xcom_push(key=COMPUTATION_ID_KEY, value=computation_id)
            ti.xcom_push(key=COMPUTATION_URL_KEY, value=self.hook.computation_url(computation_id))
            try:
                computation = self.hook.get_computation(computation_id)
            except CodeOceanError as exc:
                if not getattr(exc, "transient", False):
                    raise
                self.log.warning("Checking computation %s failed, will check again: %s", computation_id, exc)
                return PokeReturnValue(is_done=False)
            self.log.info("%s", computation.describe())
            if not computation.is_terminal:
                return PokeReturnValue(is_done=False)
            return PokeReturnValue(is_done=True, xcom_value=self._finish(computation))
        except CodeOceanError as exc:
            reraise(exc)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException

        from airflow_provider_codeocean.models import Computation
        from airflow_provider_codeocean.triggers.computation import EVENT_STATUSES

        try:
            event = validate_event(event, "computation_id", EVENT_STATUSES)
            status = event["status"]
            if status == "timeout":
                message = f"Code Ocean computation {event['computation_id']} did not finish in time: {event['message']}"
                if self.soft_fail:
                    raise AirflowSkipException(message)
                raise AirflowSensorTimeout(message)
            if status == "error":
                raise error_from_event(event)
            raw = event.get("computation")
            if not isinstance(raw, dict):
                raise CodeOceanError(f"the trigger's {status!r} event has no computation: {event!r}")
            return self._finish(Computation.from_json(raw))
        except CodeOceanError as exc:
            reraise(exc)

    def _finish(self, computation: Computation) -> Any:
        from airflow.providers.common.compat.sdk import AirflowSkipException

        if computation.succeeded:
            return computation.to_dict()
        from airflow_provider_codeocean.operators.computation import OUTPUT_FILE, tail_of_output

        message = (
            f"Code Ocean {computation.describe()} {computation.outcome}: {self.hook.computation_url(computation.id)}"
        )
        if self.soft_fail:
            raise AirflowSkipException(message)
        tail = tail_of_output(self.hook, computation.id, self.log)
        if tail:
            message += f"\nLast lines of the run's {OUTPUT_FILE}:\n{tail}"
        raise CodeOceanRunFailedError(message, computation=computation.to_dict())
