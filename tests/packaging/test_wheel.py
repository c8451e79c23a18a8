"""The package a user installs: the sdist and wheel pass ``twine check``, the wheel carries ``py.typed``
and the emulator's built-in capsules and nothing from ``tests/``, and, installed in a new virtual
environment outside this checkout, it runs the complete example of docs/testing-your-dags.md.

Needs uv (``make test`` installs it) and a package index or uv's cache, for the build backend and the
locked Airflow 3.3 requirements. Runs once, under Airflow 3.3 (``make test``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.dag_testing.doc_example import python_block, write_example

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[2]
BUILTIN_CAPSULES = REPO / "airflow_provider_codeocean" / "testing" / "builtin_capsules"


def _uv() -> str:
    for candidate in (os.environ.get("UV"), shutil.which("uv"), str(REPO / ".tools" / "bin" / "uv")):
        if candidate and Path(candidate).exists():
            return candidate
    raise AssertionError("uv not found: run `make test` (it installs uv into .tools/) or put uv on PATH")


def _run(args: list[str], **kwargs: object) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHONPATH", "VIRTUAL_ENV"))}
    result = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=env,
        **kwargs,  # type: ignore[call-overload]
    )
    output: str = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{output[-6000:]}"
    return output


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, built as a release would be (the wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    _run([_uv(), "build", "--quiet", "--out-dir", str(out), str(REPO)])
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (path,) = dist.glob("*.whl")
    return path


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A new virtual environment outside the checkout with the wheel, Airflow 3.3 (locked) and twine."""
    root = tmp_path_factory.mktemp("user-venv")
    assert REPO not in root.parents
    venv = root / "venv"
    uv = _uv()
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
    locks = REPO / "requirements"
    pins = ["-r", str(locks / "airflow-3.3.txt"), "-r", str(locks / "packaging.txt")]
    _run([uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), *pins, str(wheel)])
    return venv


def test_sdist_and_wheel_pass_twine_check(dist: Path, venv: Path) -> None:
    files = sorted(str(p) for p in dist.iterdir() if p.suffix in (".whl", ".gz"))
    assert len(files) == 2, files
    output = _run([str(venv / "bin" / "twine"), "check", "--strict", *files])
    assert output.count("PASSED") == 2, output


def test_the_wheel_carries_what_users_need_and_no_tests(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "airflow_provider_codeocean/py.typed" in names
    capsules = {p.relative_to(REPO).as_posix() for p in BUILTIN_CAPSULES.rglob("*") if p.is_file()}
    capsules = {c for c in capsules if "__pycache__" not in c}
    assert capsules, "no built-in capsules in the checkout"
    assert capsules <= set(names), sorted(capsules - set(names))
    assert not [n for n in names if n.startswith(("tests/", "example_dags/", "docs/", "scripts/"))]
    assert all(n.startswith("airflow_provider_codeocean") for n in names), names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    # The capsules' run scripts keep their executable bit.
    info = zipfile.ZipFile(wheel).getinfo("airflow_provider_codeocean/testing/builtin_capsules/echo/code/run")
    assert (info.external_attr >> 16) & 0o111


def test_the_metadata_points_users_at_the_project(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        (meta_name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(zf.read(meta_name).decode())
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert set(urls) == {"Documentation", "Source", "Changelog", "Issues"}
    assert all(u.startswith("https://") for u in urls.values())
    assert meta["License-Expression"] == "Apache-2.0"
    assert "Typing :: Typed" in (meta.get_all("Classifier") or [])
    entry_points = zipfile.ZipFile(wheel).read(meta_name.replace("METADATA", "entry_points.txt")).decode()
    assert "codeocean_emulator = airflow_provider_codeocean.testing.pytest_plugin" in entry_points


def test_the_sdist_has_the_license_and_no_local_files(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = [n.split("/", 1)[1] for n in tar.getnames() if "/" in n]
    assert {"LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml"} <= set(names)
    assert not [n for n in names if n.startswith((".venv", ".tools", "tests/", "site/")) or "__pycache__" in n]


def test_the_installed_wheel_runs_a_users_dag_test(venv: Path, tmp_path: Path) -> None:
    """The documented example, from the page, in an empty folder, with only the wheel installed."""
    python = str(venv / "bin" / "python")
    where = _run([python, "-c", "import airflow_provider_codeocean as m; print(m.__file__)"], cwd=tmp_path)
    assert str(venv) in where and str(REPO) not in where, where
    _run([str(venv / "bin" / "codeocean-emulator"), "--help"], cwd=tmp_path)

    project = write_example(tmp_path / "my_project")
    output = _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=project)
    assert "2 passed" in output, output[-3000:]


def test_the_emulator_pages_example_runs_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    """docs/emulator.md's context-manager example, as written, with the built-in capsules."""
    script = tmp_path / "example.py"
    script.write_text(python_block("emulator.md", "with CodeOceanEmulator("))
    output = _run([str(venv / "bin" / "python"), str(script)], cwd=tmp_path)
    assert "arguments: --message hi" in output, output
