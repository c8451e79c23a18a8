"""Get a computation's results out of Code Ocean: download files, or read a small one into XCom."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, cast

from airflow_provider_codeocean._common.deferral import reraise
from airflow_provider_codeocean._common.inputs import id_from, is_templated
from airflow_provider_codeocean.errors import (
    CodeOceanConfigError,
    CodeOceanError,
    CodeOceanNotFoundError,
    CodeOceanRunFailedError,
)
from airflow_provider_codeocean.operators.base import CodeOceanBaseOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

DEFAULT_MAX_BYTES = 1024 * 1024
_HASH_CHUNK = 1024 * 1024


class CodeOceanDownloadResultsOperator(CodeOceanBaseOperator):
    """Download a computation's result files, recursively, to a local folder or object storage.

    Each file is streamed (never held in memory), written under ``destination`` at its path in the
    results, and retried on its own, up to ``retries_per_file`` attempts in all: a fresh signed URL is
    asked for on every attempt, so an expired one is replaced. Those attempts are the only retries of a
    file (its signed-URL request is not retried again inside an attempt), so a file that never arrives
    costs at most ``retries_per_file`` times (request deadline + backoff). Local files appear atomically
    (written to a temporary name, then renamed).

    Returns one dict per file written: ``path`` (in the results), ``destination``, ``size`` and
    ``sha256``.

    :param computation_id: the computation: an id, or the dict the run operator returned (templated).
    :param destination: a local folder, or an object storage URL / ``ObjectStoragePath`` such as
        ``s3://bucket/prefix`` (templated).
    :param path: only results under this folder (default: all results) (templated).
    :param include: glob pattern(s) the result path must match, e.g. ``"*.csv"`` or
        ``["plots/*.png", "summary.json"]``; ``*`` also crosses folders (templated).
    :param destination_conn_id: Airflow connection for object storage destinations.
    :param require_success: refuse to download results of a computation that did not succeed
        (by default it is allowed, with a warning: failed runs' logs are often what one wants).
    :param fail_if_empty: fail when no file matched.
    :param retries_per_file: attempts per file, the first included, on transient errors and expired URLs.
    """

    template_fields: Sequence[str] = ("computation_id", "destination", "path", "include")

    def __init__(
        self,
        *,
        computation_id: Any,
        destination: Any,
        path: str = "",
        include: str | Sequence[str] | None = None,
        destination_conn_id: str | None = None,
        require_success: bool = False,
        fail_if_empty: bool = False,
        retries_per_file: int = 3,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if retries_per_file < 1:
            raise CodeOceanConfigError(f"retries_per_file must be 1 or more, got {retries_per_file}")
        self.computation_id = _checked_at_parse(computation_id)
        self.destination = destination
        self.path = path
        self.include = include
        self.destination_conn_id = destination_conn_id
        self.require_success = require_success
        self.fail_if_empty = fail_if_empty
        self.retries_per_file = retries_per_file

    def _execute(self, context: Context) -> list[dict[str, Any]]:
        computation_id = id_from(self.computation_id, "computation_id")
        prefix = _results_path(self.path or "", "path", allow_empty=True)
        patterns = _patterns(self.include)
        destination = _destination(self.destination, self.destination_conn_id)
        hook = self.hook
        _check_finished(hook, computation_id, self.require_success, self.log)

        written: list[dict[str, Any]] = []
        try:
            for item in hook.walk_results(computation_id, prefix):
                relative = _results_path(item.path, "result path")
                if patterns and not any(fnmatch.fnmatchcase(relative, p) for p in patterns):
                    continue
                target = destination / relative
                size, digest = _download(hook, computation_id, item.path, target, self.retries_per_file)
                self.log.info("Wrote %s (%d bytes, sha256 %s)", target, size, digest)
                written.append({"path": relative, "destination": str(target), "size": size, "sha256": digest})
        except CodeOceanNotFoundError as exc:
            if written or not prefix:
                raise
            raise _missing(hook, computation_id, prefix, exc) from None
        if not written:
            message = f"no result files of computation {computation_id} matched path={prefix!r} include={patterns}"
            if self.fail_if_empty:
                raise CodeOceanError(message)
            self.log.warning("%s", message)
        return written


class CodeOceanReadResultOperator(CodeOceanBaseOperator):
    """Read one small result file into XCom: parsed JSON, or text.

    :param computation_id: the computation: an id, or the dict the run operator returned (templated).
    :param path: the file's path in the results, e.g. ``"metrics.json"`` (templated).
    :param output_format: ``json``, ``text``, or ``auto`` (JSON for ``.json`` files, text otherwise).
    :param max_bytes: refuse files larger than this (default 1 MiB: XCom is not for big data).
    :param encoding: text encoding.
    :param require_success: refuse to read results of a computation that did not succeed.
    """

    template_fields: Sequence[str] = ("computation_id", "path")

    def __init__(
        self,
        *,
        computation_id: Any,
        path: str,
        output_format: str = "auto",
        max_bytes: int = DEFAULT_MAX_BYTES,
        encoding: str = "utf-8",
        require_success: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if output_format not in ("auto", "json", "text"):
            raise CodeOceanConfigError(f"output_format must be 'auto', 'json' or 'text', got {output_format!r}")
        if max_bytes < 1:
            raise CodeOceanConfigError(f"max_bytes must be 1 or more, got {max_bytes}")
        self.computation_id = _checked_at_parse(computation_id)
        self.path = path
        self.output_format = output_format
        self.max_bytes = max_bytes
        self.encoding = encoding
        self.require_success = require_success

    def execute(self, context: Context) -> Any:
        try:
            computation_id = id_from(self.computation_id, "computation_id")
            path = _results_path(self.path, "path")
            hook = self.hook
            _check_finished(hook, computation_id, self.require_success, self.log)
            return read_result(hook, computation_id, path, self.output_format, self.max_bytes, self.encoding)
        except CodeOceanError as exc:
            reraise(exc)


def read_result(
    hook: CodeOceanHook,
    computation_id: str,
    path: str,
    output_format: str = "auto",
    max_bytes: int = DEFAULT_MAX_BYTES,
    encoding: str = "utf-8",
) -> Any:
    """A small result file as parsed JSON or text (for use in ``@task`` functions too)."""
    try:
        data = hook.read_result_file(computation_id, path, max_bytes=max_bytes)
    except CodeOceanNotFoundError as exc:
        raise _missing(hook, computation_id, path, exc) from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise CodeOceanConfigError(f"result file {path!r} is not {encoding} text; download it instead") from None
    if output_format == "json" or (output_format == "auto" and path.lower().endswith(".json")):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise CodeOceanConfigError(f"result file {path!r} is not valid JSON: {exc}") from None
    return text


# Helpers


def _missing(
    hook: CodeOceanHook, computation_id: str, path: str, exc: CodeOceanNotFoundError
) -> CodeOceanNotFoundError:
    """The 404 of a missing result path, naming what its folder holds (or the nearest folder that exists)."""
    folder = str(PurePosixPath(path).parent).strip(".")
    while True:
        try:
            items = hook.list_results(computation_id, folder).items
            break
        except CodeOceanNotFoundError:
            if not folder:
                return exc
            folder = str(PurePosixPath(folder).parent).strip(".")
        except CodeOceanError:
            return exc
    names = sorted(f"{i.name}/" if str(i.type) == "folder" else i.name for i in items)
    listing = ", ".join(names[:30]) + (f" and {len(names) - 30} more" if len(names) > 30 else "") or "nothing"
    where = f"{folder}/" if folder else "the results folder"
    hint = f"computation {computation_id} has no result {path!r}; {where} holds: {listing}"
    return CodeOceanNotFoundError(exc.message, status_code=404, method=exc.method, path=exc.path, hint=hint)


def _check_finished(hook: CodeOceanHook, computation_id: str, require_success: bool, log: Any) -> None:
    from airflow_provider_codeocean._common.deferral import never_retried
    from airflow_provider_codeocean._common.outcome import finished_computation

    computation = finished_computation(
        hook, computation_id, "its results are incomplete. Read them downstream of a run operator that waits."
    )
    if computation.succeeded:
        return
    if require_success:
        # The run is finished: no retry of this task can make it succeed.
        raise never_retried(
            CodeOceanRunFailedError(
                f"{computation.describe()} did not succeed; not reading its results (require_success=True)",
                computation=computation.to_dict(),
            )
        )
    log.warning("%s did not succeed; reading its results anyway", computation.describe())


def _results_path(value: Any, what: str, *, allow_empty: bool = False) -> str:
    """A relative path inside the results; anything that could escape the destination is refused."""
    if not isinstance(value, str):
        raise CodeOceanConfigError(f"{what} must be a string, got {value!r}")
    text = value.replace("\\", "/").strip("/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts or (not parts and not allow_empty):
        raise CodeOceanConfigError(f"{what} must be a path inside the results without '..', got {value!r}")
    return str(PurePosixPath(*parts)) if parts else ""


def _patterns(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Sequence) or not all(isinstance(p, str) and p for p in items):
        raise CodeOceanConfigError(f"include must be a glob pattern or a list of them, got {value!r}")
    return [p.lstrip("/") for p in items]


def _destination(value: Any, conn_id: str | None) -> Any:
    """A local ``Path``, or an ``ObjectStoragePath`` for URLs like ``s3://bucket/prefix``."""
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    if isinstance(value, ObjectStoragePath):
        return value
    if isinstance(value, os.PathLike):
        return Path(value)
    if not isinstance(value, str) or not value.strip():
        raise CodeOceanConfigError(f"destination must be a folder path or an object storage URL, got {value!r}")
    if "://" in value:
        return ObjectStoragePath(value, conn_id=conn_id) if conn_id else ObjectStoragePath(value)
    return Path(value)


def _download(hook: CodeOceanHook, computation_id: str, path: str, target: Any, attempts: int) -> tuple[int, str]:
    if isinstance(target, Path):
        size = hook.download_result_file(computation_id, path, target, attempts=attempts)
        return size, _sha256_file(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sink = _RestartingObjectSink(target)
    try:
        size = hook.download_result_file(computation_id, path, cast(IO[bytes], sink), attempts=attempts)
    finally:
        sink.close()
    return size, sink.hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _RestartingObjectSink:
    """An object storage file, hashed as it is written, that the hook's download retries can rewind.

    Object storage writers cannot seek, so rewinding to the start reopens the object with ``"wb"``, which
    starts it over: what a failed attempt wrote never stays in front of the next attempt's bytes.
    """

    def __init__(self, target: Any) -> None:
        self._target = target
        self._handle: IO[bytes] | None = None
        self._digest = hashlib.sha256()

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return 0

    def seek(self, offset: int, whence: int = 0) -> int:
        if (offset, whence) != (0, 0):
            raise OSError("an object storage download can only start over")
        self.close()
        self._handle = self._target.open("wb")
        self._digest = hashlib.sha256()
        return 0

    def truncate(self, size: int | None = None) -> int:
        return 0

    def write(self, data: bytes) -> int:
        if self._handle is None:
            self.seek(0)
        assert self._handle is not None
        self._digest.update(data)
        self._handle.write(data)
        return len(data)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def _checked_at_parse(computation_id: Any) -> Any:
    """A literal ``computation_id`` is checked when the DAG is parsed; a templated one after rendering."""
    if not is_templated(computation_id):
        id_from(computation_id, "computation_id")
    return computation_id
