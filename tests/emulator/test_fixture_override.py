"""Overriding the fixture's capsules folder and options from a test module (or a conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_codeocean.testing import CodeOceanEmulator

from .conftest import FIXTURE_CAPSULES


@pytest.fixture
def codeocean_emulator_capsules() -> Path:
    return FIXTURE_CAPSULES


@pytest.fixture
def codeocean_emulator_options() -> dict[str, Any]:
    return {"token": "cop_override", "faults": "503 times=1 path=/api/v1/capsules/search"}


def test_overrides_apply(codeocean_emulator: CodeOceanEmulator) -> None:
    assert codeocean_emulator.token == "cop_override"
    search = f"{codeocean_emulator.base_url}/api/v1/capsules/search"
    assert requests.post(search, json={}, auth=("cop_override", ""), timeout=10).status_code == 503
    names = {c["name"] for c in requests.post(search, json={}, auth=("cop_override", ""), timeout=10).json()["results"]}
    assert "Data reader" in names
    assert "Echo and summarize" not in names
