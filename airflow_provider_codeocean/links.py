"""Operator extra links to the Code Ocean UI.

The URL is pushed to XCom before the task waits, so the link works while the task is deferred (Airflow 3
computes links on the worker at finalize time, which also runs on deferral).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import TaskInstanceKey

COMPUTATION_URL_KEY = "codeocean_computation_url"
COMPUTATION_ID_KEY = "codeocean_computation_id"
DATA_ASSET_URL_KEY = "codeocean_data_asset_url"
DATA_ASSET_ID_KEY = "codeocean_data_asset_id"


class _XComLink(BaseOperatorLink):  # type: ignore[misc]  # Airflow is not type-followed
    xcom_url_key = ""

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        value = XCom.get_value(key=self.xcom_url_key, ti_key=ti_key)
        return value if isinstance(value, str) else ""


class CodeOceanComputationLink(_XComLink):
    name = "Code Ocean computation"
    xcom_url_key = COMPUTATION_URL_KEY


class CodeOceanDataAssetLink(_XComLink):
    name = "Code Ocean data asset"
    xcom_url_key = DATA_ASSET_URL_KEY
