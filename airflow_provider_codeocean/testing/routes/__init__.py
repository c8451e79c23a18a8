"""Thin HTTP handlers: parse the request, call the backend, build the response.

The handlers' vocabulary (request, responses, route table) is re-exported here so each route
module imports it from one place.
"""

from __future__ import annotations

from airflow_provider_codeocean.testing.backend.backend import Backend
from airflow_provider_codeocean.testing.http.messages import Request, Response, json_response, no_content
from airflow_provider_codeocean.testing.http.router import Handler

RouteTable = list[tuple[str, str, Handler[Backend]]]

__all__ = ["Backend", "Request", "Response", "RouteTable", "json_response", "no_content"]
