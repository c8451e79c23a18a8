"""docs/testing-your-dags.md's complete example passes, as a user would run it: ``pytest`` in the example
project's folder, with the provider's pytest plugin and ``codeocean_dag_test`` fixture.

Runs under every Airflow the suite runs under (2.11, 3.0 to 3.3); the packaging test runs the same
example from a wheel installed in a fresh virtual environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dag_testing.doc_example import example_files, write_example

REPO = Path(__file__).resolve().parents[2]


def test_the_example_has_a_dag_a_capsule_and_tests() -> None:
    assert set(example_files()) == {
        "dags/word_count.py",
        "capsules/word-count/capsule.json",
        "capsules/word-count/code/run",
        "tests/conftest.py",
        "tests/test_word_count.py",
    }


@pytest.mark.integration
def test_the_documented_example_passes(tmp_path: Path) -> None:
    project = write_example(tmp_path / "my_project")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    # This checkout's provider, as the test session sees it (editable install or PYTHONPATH).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "2 passed" in output
