"""The capsule lifecycle: pull the latest commit, release it as a new version, run exactly that version.

Every result then points at a released, citable version of the code:

1. ``git_sync`` syncs the capsule with its Git remote (GitHub, GitLab...): the commits pushed there are
   pulled into the capsule. The counts are logged and returned.
2. ``release`` releases the capsule's current state as a new version and waits in the triggerer for
   the release job (deferrable). It returns the release capsule's id and the version number; a failed
   release fails the task with Code Ocean's reason, and unmet release requirements are listed one by
   one. An ambiguous failure of the release request never starts a second release.
3. ``run_released_version`` runs exactly that version (``version=``, pulled from the release's XCom) on
   a data asset, and waits deferred.
4. ``capture_results`` captures the run's results as a data asset tagged with the version, so the data
   names the code that made it.

The capsule must be linked to a Git repository and released once already in the Code Ocean app (only
later releases can be made through the API). On the bundled emulator, link the example capsule with
``CodeOceanEmulator.link_git_remote()`` or ``"git_remote"`` in its ``capsule.json`` (see
docs/capsule-lifecycle.md); tests/examples does so with a throwaway repository.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

# Airflow symbols through common-compat, so the same file parses on Airflow 2.11 and 3.x.
from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_codeocean.operators.capsule import CodeOceanGitSyncOperator
from airflow_provider_codeocean.operators.computation import CodeOceanRunCapsuleOperator
from airflow_provider_codeocean.operators.data_asset import CodeOceanCreateDataAssetOperator
from airflow_provider_codeocean.operators.release import CodeOceanReleaseOperator

# The example capsule and data asset shipped in example_dags/capsules and example_dags/data/assets.
COVERAGE_CAPSULE_ID = "7f3d2a10-5c4e-4b8a-9e21-0c0de0ce0001"
SAMPLE_A_DATA_ASSET_ID = "0d47a000-0000-4000-8000-00000000000a"
# Every wait is deferred: no worker slot is held while Code Ocean builds or computes.
WAIT_DEFERRED = {"deferrable": True, "poll_interval": float(os.environ.get("CODEOCEAN_EXAMPLE_POLL_INTERVAL", "30"))}
# The release task's XCom is {"capsule_id": ..., "version": ..., ...}; these pull its two fields.
RELEASE_CAPSULE = "{{ ti.xcom_pull(task_ids='release')['capsule_id'] }}"
VERSION = "{{ ti.xcom_pull(task_ids='release')['version'] }}"

with DAG(
    dag_id="example_codeocean_release_and_run",
    doc_md=__doc__,
    description="Sync a capsule with Git, release a version, run exactly that version, capture its results",
    params={
        "capsule_id": Param(COVERAGE_CAPSULE_ID, type="string", description="Capsule to release and run"),
        "data_asset_id": Param(SAMPLE_A_DATA_ASSET_ID, type="string", description="Input data asset"),
        "label": Param("sample-a", type="string", description="Named parameter --label"),
    },
    # Run on demand, e.g. from a CI job after a push to the capsule's repository.
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["codeocean", "example", "release"],
    # A retry is safe: the release and the run are found again, never started twice.
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
) as dag:
    sync = CodeOceanGitSyncOperator(task_id="git_sync", capsule_id="{{ params.capsule_id }}")

    # Releases build the capsule's environment: minutes, rarely hours.
    release = CodeOceanReleaseOperator(
        task_id="release", capsule_id="{{ params.capsule_id }}", timeout=timedelta(hours=2), **WAIT_DEFERRED
    )

    run = CodeOceanRunCapsuleOperator(
        task_id="run_released_version",
        # Exactly the released version, whatever is pushed to the repository meanwhile.
        capsule_id=RELEASE_CAPSULE,
        version=VERSION,
        data_assets=[{"id": "{{ params.data_asset_id }}", "mount": "coverage"}],
        named_parameters={"label": "{{ params.label }}"},
        name=f"coverage summary {{{{ params.label }}}} v{VERSION}",
        **WAIT_DEFERRED,
    )

    # The version in the asset's name and tags: the data names the code that made it.
    capture = CodeOceanCreateDataAssetOperator(
        task_id="capture_results",
        computation_id=run.output,
        name=f"coverage summary {{{{ params.label }}}} v{VERSION}",
        description=f"Made by version {VERSION} of capsule {{{{ params.capsule_id }}}}",
        mount="coverage_summary",
        tags=["coverage", "summary", "{{ params.label }}", f"release-v{VERSION}"],
        **WAIT_DEFERRED,
    )

    sync >> release >> run
