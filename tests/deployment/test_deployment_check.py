"""The deployment check (scripts/deployment_check.py) passes: a real Airflow 3 deployment runs the seed flow.

Slow (about a minute and a half: it starts an api-server, a scheduler, a dag-processor and a triggerer);
deselect with ``-m "not deployment"``. Airflow 2 has no dag-processor or api-server, so it is skipped there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.airflow_version import AIRFLOW_V_3_0_PLUS

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "deployment_check.py"
BIN_DIR = Path(sys.executable).parent


@pytest.mark.deployment
@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="the deployment check runs Airflow 3 services")
@pytest.mark.skipif(not (BIN_DIR / "codeocean-emulator").exists(), reason="the provider is not installed here")
def test_seed_flow_on_a_real_deployment() -> None:
    output = run_check(SCRIPT, bound=280)
    # The deferred wait was served by the triggerer the check started.
    assert "CodeOceanComputationTrigger) ran on triggerer job" in output
    assert "exactly one computation of the capsule" in output


EVENT_SCRIPT = SCRIPT.with_name("event_driven_check.py")


@pytest.mark.deployment
@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="AssetWatcher and the deployment's services are Airflow 3's")
@pytest.mark.skipif(not (BIN_DIR / "codeocean-emulator").exists(), reason="the provider is not installed here")
def test_new_data_assets_start_dag_runs_once_each_across_a_triggerer_kill() -> None:
    output = run_check(EVENT_SCRIPT, bound=300)
    assert "started nothing" in output
    assert "exactly 2 DAG runs and 2 asset events" in output


def run_check(script: Path, bound: float) -> str:
    """Run a check script to its end; its output, once it passed."""
    # The check bounds itself and stops every process it started; this timeout is a backstop.
    result = subprocess.run(
        [sys.executable, str(script), "--bin-dir", str(BIN_DIR), "--timeout", str(bound)],
        capture_output=True,
        text=True,
        timeout=bound + 50,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "deployment check passed" in output
    return output
