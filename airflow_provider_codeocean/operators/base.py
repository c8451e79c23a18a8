"""What every Code Ocean operator shares: the connection, a lazily built hook, and error retyping."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_codeocean._common.deferral import reraise
from airflow_provider_codeocean.errors import CodeOceanError

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook


class CodeOceanBaseOperator(BaseOperator):  # type: ignore[misc]  # Airflow is not type-followed
    """Base of the Code Ocean operators.

    The hook is built on first use, so importing or parsing a DAG never touches the HTTP stack or the
    API. Errors that retrying cannot fix (bad input, HTTP 400/401/403/404) are re-raised as types that are
    also ``AirflowFailException``, so Airflow does not retry them; ``except CodeOceanNotFoundError`` and
    the like still catch them.

    :param codeocean_conn_id: the Airflow connection to Code Ocean.
    """

    def __init__(self, *, codeocean_conn_id: str = "codeocean_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.codeocean_conn_id = codeocean_conn_id

    @cached_property
    def hook(self) -> CodeOceanHook:
        from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

        return CodeOceanHook(self.codeocean_conn_id)

    def execute(self, context: Context) -> Any:
        try:
            return self._execute(context)
        except CodeOceanError as exc:
            reraise(exc)

    def _execute(self, context: Context) -> Any:
        raise NotImplementedError
