"""Folder listings and file responses for computation results and data asset files."""

from __future__ import annotations

import mimetypes
import os
import re
from pathlib import Path
from typing import Any

from airflow_provider_codeocean.testing.http.messages import (
    ApiError,
    FileBody,
    Response,
    bad_request,
    error_response,
    not_found,
)

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def clean_relative(path: str) -> str:
    """A client path as a relative path; "..", absolute escapes and backslashes are a 400."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise bad_request(f"invalid path '{path}': '..' is not allowed")
    return "/".join(parts)


def resolve(root: Path, path: str) -> tuple[str, Path]:
    rel = clean_relative(path)
    target = root / rel if rel else root
    if not target.exists():
        raise not_found(f"path '{rel}' not found")
    return rel, target


def list_folder(root: Path, path: str) -> dict[str, Any]:
    rel, target = resolve(root, path)
    if not target.is_dir():
        raise bad_request(f"path '{rel}' is a file, not a folder")
    items: list[dict[str, Any]] = []
    with os.scandir(target) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            item_path = f"{rel}/{entry.name}" if rel else entry.name
            # is_dir() follows symlinks: combined assets link their parts in as folders.
            if entry.is_dir():
                items.append({"name": entry.name, "path": item_path, "type": "folder"})
            else:
                items.append(
                    {
                        "name": entry.name,
                        "path": item_path,
                        "type": "file",
                        "size": entry.stat().st_size,
                    }
                )
    return {"items": items}


def file_target(root: Path, path: str) -> tuple[str, Path]:
    if not clean_relative(path):
        raise bad_request("query parameter 'path' must name a file")
    rel, target = resolve(root, path)
    if target.is_dir():
        raise bad_request(f"path '{rel}' is a folder; URLs are issued for files only")
    return rel, target


def tree_stats(root: Path) -> tuple[int, int]:
    """Number of files and total bytes below ``root``, following the links of combined assets."""
    files = size = 0
    for folder, _dirs, names in os.walk(root, followlinks=True):
        for name in names:
            files += 1
            try:
                size += (Path(folder) / name).stat().st_size
            except OSError:
                continue
    return files, size


def file_response(target: Path, range_header: str | None, disposition: str) -> Response:
    size = target.stat().st_size
    content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    headers = [
        ("Accept-Ranges", "bytes"),
        ("Content-Disposition", f'{disposition}; filename="{target.name}"'),
    ]
    start, length, status = 0, size, 200
    if range_header:
        match = _RANGE_RE.match(range_header.strip())
        if match is None or match.group(1) == match.group(2) == "":
            return _unsatisfiable(size)
        first, last = match.group(1), match.group(2)
        if first == "":
            # "bytes=-N": the last N bytes.
            start = max(0, size - int(last))
            end = size - 1
        else:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        if start >= size or end < start:
            return _unsatisfiable(size)
        length = end - start + 1
        status = 206
        headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
    return Response(status, content_type=content_type, headers=headers, file=FileBody(target, start, length))


def _unsatisfiable(size: int) -> Response:
    response = error_response(416, "requested range not satisfiable")
    response.headers.append(("Content-Range", f"bytes */{size}"))
    return response


__all__ = ["ApiError", "file_response", "file_target", "list_folder", "tree_stats"]
