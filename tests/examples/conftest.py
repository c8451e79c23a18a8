"""Fixtures for the example DAG tests: the example capsules and bundled data assets on the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.airflow_version import AIRFLOW_V_3_0_PLUS

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
EXAMPLE_CAPSULES = EXAMPLE_DAGS / "capsules"
EXAMPLE_DATA_ASSETS = EXAMPLE_DAGS / "data" / "assets"
EXAMPLE_DAG_IDS = {
    "example_codeocean_seed_flow",
    "example_codeocean_pipeline",
    "example_codeocean_fan_out",
    "example_codeocean_sensor",
    "example_codeocean_daily",
    "example_codeocean_assets_producer",
    "example_codeocean_assets_consumer",
    "example_codeocean_release_and_run",
}
if AIRFLOW_V_3_0_PLUS:  # AssetWatcher: event-driven scheduling is Airflow 3's
    EXAMPLE_DAG_IDS.add("example_codeocean_new_raw_data")


@pytest.fixture
def codeocean_emulator_capsules() -> Path:
    """Serve the example capsules instead of the emulator's built-in ones."""
    return EXAMPLE_CAPSULES


@pytest.fixture
def codeocean_emulator_options() -> dict[str, Any]:
    return {"data_assets_dir": EXAMPLE_DATA_ASSETS, "asset_ready_delay": 0.05}
