"""Search paging, walking result folders, and downloading result files through signed URLs."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from airflow_provider_codeocean.errors import (
    CodeOceanConfigError,
    CodeOceanPermissionError,
    CodeOceanSignedUrlExpiredError,
)
from tests.hook.util import TOKEN, TOKEN_B64, body

RESULTS = "/api/v1/computations/c1/results"
URLS = "/api/v1/computations/c1/results/urls"
SIGNED = "/signed/output.csv"


def test_search_data_assets_follows_next_token_with_pages_of_1000(httpserver: HTTPServer, hook: Any) -> None:
    pages = [
        {"has_more": True, "next_token": "t1", "results": [{"id": "a1", "name": "one", "state": "ready"}]},
        {"has_more": True, "next_token": "t2", "results": [{"id": "a2", "name": "two", "state": "draft"}]},
        {"has_more": False, "results": [{"id": "a3", "name": "three", "state": "failed"}]},
    ]
    for page in pages:
        httpserver.expect_ordered_request("/api/v1/data_assets/search", method="POST").respond_with_json(page)

    found = hook.search_data_assets("name:results", type="result", archived=False)
    first = next(found)

    # Pages are fetched as the iterator advances, not all at once.
    assert first.id == "a1" and len(httpserver.log) == 1
    rest = list(found)
    assert [a.id for a in rest] == ["a2", "a3"]
    sent = [body(r) for r, _ in httpserver.log]
    assert sent == [
        {"query": "name:results", "type": "result", "archived": False, "limit": 1000},
        {"query": "name:results", "type": "result", "archived": False, "limit": 1000, "next_token": "t1"},
        {"query": "name:results", "type": "result", "archived": False, "limit": 1000, "next_token": "t2"},
    ]


def test_search_stops_when_has_more_lacks_a_token(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request("/api/v1/capsules/search", method="POST").respond_with_json(
        {"has_more": True, "results": [{"id": "c1", "name": "x"}]}
    )

    assert [c.id for c in hook.search_capsules()] == ["c1"]
    assert len(httpserver.log) == 1
    assert body(httpserver.log[0][0]) == {"limit": 1000}


def test_search_pipelines_route(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request("/api/v1/pipelines/search", method="POST").respond_with_json(
        {"has_more": False, "results": [{"id": "p1", "name": "x"}]}
    )

    assert [c.id for c in hook.search_capsules("q", pipelines=True)] == ["p1"]


def test_walk_results_descends_into_folders(httpserver: HTTPServer, hook: Any) -> None:
    tree = {
        "": [
            {"name": "a.txt", "path": "a.txt", "type": "file", "size": 1},
            {"name": "d", "path": "d", "type": "folder"},
        ],
        "d": [{"name": "b.txt", "path": "d/b.txt", "type": "file"}, {"name": "e", "path": "d/e", "type": "folder"}],
        "d/e": [{"name": "c.txt", "path": "d/e/c.txt", "type": "file"}],
    }

    def listing(request: Request) -> Response:
        return Response(json.dumps({"items": tree[json.loads(request.get_data())["path"]]}), 200)

    httpserver.expect_request(RESULTS, method="POST").respond_with_handler(listing)

    files = list(hook.walk_results("c1"))

    assert [f.path for f in files] == ["a.txt", "d/b.txt", "d/e/c.txt"]
    assert [body(r)["path"] for r, _ in httpserver.log] == ["", "d", "d/e"]


def test_walk_data_asset_files_from_a_subfolder(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request("/api/v1/data_assets/d1/files", method="POST", json={"path": "sub"}).respond_with_json(
        {"items": [{"name": "x", "path": "sub/x", "type": "file"}]}
    )

    assert [f.path for f in hook.walk_data_asset_files("d1", "sub")] == ["sub/x"]


def _signed_urls(httpserver: HTTPServer) -> None:
    httpserver.expect_request(URLS, method="GET", query_string={"path": "output.csv"}).respond_with_json(
        {"download_url": httpserver.url_for(SIGNED) + "?sig=abc", "view_url": "https://view"}
    )


def test_download_streams_to_a_path_without_sending_the_token(
    httpserver: HTTPServer, hook: Any, tmp_path: Path
) -> None:
    content = b"x,y\n" * 300_000  # over one chunk
    _signed_urls(httpserver)
    httpserver.expect_request(SIGNED, query_string="sig=abc").respond_with_data(content)
    target = tmp_path / "nested" / "out.csv"

    written = hook.download_result_file("c1", "output.csv", target)

    assert written == len(content)
    assert target.read_bytes() == content
    assert list(target.parent.iterdir()) == [target]  # no .part file left behind
    api_request, file_request = (r for r, _ in httpserver.log)
    assert api_request.headers["Authorization"] == f"Basic {TOKEN_B64}"
    assert "Authorization" not in file_request.headers
    assert TOKEN not in str(dict(file_request.headers))


def test_download_to_a_file_object(httpserver: HTTPServer, hook: Any) -> None:
    _signed_urls(httpserver)
    httpserver.expect_request(SIGNED).respond_with_data(b"hello")
    sink = io.BytesIO(b"keep:")
    sink.seek(5)

    assert hook.download_result_file("c1", "output.csv", sink) == 5
    assert sink.getvalue() == b"keep:hello"


def test_expired_signed_url_asks_for_a_new_one(httpserver: HTTPServer, hook: Any, tmp_path: Path) -> None:
    # The first signed URL answers 403 (expired); the hook asks the API for a fresh one.
    httpserver.expect_ordered_request(URLS).respond_with_json({"download_url": httpserver.url_for("/old")})
    httpserver.expect_ordered_request("/old").respond_with_data("<Error>AccessDenied</Error>", status=403)
    httpserver.expect_ordered_request(URLS).respond_with_json({"download_url": httpserver.url_for("/new")})
    httpserver.expect_ordered_request("/new").respond_with_data(b"fresh")
    target = tmp_path / "out.csv"

    assert hook.download_result_file("c1", "output.csv", target) == 5

    assert target.read_bytes() == b"fresh"
    assert [r.path for r, _ in httpserver.log] == [URLS, "/old", URLS, "/new"]
    assert all("Authorization" not in r.headers for r, _ in httpserver.log if not r.path.startswith("/api/"))


@pytest.mark.parametrize("status", [400, 403])
def test_a_signed_url_that_stays_refused_is_a_typed_transient_error_after_the_budget(
    httpserver: HTTPServer, make_hook: Any, tmp_path: Path, status: int
) -> None:
    _signed_urls(httpserver)
    httpserver.expect_request(SIGNED).respond_with_data(
        "<Error><Message>Request has expired</Message></Error>", status=status
    )

    with pytest.raises(CodeOceanSignedUrlExpiredError) as info:
        make_hook(retry_limit=1).download_result_file("c1", "output.csv", tmp_path / "out.csv")

    assert info.value.transient and info.value.status_code == status
    assert info.value.message == f"HTTP {status} Request has expired"
    assert [r.path for r, _ in httpserver.log] == [URLS, SIGNED, URLS, SIGNED]
    assert list(tmp_path.iterdir()) == []


def test_a_403_from_the_api_itself_is_not_retried(httpserver: HTTPServer, hook: Any, tmp_path: Path) -> None:
    # Missing scope on the URLs endpoint is final; only a signed URL's 403 means "expired".
    httpserver.expect_request(URLS).respond_with_json({"message": "token lacks scope"}, status=403)

    with pytest.raises(CodeOceanPermissionError):
        hook.download_result_file("c1", "output.csv", tmp_path / "out.csv")

    assert len(httpserver.log) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_failed_download_leaves_no_file(httpserver: HTTPServer, hook: Any, tmp_path: Path) -> None:
    _signed_urls(httpserver)
    httpserver.expect_request(SIGNED).respond_with_data("gone", status=404)

    with pytest.raises(Exception, match="404"):
        hook.download_result_file("c1", "output.csv", tmp_path / "out.csv")

    assert list(tmp_path.iterdir()) == []


def test_read_result_file_and_its_size_cap(httpserver: HTTPServer, hook: Any) -> None:
    _signed_urls(httpserver)
    httpserver.expect_request(SIGNED).respond_with_data(b"0123456789")

    assert hook.read_result_file("c1", "output.csv") == b"0123456789"
    with pytest.raises(CodeOceanConfigError, match="larger than 4 bytes"):
        hook.read_result_file("c1", "output.csv", max_bytes=4)


def test_download_data_asset_file(httpserver: HTTPServer, hook: Any) -> None:
    httpserver.expect_request("/api/v1/data_assets/d1/files/urls", query_string={"path": "x.bin"}).respond_with_json(
        {"download_url": httpserver.url_for("/s3/x.bin")}
    )
    httpserver.expect_request("/s3/x.bin").respond_with_data(b"\x00\x01")
    sink = io.BytesIO()

    assert hook.download_data_asset_file("d1", "x.bin", sink) == 2
    assert sink.getvalue() == b"\x00\x01"
