"""The id and URL a task pushes before it waits, so the "Code Ocean ..." link works while it waits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean.links import (
    COMPUTATION_ID_KEY,
    COMPUTATION_URL_KEY,
    DATA_ASSET_ID_KEY,
    DATA_ASSET_URL_KEY,
)

if TYPE_CHECKING:
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook


def push_computation_link(context: Any, hook: CodeOceanHook, computation_id: str) -> str:
    """Push the computation's id and URL; returns the URL."""
    url = hook.computation_url(computation_id)
    context["ti"].xcom_push(key=COMPUTATION_ID_KEY, value=computation_id)
    context["ti"].xcom_push(key=COMPUTATION_URL_KEY, value=url)
    return url


def push_data_asset_link(context: Any, hook: CodeOceanHook, data_asset_id: str, log: Any) -> None:
    url = hook.data_asset_url(data_asset_id)
    context["ti"].xcom_push(key=DATA_ASSET_ID_KEY, value=data_asset_id)
    context["ti"].xcom_push(key=DATA_ASSET_URL_KEY, value=url)
    log.info("Code Ocean data asset %s: %s", data_asset_id, url)
