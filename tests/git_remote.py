"""Local Git repositories standing in for a capsule's external remote (GitHub, GitLab) in tests.

Laid out like a Code Ocean capsule repository: the capsule's code under ``code/``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

_IDENTITY = ("-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false")

RUN_SCRIPT = """#!/bin/sh
# Writes the code version it was run from, and what it finds under /data, into the results.
set -e
mkdir -p ../results
cp VERSION ../results/version.txt
( cd ../data && find -L . -type f | sort ) > ../results/inputs.txt 2>/dev/null || true
echo "ran version $(cat VERSION)"
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *_IDENTITY, *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    """Write ``files`` (paths relative to the repository) and commit them; returns the commit id."""
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if rel.endswith("/run"):
            path.chmod(0o755)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def make_remote(path: Path, version: str = "v1") -> Path:
    """A repository with one commit: ``code/run`` that reports ``code/VERSION``."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    # A non-bare remote must accept pushes to its checked-out branch, as a hosted remote does.
    git(path, "config", "receive.denyCurrentBranch", "updateInstead")
    commit(path, {"code/run": RUN_SCRIPT, "code/VERSION": f"{version}\n"}, f"capsule code {version}")
    return path


def linked_capsule(capsules: Path, name: str, capsule_id: str, remote: Path, **meta: object) -> Path:
    """A capsule folder whose code comes from ``remote``; released once already unless ``released=False``."""
    folder = capsules / name
    folder.mkdir(parents=True)
    body = {"id": capsule_id, "name": name, "released": True, "git_remote": str(remote), **meta}
    (folder / "capsule.json").write_text(json.dumps(body))
    return folder


LINKED_CAPSULE = "11fe0000-0000-4000-8000-00000000c001"
LINKED_PIPELINE = "11fe0000-0000-4000-8000-00000000a001"


def add_linked_capsules(capsules: Path, remotes: Path) -> tuple[Path, Path]:
    """Add ``lifecycle`` (a capsule) and ``lifecycle-pipeline``, each linked to a fresh remote of its own.

    Returns the two remotes (capsule's, pipeline's).
    """
    capsule_remote = make_remote(remotes / "capsule-remote")
    pipeline_remote = make_remote(remotes / "pipeline-remote")
    linked_capsule(capsules, "lifecycle", LINKED_CAPSULE, capsule_remote)
    linked_capsule(capsules, "lifecycle-pipeline", LINKED_PIPELINE, pipeline_remote, kind="pipeline")
    return capsule_remote, pipeline_remote


def seed_asset(assets: Path, asset_id: str, name: str = "reference") -> None:
    """A seeded data asset folder ``name`` (mount ``name``) holding ``ref.txt``."""
    folder = assets / name
    folder.mkdir(parents=True)
    (folder / "ref.txt").write_text("reference data\n")
    (folder / "data_asset.json").write_text(json.dumps({"id": asset_id, "name": name, "mount": name}))


# Fixtures for the modules that run the provider against the emulator's plugin fixture: assigning
# them in a test module (``remote = git_remote.remote_fixture``) gives its emulator the linked capsules
# and two seeded assets.

SEEDED_ASSET = "5eed5eed-0000-4000-8000-00000000a5e1"
OTHER_ASSET = "5eed5eed-0000-4000-8000-00000000a5e2"


@pytest.fixture(name="codeocean_emulator_capsules")
def linked_emulator_capsules(codeocean_emulator_capsules: Path, tmp_path: Path) -> Path:
    add_linked_capsules(codeocean_emulator_capsules, tmp_path / "remotes")
    return codeocean_emulator_capsules


@pytest.fixture(name="codeocean_emulator_options")
def lifecycle_emulator_options(codeocean_emulator_options: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    seed_asset(tmp_path / "assets", SEEDED_ASSET)
    seed_asset(tmp_path / "assets", OTHER_ASSET, "other")
    return {**codeocean_emulator_options, "release_delay": 0.2, "data_assets_dir": tmp_path / "assets"}


@pytest.fixture(name="remote")
def remote_fixture(tmp_path: Path) -> Path:
    """The linked capsule's remote (the pipeline's is ``pipeline-remote`` beside it)."""
    return tmp_path / "remotes" / "capsule-remote"
