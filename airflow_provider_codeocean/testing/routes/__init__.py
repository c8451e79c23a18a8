"""Thin HTTP handlers: parse the request, call the backend, build the response."""

from __future__ import annotations

from airflow_provider_codeocean.testing.backend.backend import Backend
from airflow_provider_codeocean.testing.http.router import Handler

RouteTable = list[tuple[str, str, Handler[Backend]]]
