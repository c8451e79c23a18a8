"""The example DAGs run end to end with ``dag.test()`` on the emulator serving the example capsules.

Outcomes are checked in Code Ocean (the emulator), not in the DAG: exactly one computation per run,
the captured asset is ready with the expected tags and metadata, the result says what the data says.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from typing import Any

import pytest

from tests.airflow_version import AIRFLOW_V_3_0_PLUS
from tests.examples.conftest import EXAMPLE_DAGS

COVERAGE_CAPSULE_ID = "7f3d2a10-5c4e-4b8a-9e21-0c0de0ce0001"
COVERAGE_PIPELINE_ID = "7f3d2a10-5c4e-4b8a-9e21-0c0de0ce0002"
SAMPLE_B = "0d47a000-0000-4000-8000-00000000000b"
SEEDED_ASSETS = 3
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"


@pytest.fixture
def run_example(airflow_db: None, codeocean_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run one example DAG file with ``dag.test()``; returns the DagRun."""
    # Airflow 3.3's dag.test() looks the DAG up in the configured DAG bundles: add example_dags as a
    # second bundle beside the tests' dags folder (Airflow 2.11 ignores the option).
    bundles = [
        {"name": "dags-folder", "classpath": LOCAL_BUNDLE, "kwargs": {}},
        {"name": "example-dags", "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(EXAMPLE_DAGS)}},
    ]
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
    if not AIRFLOW_V_3_0_PLUS:
        # Airflow 2's unit-test mode (set by tests/conftest.py) defaults to the LocalExecutor, which a
        # sensor's dependency check loads and refuses with SQLite; dag.test() runs tasks in-process anyway.
        monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "SequentialExecutor")
    # The examples read their poll interval at parse time.
    monkeypatch.setenv("CODEOCEAN_EXAMPLE_POLL_INTERVAL", "0.1")

    def run(dag_id: str, conf: dict[str, Any] | None = None) -> Any:
        path = EXAMPLE_DAGS / f"{dag_id}.py"
        spec = importlib.util.spec_from_file_location(f"_examples.{dag_id}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module.dag.test(run_conf=conf or {})

    return run


def _states(dag_run: Any) -> dict[str, str]:
    return {f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in dag_run.get_task_instances()}


def _hook() -> Any:
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

    return CodeOceanHook()


def _created_assets(hook: Any) -> list[Any]:
    return [a for a in hook.search_data_assets(type="result")]


def test_seed_flow(run_example: Any, codeocean_emulator: Any) -> None:
    dag_run = run_example("example_codeocean_seed_flow")

    assert str(dag_run.state) in ("success", "DagRunState.SUCCESS"), _states(dag_run)
    # Exactly one run of the capsule, and it succeeded by the strict rule.
    assert codeocean_emulator.count_computations(COVERAGE_CAPSULE_ID) == 1
    hook = _hook()
    (computation,) = hook.list_computations(COVERAGE_CAPSULE_ID)
    assert computation.succeeded
    assert computation.name.startswith("coverage summary sample-a [af-")
    assert {p.get("param_name"): p.get("value") for p in computation.to_dict()["parameters"]} == {
        "min_depth": "20",
        "label": "sample-a",
    }
    # Exactly one captured asset: ready, tagged, with the custom metadata the update set.
    (asset,) = _created_assets(hook)
    assert asset.ready
    assert asset.name == "coverage summary sample-a"
    assert asset.mount == "coverage_summary"
    assert {"coverage", "summary", "sample-a", "airflow"} <= set(asset.tags)
    assert asset.custom_metadata == {"project": "airflow-examples"}
    assert codeocean_emulator.count_data_assets() == SEEDED_ASSETS + 1
    # The capsule really computed the statistics of the bundled data.
    summary = json.loads(hook.read_result_file(computation.id, "summary.json"))
    assert summary["label"] == "sample-a"
    assert summary["files"] == ["coverage/coverage.bedgraph"]
    assert summary["bases"] == 27000
    assert summary["mean_depth"] == pytest.approx(25.59)


def test_seed_flow_takes_its_inputs_from_the_run_config(run_example: Any, codeocean_emulator: Any) -> None:
    dag_run = run_example(
        "example_codeocean_seed_flow",
        {"data_asset_id": SAMPLE_B, "label": "sample-b", "min_depth": "5", "project": "other-project"},
    )

    assert str(dag_run.state) in ("success", "DagRunState.SUCCESS"), _states(dag_run)
    hook = _hook()
    (computation,) = hook.list_computations(COVERAGE_CAPSULE_ID)
    assert computation.to_dict()["data_assets"] == [{"id": SAMPLE_B, "mount": "coverage"}]
    (asset,) = _created_assets(hook)
    assert "sample-b" in asset.tags
    assert asset.custom_metadata == {"project": "other-project"}
    summary = json.loads(hook.read_result_file(computation.id, "summary.json"))
    assert (summary["label"], summary["min_depth"]) == ("sample-b", 5.0)


def test_pipeline_with_process_parameters(run_example: Any, codeocean_emulator: Any) -> None:
    dag_run = run_example("example_codeocean_pipeline", {"min_depth": "0.9"})

    assert str(dag_run.state) in ("success", "DagRunState.SUCCESS"), _states(dag_run)
    hook = _hook()
    (computation,) = hook.list_computations(COVERAGE_PIPELINE_ID, pipeline=True)
    assert computation.succeeded
    summary = json.loads(hook.read_result_file(computation.id, "summary/summary.json"))
    assert (summary["method"], summary["min_depth"]) == ("mean", 0.9)
    # Only the summary step's folder was captured.
    (asset,) = _created_assets(hook)
    assert asset.ready
    assert [item.path for item in hook.walk_data_asset_files(asset.id)] == ["summary.json"]


def test_fan_out_runs_once_per_asset(run_example: Any, codeocean_emulator: Any) -> None:
    dag_run = run_example("example_codeocean_fan_out")

    states = _states(dag_run)
    assert str(dag_run.state) in ("success", "DagRunState.SUCCESS"), states
    assert sum(1 for key in states if key.startswith("run_per_asset[")) == SEEDED_ASSETS
    hook = _hook()
    computations = hook.list_computations(COVERAGE_CAPSULE_ID)
    assert len(computations) == SEEDED_ASSETS
    assert all(c.succeeded for c in computations)
    inputs = sorted(c.to_dict()["data_assets"][0]["id"] for c in computations)
    assert len(set(inputs)) == SEEDED_ASSETS
    captured = _created_assets(hook)
    assert len(captured) == SEEDED_ASSETS
    assert all(a.ready and "fan-out" in a.tags for a in captured)
    assert sorted(a.name.rsplit(" ", 1)[-1] for a in captured) == inputs


def test_sensor_waits_for_a_run_started_elsewhere(run_example: Any, codeocean_emulator: Any) -> None:
    dag_run = run_example("example_codeocean_sensor")

    states = _states(dag_run)
    assert str(dag_run.state) in ("success", "DagRunState.SUCCESS"), states
    assert states["given_computation[-1]"].endswith("skipped")
    assert codeocean_emulator.count_computations(COVERAGE_CAPSULE_ID) == 1


def test_daily_run_is_named_after_its_date(run_example: Any, codeocean_emulator: Any) -> None:
    dag_run = run_example("example_codeocean_daily")

    assert str(dag_run.state) in ("success", "DagRunState.SUCCESS"), _states(dag_run)
    hook = _hook()
    (computation,) = hook.list_computations(COVERAGE_CAPSULE_ID)
    (asset,) = _created_assets(hook)
    ds = asset.name.rsplit(" ", 1)[-1]
    assert computation.name.startswith(f"daily coverage summary {ds} [af-")
    assert ds in asset.tags


def test_release_and_run(run_example: Any, codeocean_emulator: Any, tmp_path: Any) -> None:
    import shutil

    from tests.examples.conftest import EXAMPLE_CAPSULES
    from tests.git_remote import commit, git

    # The example capsule's code in a Git repository standing in for GitHub, then a new commit there.
    remote = tmp_path / "remote"
    shutil.copytree(EXAMPLE_CAPSULES / COVERAGE_CAPSULE_ID / "code", remote / "code")
    git(remote, "init", "-q", "-b", "main")
    commit(remote, {}, "the capsule's code")
    codeocean_emulator.link_git_remote(COVERAGE_CAPSULE_ID, remote)
    pushed = commit(remote, {"code/RELEASE_NOTES": "v2: summary per chromosome\n"}, "v2")

    dag_run = run_example("example_codeocean_release_and_run")

    assert str(dag_run.state) in ("success", "DagRunState.SUCCESS"), _states(dag_run)
    # Exactly one release, which made version 2 from the pulled commit.
    (job,) = codeocean_emulator.release_jobs(COVERAGE_CAPSULE_ID)
    assert job["status"] == "completed" and job["release_version"]["major_version"] == 2
    repo = codeocean_emulator.capsule_code_dir(COVERAGE_CAPSULE_ID).parent
    assert git(repo, "rev-parse", "HEAD") == pushed
    # The run ran that version's snapshot, on the data asset.
    hook = _hook()
    (computation,) = hook.list_computations(COVERAGE_CAPSULE_ID)
    assert computation.succeeded and computation.name.startswith("coverage summary sample-a v2 [af-")
    assert (codeocean_emulator.run_dir(computation.id) / "code" / "RELEASE_NOTES").is_file()
    summary = json.loads(hook.read_result_file(computation.id, "summary.json"))
    assert summary["label"] == "sample-a"
    # The captured results carry the version.
    (asset,) = _created_assets(hook)
    assert asset.ready and "release-v2" in asset.tags
