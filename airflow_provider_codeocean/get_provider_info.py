"""Provider metadata Airflow reads through the ``apache_airflow_provider`` entry point.

Kept free of imports beyond the package version so provider discovery stays cheap.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_codeocean import __version__
from airflow_provider_codeocean.connection_fields import conn_fields

_CODEOCEAN_URIS = {
    "schemes": ["codeocean"],
    "handler": "airflow_provider_codeocean.assets.normalize_uri",
    "to_openlineage_converter": "airflow_provider_codeocean.assets.convert_to_openlineage",
}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-codeocean",
        "name": "Code Ocean",
        "description": "Run Code Ocean capsules and pipelines, and manage data assets, from Apache Airflow.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Code Ocean",
                "external-doc-url": "https://docs.codeocean.com/user-guide/code-ocean-api",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Code Ocean",
                "python-modules": ["airflow_provider_codeocean.hooks.codeocean"],
            }
        ],
        "operators": [
            {
                "integration-name": "Code Ocean",
                "python-modules": [
                    "airflow_provider_codeocean.operators.computation",
                    "airflow_provider_codeocean.operators.data_asset",
                    "airflow_provider_codeocean.operators.data_asset_retention",
                    "airflow_provider_codeocean.operators.data_asset_update",
                    "airflow_provider_codeocean.operators.results",
                    "airflow_provider_codeocean.operators.search",
                    "airflow_provider_codeocean.operators.capsule",
                    "airflow_provider_codeocean.operators.release",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Code Ocean",
                "python-modules": [
                    "airflow_provider_codeocean.sensors.computation",
                    "airflow_provider_codeocean.sensors.data_asset",
                    "airflow_provider_codeocean.sensors.data_asset_search",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": "Code Ocean",
                "python-modules": [
                    "airflow_provider_codeocean.triggers.computation",
                    "airflow_provider_codeocean.triggers.data_asset",
                    "airflow_provider_codeocean.triggers.data_asset_search",
                    "airflow_provider_codeocean.triggers.data_asset_watch",
                    "airflow_provider_codeocean.triggers.release",
                ],
            }
        ],
        "connection-types": [
            {
                "connection-type": "codeocean",
                "hook-class-name": "airflow_provider_codeocean.hooks.codeocean.CodeOceanHook",
                "hook-name": "Code Ocean",
                "ui-field-behaviour": {
                    "hidden-fields": ["login", "schema", "port"],
                    "relabeling": {"host": "Domain", "password": "API Token"},
                    "placeholders": {"host": "https://acme.codeocean.com", "password": "cop_..."},
                },
                "conn-fields": conn_fields(),
            }
        ],
        # Airflow 3 reads asset-uris, Airflow 2.11 dataset-uris; one handler serves both.
        "asset-uris": [_CODEOCEAN_URIS],
        "dataset-uris": [_CODEOCEAN_URIS],
        "extra-links": [
            "airflow_provider_codeocean.links.CodeOceanComputationLink",
            "airflow_provider_codeocean.links.CodeOceanDataAssetLink",
        ],
    }
