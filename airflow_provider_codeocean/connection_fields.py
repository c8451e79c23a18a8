"""Every extra of the ``codeocean`` connection, once: the 3.x form (provider info ``conn-fields``), the
2.11 form (WTForms widgets) and the docs table are all built from or checked against this list.

Pure data with no imports, so provider discovery (which reads it through ``get_provider_info``) stays cheap.
"""

from __future__ import annotations

from typing import Any

#: (key, label, JSON type, default or None, help text)
EXTRA_FIELDS: tuple[tuple[str, str, str, Any, str], ...] = (
    (
        "request_timeout",
        "Request timeout (s)",
        "number",
        60,
        "Read timeout of each API request, in seconds; a whole answer must arrive within connect + request timeout.",
    ),
    ("connect_timeout", "Connect timeout (s)", "number", 10, "Timeout to open a connection, in seconds."),
    (
        "retry_limit",
        "Retry limit",
        "integer",
        5,
        "Retries of a failed request that is safe to resend (429, 5xx, lost connection).",
    ),
    (
        "retry_backoff",
        "Retry backoff (s)",
        "number",
        1,
        "First wait between retries, in seconds (exponential, jittered).",
    ),
    (
        "retry_max_wait",
        "Longest retry wait (s)",
        "number",
        60,
        "Longest wait between retries, also the cap on the server's Retry-After.",
    ),
    (
        "verify_ssl",
        "Verify TLS certificates",
        "boolean",
        True,
        "Turn off only for a test deployment with a self-signed certificate.",
    ),
    (
        "ca_bundle",
        "CA bundle path",
        "string",
        None,
        "Path of a CA bundle on every Airflow machine, for a deployment behind a private certificate authority.",
    ),
    ("agent_id", "Agent id", "string", None, "Sent as the Agent-Id header; Code Ocean shows it as the caller."),
    (
        "min_server_version",
        "Minimum server version",
        "string",
        None,
        "Sent as Min-Server-Version; the server answers 400 if it is older. Off by default.",
    ),
    (
        "allow_insecure_http",
        "Allow plain http://",
        "boolean",
        False,
        "Allow http:// to a host that is not this machine; the API token would travel unencrypted.",
    ),
    (
        "computation_url_template",
        "Computation link template",
        "string",
        None,
        "The link shown on run tasks; default {base_url}/computations/{id}.",
    ),
    (
        "data_asset_url_template",
        "Data asset link template",
        "string",
        None,
        "The link shown on data asset tasks; default {base_url}/data-assets/{id}.",
    ),
)


def conn_fields() -> dict[str, Any]:
    """The provider info's ``conn-fields`` (the connection form of Airflow 3.x)."""
    fields: dict[str, Any] = {}
    for key, label, kind, default, help_text in EXTRA_FIELDS:
        schema: dict[str, Any] = {"type": [kind, "null"]}
        if default is not None:
            schema["default"] = default
        fields[key] = {"label": label, "description": help_text, "schema": schema}
    return fields
