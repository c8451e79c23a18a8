"""The ``codeocean`` connection: its form in the Airflow UI, reading it into settings, masking the token."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
from typing import Any

from airflow_provider_codeocean.api.settings import ClientSettings
from airflow_provider_codeocean.connection_fields import EXTRA_FIELDS

CONNECTION_UI = {
    "hidden_fields": ["login", "schema", "port"],
    "relabeling": {"host": "Domain", "password": "API Token"},
    "placeholders": {
        "host": "https://acme.codeocean.com",
        "password": "cop_...",
        "extra": '{"request_timeout": 60, "retry_limit": 5, "verify_ssl": true, "agent_id": "Apache Airflow"}',
    },
}


def connection_form_widgets() -> dict[str, Any]:
    """The extra fields of the connection form (Airflow < 3.2 reads these; newer versions read get_provider_info)."""
    try:
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, StringField
    except ImportError:
        return {}
    widgets: dict[str, Any] = {}
    for key, label, kind, default, help_text in EXTRA_FIELDS:
        if kind == "boolean":
            widgets[key] = BooleanField(lazy_gettext(label), default=default, description=help_text)
        else:
            widgets[key] = StringField(lazy_gettext(label), widget=BS3TextFieldWidget(), description=help_text)
    return widgets


def settings_from(conn: Any, extra: Any, conn_id: str, overrides: dict[str, Any]) -> ClientSettings:
    """Settings from an Airflow connection and its extra; ``overrides`` are the hook's own arguments."""
    settings = ClientSettings.from_connection(
        host=conn.host,
        password=conn.password,
        login=conn.login,
        port=conn.port,
        extra=extra if isinstance(extra, dict) else {},
        conn_id=conn_id,
    )
    return dataclasses.replace(settings, **overrides) if overrides else settings


async def async_extra(conn: Any) -> Any:
    """The connection's extra without blocking the event loop.

    common-compat 1.20 (the newest on Python 3.10) lacks ``get_async_extra_dejson``; there the sync
    property runs in a worker thread, as the newer helper itself does before Airflow 3.3.2.
    """
    try:
        from airflow.providers.common.compat.connection import get_async_extra_dejson
    except ImportError:
        from asgiref.sync import sync_to_async

        return await sync_to_async(lambda: conn.extra_dejson)()
    return await get_async_extra_dejson(conn)


async def amask_secret(secret: str) -> None:
    """Register a secret with the secrets masker without a blocking call on the event loop."""
    try:
        from airflow.sdk.log import amask_secret as airflow_amask_secret
    except ImportError:
        from asgiref.sync import sync_to_async

        await sync_to_async(mask_secret)(secret)
        return
    with contextlib.suppress(Exception):
        await airflow_amask_secret(secret)


def mask_secret(secret: str) -> None:
    """Register a secret with the secrets masker, so Airflow's logs show it as ``***``."""
    # common-compat 1.20 (Python 3.10) does not export mask_secret; the Airflow modules it would pick do.
    for module in ("airflow.providers.common.compat.sdk", "airflow.sdk.log", "airflow.utils.log.secrets_masker"):
        try:
            mask = importlib.import_module(module).mask_secret
        except (ImportError, AttributeError):
            continue
        with contextlib.suppress(Exception):
            mask(secret)
        return
