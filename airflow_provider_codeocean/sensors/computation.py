"""CodeOceanComputationSensor: wait for any Code Ocean computation to finish, in every sensor mode."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean._common.deferral import COMPUTATION_EVENTS
from airflow_provider_codeocean._common.outcome import failed_run_message, with_output_tail
from airflow_provider_codeocean._common.xcom import push_computation_link
from airflow_provider_codeocean.errors import CodeOceanRunFailedError
from airflow_provider_codeocean.links import CodeOceanComputationLink
from airflow_provider_codeocean.sensors.base import CodeOceanWaitSensor

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_codeocean.models import Computation
    from airflow_provider_codeocean.triggers.computation import CodeOceanComputationTrigger


class CodeOceanComputationSensor(CodeOceanWaitSensor):
    """Wait until a Code Ocean computation finishes; succeed only if it succeeded.

    Works in ``poke`` and ``reschedule`` mode, and deferred (``deferrable=True``) in the triggerer. A run that
    failed or was stopped fails the sensor with :class:`~airflow_provider_codeocean.errors.CodeOceanRunFailedError`,
    or skips it when ``soft_fail`` is set; so does the sensor ``timeout``. The sensor never stops the run:
    it does not own it. Transient API errors while poking count as "not finished yet"; 400/401/403/404 fail
    the sensor without retries.

    The computation's id and URL go to XCom (``codeocean_computation_id``, ``codeocean_computation_url``) for
    the "Code Ocean computation" link; the return value is the finished computation's JSON.

    :param computation_id: the computation to wait for (templated, e.g. from an upstream XCom).
    """

    template_fields: Sequence[str] = ("computation_id",)
    operator_extra_links = (CodeOceanComputationLink(),)
    ui_color = "#e3f1fb"
    events = COMPUTATION_EVENTS

    def __init__(self, *, computation_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.computation_id = computation_id

    def resource_id(self) -> str:
        from airflow_provider_codeocean.models.params import check_id

        return check_id(self.computation_id, "computation_id")

    def push_link(self, context: Context, resource_id: str) -> None:
        push_computation_link(context, self.hook, resource_id)

    def get(self, resource_id: str) -> Computation:
        return self.hook.get_computation(resource_id)

    def from_json(self, raw: dict[str, Any]) -> Computation:
        from airflow_provider_codeocean.models import Computation

        return Computation.from_json(raw)

    def trigger(
        self, resource_id: str, end_time: float | None, execution_deadline: float | None
    ) -> CodeOceanComputationTrigger:
        from airflow_provider_codeocean.triggers.computation import CodeOceanComputationTrigger

        # The sensor does not own the run, so a killed sensor never stops it.
        return CodeOceanComputationTrigger(
            conn_id=self.codeocean_conn_id,
            computation_id=resource_id,
            poll_interval=self.poke_interval,
            end_time=end_time,
            execution_deadline=execution_deadline,
            cancel_on_kill=False,
        )

    def finish(self, computation: Computation) -> Any:
        from airflow.providers.common.compat.sdk import AirflowSkipException

        if computation.succeeded:
            return computation.to_dict()
        message = failed_run_message(self.hook, computation)
        if self.soft_fail:
            raise AirflowSkipException(message)
        message = with_output_tail(message, self.hook, computation.id, self.log)
        raise CodeOceanRunFailedError(message, computation=computation.to_dict())
