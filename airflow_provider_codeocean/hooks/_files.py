"""Files behind signed URLs: downloads with one retry loop per file, small reads, and folder walks."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Union

from airflow_provider_codeocean.errors import CodeOceanConfigError

if TYPE_CHECKING:
    from airflow_provider_codeocean.api.settings import ClientSettings
    from airflow_provider_codeocean.api.sync_transport import SyncTransport
    from airflow_provider_codeocean.api.wire import Endpoint
    from airflow_provider_codeocean.models import FileURLs, Folder, FolderItem

#: A local path (written atomically) or a binary file object.
Destination = Union[str, "os.PathLike[str]", IO[bytes]]


def download(
    transport: SyncTransport,
    settings: ClientSettings,
    urls_endpoint: Endpoint[FileURLs],
    destination: Destination,
    attempts: int | None = None,
) -> int:
    """Stream one file to ``destination``; returns the bytes written.

    This loop is the only retry layer: each attempt sends the signed-URL request once and streams the
    file once, so ``attempts`` (default: the connection's ``retry_limit`` + 1) bounds the requests. An
    expired URL is one transient failure like a timeout; the next attempt asks for a fresh URL. A sink
    that cannot be rewound gets a single attempt.
    """
    # Imported here: importing the hook must not load tenacity (see tests/hook/test_import_cost.py).
    import tenacity

    from airflow_provider_codeocean.api.retry import retry_kwargs

    if attempts is not None and attempts < 1:
        raise CodeOceanConfigError(f"attempts must be 1 or more, got {attempts}")
    retrying = tenacity.Retrying(**retry_kwargs(settings, urls_endpoint, attempts=attempts))

    def once(sink: IO[bytes]) -> int:
        urls = transport.send_once(urls_endpoint)
        return transport.download(urls.download_url, sink, urls_endpoint)

    if isinstance(destination, (str, os.PathLike)):
        return _to_path(Path(destination), lambda sink: retrying(_restarting(sink, 0, once)))
    start = destination.tell() if destination.seekable() else None
    if start is None:
        return once(destination)
    return int(retrying(_restarting(destination, start, once)))


def _restarting(sink: IO[bytes], start: int, once: Callable[[IO[bytes]], int]) -> Callable[[], int]:
    def attempt() -> int:
        # What a failed attempt wrote is dropped, so the sink holds exactly one copy of the file.
        sink.seek(start)
        sink.truncate()
        return once(sink)

    return attempt


def _to_path(target: Path, write: Callable[[IO[bytes]], int]) -> int:
    """Write through a temporary file beside ``target``, renamed over it only when complete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            written = write(tmp)
        os.replace(tmp_name, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
    return written


def read_small(
    transport: SyncTransport, settings: ClientSettings, urls_endpoint: Endpoint[FileURLs], max_bytes: int
) -> bytes:
    """A file's content, refused (not retried) once it passes ``max_bytes``."""

    class _Capped(io.BytesIO):
        def write(self, data: Any) -> int:
            if self.tell() + len(data) > max_bytes:
                raise CodeOceanConfigError(
                    f"the file at {urls_endpoint.params} is larger than {max_bytes} bytes; "
                    "download it to a file instead"
                )
            return super().write(data)

    buffer = _Capped()
    download(transport, settings, urls_endpoint, buffer)
    return buffer.getvalue()


def walk(list_folder: Callable[[str], Folder], path: str) -> Iterator[FolderItem]:
    """Every file under ``path``, breadth first; the API lists one folder level per call."""
    pending = [path]
    while pending:
        for item in list_folder(pending.pop(0)).items:
            if item.is_folder:
                pending.append(item.path)
            else:
                yield item
