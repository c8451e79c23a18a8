"""CodeOceanDownloadResultsOperator and CodeOceanReadResultOperator against the emulator over HTTP."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_codeocean.errors import CodeOceanConfigError, CodeOceanError, CodeOceanRunFailedError
from airflow_provider_codeocean.operators.results import (
    CodeOceanDownloadResultsOperator,
    CodeOceanReadResultOperator,
)
from tests.operators.test_data_asset_support import ECHO, FAILING, NESTED, make_context, run_capsule

NESTED_FILES = {
    "a/b/c/blob.bin",
    "a/b/deep.txt",
    "big.txt",
    "logs/empty.log",
    "metrics.json",
    "output",
    "plots/one.png",
    "plots/two.png",
    "top.txt",
}


# A computation id of the local test server (ids are checked for the UUID shape before any request).
RUN = "c1c1c1c1-0000-4000-8000-000000000001"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def expected_files(emulator: Any, computation_id: str) -> dict[str, tuple[int, str]]:
    """Size and hash of every result file, read from the emulator's own results folder."""
    results = emulator.run_dir(computation_id) / "results"
    return {
        p.relative_to(results).as_posix(): (p.stat().st_size, _sha256(p.read_bytes()))
        for p in results.rglob("*")
        if p.is_file()
    }


def download(computation_id: str, destination: Any, **kwargs: Any) -> list[dict[str, Any]]:
    op = CodeOceanDownloadResultsOperator(
        task_id="download", computation_id=computation_id, destination=destination, **kwargs
    )
    return op.execute(make_context())


@pytest.fixture
def nested(codeocean_emulator: Any) -> dict[str, Any]:
    return run_capsule(codeocean_emulator, NESTED)


def test_a_nested_tree_is_downloaded_and_verified_by_hash(
    codeocean_emulator: Any, nested: dict[str, Any], tmp_path: Path
) -> None:
    written = download(nested["id"], str(tmp_path / "out"))

    expected = expected_files(codeocean_emulator, nested["id"])
    assert set(expected) == NESTED_FILES
    assert {w["path"]: (w["size"], w["sha256"]) for w in written} == expected
    for entry in written:
        on_disk = Path(entry["destination"])
        assert on_disk == tmp_path / "out" / entry["path"]
        assert _sha256(on_disk.read_bytes()) == entry["sha256"]
    # Nothing half-written is left behind.
    assert not [p for p in (tmp_path / "out").rglob("*.part")]


def test_object_storage_destination(codeocean_emulator: Any, nested: dict[str, Any], tmp_path: Path) -> None:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    written = download(nested["id"], f"file://{tmp_path}/store", include=["*.bin", "metrics.json"])
    expected = expected_files(codeocean_emulator, nested["id"])
    assert {w["path"]: (w["size"], w["sha256"]) for w in written} == {
        k: expected[k] for k in ("a/b/c/blob.bin", "metrics.json")
    }
    assert (tmp_path / "store" / "a" / "b" / "c" / "blob.bin").stat().st_size == 300000

    # An ObjectStoragePath works as given.
    again = download(nested["id"], ObjectStoragePath(f"file://{tmp_path}/store2"), path="plots")
    assert sorted(w["path"] for w in again) == ["plots/one.png", "plots/two.png"]
    assert (tmp_path / "store2" / "plots" / "one.png").read_bytes() == b"png-1"


def test_filters_by_folder_and_glob(codeocean_emulator: Any, nested: dict[str, Any], tmp_path: Path) -> None:
    assert sorted(w["path"] for w in download(nested["id"], tmp_path / "a", path="a")) == [
        "a/b/c/blob.bin",
        "a/b/deep.txt",
    ]
    assert sorted(w["path"] for w in download(nested["id"], tmp_path / "b", include="*.txt")) == [
        "a/b/deep.txt",
        "big.txt",
        "top.txt",
    ]
    assert download(nested["id"], tmp_path / "c", include="*.nothing") == []
    with pytest.raises(CodeOceanError, match="no result files"):
        download(nested["id"], tmp_path / "d", include="*.nothing", fail_if_empty=True)


def test_an_expired_signed_url_is_replaced_and_the_file_retried(
    codeocean_emulator: Any, nested: dict[str, Any], tmp_path: Path
) -> None:
    # The storage answers 403 (as for an expired signature) to the first two downloads.
    codeocean_emulator.add_fault("403 method=GET path=/_signed/** times=2")
    written = download(nested["id"], f"file://{tmp_path}/store", include="a/b/c/*")
    written += download(nested["id"], tmp_path / "local", include="top.txt")

    expected = expected_files(codeocean_emulator, nested["id"])
    assert {w["path"]: w["sha256"] for w in written} == {
        "a/b/c/blob.bin": expected["a/b/c/blob.bin"][1],
        "top.txt": expected["top.txt"][1],
    }
    url_requests = [r for r in codeocean_emulator.requests() if r["path"].endswith("/results/urls")]
    assert len(url_requests) >= 3  # a fresh signed URL per attempt


def test_transient_errors_are_retried(codeocean_emulator: Any, nested: dict[str, Any], tmp_path: Path) -> None:
    codeocean_emulator.add_fault("reset method=GET path=/_signed/** times=1")
    codeocean_emulator.add_fault("503 method=POST path=/api/v1/computations/*/results times=1")
    written = download(nested["id"], f"file://{tmp_path}/store")
    assert {w["path"] for w in written} == NESTED_FILES


def test_a_failed_run_can_be_downloaded_unless_success_is_required(codeocean_emulator: Any, tmp_path: Path) -> None:
    failed = run_capsule(codeocean_emulator, FAILING)
    assert {w["path"] for w in download(failed["id"], tmp_path / "out")} == {"output", "partial.txt"}
    with pytest.raises(CodeOceanRunFailedError, match="did not succeed") as info:
        download(failed["id"], tmp_path / "out2", require_success=True)
    # The run is finished: no retry of the task can change that, so Airflow does not retry.
    from airflow.providers.common.compat.sdk import AirflowFailException

    assert isinstance(info.value, AirflowFailException)


def test_an_unfinished_run_is_refused(codeocean_emulator: Any, tmp_path: Path) -> None:
    # Started held: a fast capsule cannot finish before the download looks.
    computation = codeocean_emulator.start_computation(ECHO, held=True)
    with pytest.raises(CodeOceanConfigError, match="has not finished"):
        download(computation["id"], tmp_path / "out")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"destination": ""}, "destination must be"),
        ({"destination": None}, "destination must be"),
        ({"destination": "/tmp/x", "path": "../etc"}, "without '..'"),
        ({"destination": "/tmp/x", "include": [""]}, "include must be"),
        ({"destination": "/tmp/x", "computation_id": "bad id"}, "computation_id must be"),
    ],
)
def test_download_bad_input(
    codeocean_emulator: Any, nested: dict[str, Any], kwargs: dict[str, Any], message: str
) -> None:
    kwargs.setdefault("computation_id", nested["id"])
    before = len(codeocean_emulator.requests())
    with pytest.raises(CodeOceanConfigError, match=message):
        CodeOceanDownloadResultsOperator(task_id="d", **kwargs).execute(make_context())
    assert len(codeocean_emulator.requests()) == before


# Reading one file into XCom


def read(computation_id: Any, path: str, **kwargs: Any) -> Any:
    return CodeOceanReadResultOperator(task_id="read", computation_id=computation_id, path=path, **kwargs).execute(
        make_context()
    )


def test_read_json_and_text(codeocean_emulator: Any, nested: dict[str, Any]) -> None:
    assert read(nested["id"], "metrics.json") == {"accuracy": 0.97, "n": 3}
    assert read(nested, "a/b/deep.txt") == "deep text\n"
    assert read(nested["id"], "metrics.json", output_format="text") == '{"accuracy": 0.97, "n": 3}\n'
    assert read(nested["id"], "top.txt", output_format="auto") == "top level\n"


def test_read_refuses_big_binary_and_invalid_files(codeocean_emulator: Any, nested: dict[str, Any]) -> None:
    with pytest.raises(CodeOceanConfigError, match="larger than"):
        read(nested["id"], "big.txt")  # 2 MB > the 1 MiB default
    assert len(read(nested["id"], "big.txt", max_bytes=3_000_000)) == 2_000_000
    with pytest.raises(CodeOceanConfigError, match="not utf-8 text"):
        read(nested["id"], "a/b/c/blob.bin", max_bytes=1_000_000)
    with pytest.raises(CodeOceanConfigError, match="not valid JSON"):
        read(nested["id"], "top.txt", output_format="json")


def test_read_a_missing_file_is_a_404(codeocean_emulator: Any, nested: dict[str, Any]) -> None:
    from airflow_provider_codeocean.errors import CodeOceanNotFoundError

    with pytest.raises(CodeOceanNotFoundError):
        read(nested["id"], "nope.json")


def test_read_bad_arguments_fail_at_parse_time() -> None:
    some_id = "00000000-0000-4000-8000-000000000001"
    with pytest.raises(CodeOceanConfigError, match="output_format"):
        CodeOceanReadResultOperator(task_id="r", computation_id=some_id, path="p", output_format="yaml")
    with pytest.raises(CodeOceanConfigError, match="max_bytes"):
        CodeOceanReadResultOperator(task_id="r", computation_id=some_id, path="p", max_bytes=0)


@pytest.mark.parametrize("operator", ["read", "download"])
def test_a_literal_computation_id_is_checked_when_the_dag_is_parsed(operator: str, tmp_path: Path) -> None:
    def build(computation_id: Any) -> Any:
        if operator == "read":
            return CodeOceanReadResultOperator(task_id="r", computation_id=computation_id, path="p")
        return CodeOceanDownloadResultsOperator(task_id="d", computation_id=computation_id, destination=str(tmp_path))

    with pytest.raises(CodeOceanConfigError, match="computation_id"):
        build("not-a-uuid")
    with pytest.raises(CodeOceanConfigError, match="computation_id"):
        build({"id": "7f3d2a10"})
    # Templated: checked once rendered.
    build("{{ ti.xcom_pull('run')['id'] }}")
    build({"id": "00000000-0000-4000-8000-000000000001"})


@pytest.mark.parametrize("destination", ["local", "object storage"])
def test_a_file_that_never_arrives_costs_retries_per_file_attempts(
    httpserver: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, destination: str
) -> None:
    # The connection allows 5 retries per request; the operator's per-file budget (2) is still the total,
    # not 2 x 6 downloads, each asking for its signed URL once.
    from tests.hook.servers import RawServer
    from tests.hook.util import set_connection

    set_connection(monkeypatch, httpserver.url_for("/").rstrip("/"), request_timeout=0.3, retry_limit=5)
    httpserver.expect_request(f"/api/v1/computations/{RUN}").respond_with_json(
        {"id": RUN, "state": "completed", "end_status": "succeeded", "exit_code": 0}
    )
    httpserver.expect_request(f"/api/v1/computations/{RUN}/results", method="POST").respond_with_json(
        {"items": [{"name": "x.bin", "path": "x.bin", "type": "file", "size": 3}]}
    )
    target = str(tmp_path / "out") if destination == "local" else f"file://{tmp_path}/store"
    with RawServer(default="hang") as storage:
        httpserver.expect_request(f"/api/v1/computations/{RUN}/results/urls").respond_with_json(
            {"download_url": f"{storage.url}/signed/x.bin"}
        )
        with pytest.raises(CodeOceanError, match="download stalled"):
            download(RUN, target, retries_per_file=2)

    assert storage.requests == ["GET /signed/x.bin"] * 2
    assert [r.path for r, _ in httpserver.log].count(f"/api/v1/computations/{RUN}/results/urls") == 2
