"""Provider metadata Airflow reads through the ``apache_airflow_provider`` entry point.

Kept free of imports beyond the package version so provider discovery stays cheap.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_codeocean import __version__

_CONN_FIELDS = {
    "request_timeout": {
        "label": "Request timeout (s)",
        "description": "Read timeout of each API request, in seconds (default 60).",
        "schema": {"type": ["number", "null"], "default": 60},
    },
    "connect_timeout": {
        "label": "Connect timeout (s)",
        "description": "Timeout to open a connection, in seconds (default 10).",
        "schema": {"type": ["number", "null"], "default": 10},
    },
    "retry_limit": {
        "label": "Retry limit",
        "description": "Retries of a failed idempotent request (429, 5xx, lost connection); default 5.",
        "schema": {"type": ["integer", "null"], "default": 5},
    },
    "verify_ssl": {
        "label": "Verify TLS certificates",
        "description": "Turn off only for a test deployment with a self-signed certificate.",
        "schema": {"type": ["boolean", "null"], "default": True},
    },
    "agent_id": {
        "label": "Agent id",
        "description": "Sent as the Agent-Id header; Code Ocean shows it as the caller in its UI.",
        "schema": {"type": ["string", "null"]},
    },
    "min_server_version": {
        "label": "Minimum server version",
        "description": "Sent as Min-Server-Version; the server answers 400 if it is older. Off by default.",
        "schema": {"type": ["string", "null"]},
    },
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
                    "airflow_provider_codeocean.operators.results",
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
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": "Code Ocean",
                "python-modules": [
                    "airflow_provider_codeocean.triggers.computation",
                    "airflow_provider_codeocean.triggers.data_asset",
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
                "conn-fields": _CONN_FIELDS,
            }
        ],
        "extra-links": [
            "airflow_provider_codeocean.links.CodeOceanComputationLink",
            "airflow_provider_codeocean.links.CodeOceanDataAssetLink",
        ],
    }
