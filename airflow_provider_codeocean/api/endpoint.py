"""Moved to :mod:`airflow_provider_codeocean.api.wire`; kept only until the parallel branches merge."""

from airflow_provider_codeocean.api.wire import Endpoint, seg

__all__ = ["Endpoint", "seg"]
