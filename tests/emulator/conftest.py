"""Shared fixtures for the emulator tests: real HTTP against a real emulator, never mocks."""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_codeocean.testing import BUILTIN_CAPSULES_DIR, CodeOceanEmulator

FIXTURE_CAPSULES = Path(__file__).parent.parent / "fixtures" / "capsules"
TOKEN = "cop_test_token"


@pytest.fixture
def capsules_dir(tmp_path: Path) -> Path:
    """The built-in capsules plus the test capsules, side by side in one folder."""
    combined = tmp_path / "capsules"
    combined.mkdir()
    for source in (BUILTIN_CAPSULES_DIR, FIXTURE_CAPSULES):
        for folder in source.iterdir():
            if folder.is_dir():
                (combined / folder.name).symlink_to(folder, target_is_directory=True)
    return combined


@pytest.fixture
def buckets_dir(tmp_path: Path) -> Path:
    root = tmp_path / "buckets"
    (root / "raw-bucket" / "plates" / "day1").mkdir(parents=True)
    (root / "raw-bucket" / "plates" / "day1" / "a.csv").write_text("x,y\n1,2\n")
    (root / "raw-bucket" / "plates" / "readme.txt").write_text("plates\n")
    (root / "gcs-bucket" / "images").mkdir(parents=True)
    (root / "gcs-bucket" / "images" / "img.bin").write_bytes(b"\x00\x01\x02")
    (root / "export-bucket").mkdir()
    return root


@pytest.fixture
def data_assets_dir(tmp_path: Path) -> Path:
    root = tmp_path / "seeded"
    (root / "reference-genome" / "chr1").mkdir(parents=True)
    (root / "reference-genome" / "chr1" / "seq.fa").write_text(">chr1\nACGT\n")
    (root / "reference-genome" / "data_asset.json").write_text(
        '{"id": "5eed5eed-0000-4000-8000-000000000001", "name": "Reference genome", "mount": "genome",'
        ' "tags": ["reference"], "custom_metadata": {"project": "ref"}}'
    )
    (root / "samples").mkdir()
    (root / "samples" / "s1.txt").write_text("sample one\n")
    return root


@pytest.fixture
def emu_options() -> dict[str, Any]:
    return {}


@pytest.fixture
def emu(
    capsules_dir: Path,
    buckets_dir: Path,
    data_assets_dir: Path,
    tmp_path: Path,
    emu_options: dict[str, Any],
) -> Iterator[CodeOceanEmulator]:
    options: dict[str, Any] = {
        "state_dir": tmp_path / "state",
        "buckets_dir": buckets_dir,
        "data_assets_dir": data_assets_dir,
        "asset_ready_delay": 0.05,
        "seed": 1234,
        **emu_options,
    }
    with CodeOceanEmulator(capsules_dir, TOKEN, **options) as emulator:
        yield emulator


@pytest.fixture
def api(emu: CodeOceanEmulator) -> Iterator[requests.Session]:
    """A plain requests session with the emulator's token, like the vendor's curl examples."""
    with requests.Session() as session:
        session.auth = (emu.token, "")
        session.headers["Content-Type"] = "application/json"
        yield session


@pytest.fixture
def url(emu: CodeOceanEmulator) -> Callable[[str], str]:
    def build(path: str) -> str:
        return f"{emu.base_url}/api/v1/{path.lstrip('/')}"

    return build


@pytest.fixture(autouse=True)
def _no_server_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Any handler crash (a 500 with a logged traceback) fails the test that caused it."""
    caplog.set_level(logging.ERROR, logger="airflow_provider_codeocean.testing")
    yield
    crashes = [r for r in caplog.records if r.name.startswith("airflow_provider_codeocean.testing")]
    assert not crashes, [r.getMessage() for r in crashes]


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def console_script() -> list[str]:
    """The installed ``codeocean-emulator`` command, or the module when entry points are not installed."""
    installed = shutil.which("codeocean-emulator", path=str(Path(sys.executable).parent))
    return [installed] if installed else [sys.executable, "-m", "airflow_provider_codeocean.testing.cli"]


@contextlib.contextmanager
def emulator_process(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The emulator command line with ``args`` and its base URL (its first line); killed if still running."""
    process = subprocess.Popen([*console_script(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process, process.stdout.readline().strip()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
