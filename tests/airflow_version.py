"""Airflow version gates for tests that behave differently on Airflow 2 and 3 (the package itself needs none)."""

from __future__ import annotations

from airflow import __version__
from packaging.version import Version

AIRFLOW_V_3_0_PLUS = Version(__version__).release >= (3, 0, 0)
