"""The synchronous transport: one requests session per hook, a timeout on every request."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import IO, Any, TypeVar, cast

import requests
import tenacity
from requests.adapters import HTTPAdapter

from airflow_provider_codeocean.api.retry import retry_kwargs
from airflow_provider_codeocean.api.settings import ClientSettings
from airflow_provider_codeocean.api.wire import (
    Endpoint,
    connection_failed,
    decode,
    error_message,
    no_answer,
    retry_after_seconds,
)
from airflow_provider_codeocean.errors import (
    CodeOceanApiError,
    CodeOceanConnectionError,
    CodeOceanSignedUrlExpiredError,
    CodeOceanTimeoutError,
    error_for_status,
)

T = TypeVar("T")

CHUNK_SIZE = 1024 * 1024
BODY_CHUNK_SIZE = 64 * 1024


class SyncTransport:
    def __init__(self, settings: ClientSettings) -> None:
        self._settings = settings
        self._session = _new_session(settings)
        self._session.auth = (settings.token, "")
        # Signed file URLs need no token, and must never receive it (they may point at S3).
        self._download_session = _new_session(settings)

    def send(self, endpoint: Endpoint[T]) -> T:
        retrying = tenacity.Retrying(**retry_kwargs(self._settings, endpoint))
        return cast(T, retrying(self.send_once, endpoint))

    def send_once(self, endpoint: Endpoint[T]) -> T:
        """Send once, no retries: for callers whose own loop is the retry (file downloads)."""
        settings = self._settings
        # requests' read timeout bounds each wait for bytes, not the whole answer: read the body in
        # chunks against a total deadline, so a server sending a byte at a time cannot hold the call.
        deadline = time.monotonic() + settings.connect_timeout + settings.read_timeout
        try:
            with self._session.request(
                endpoint.method,
                settings.api_url + endpoint.path,
                params=endpoint.params,
                json=endpoint.json,
                timeout=(settings.connect_timeout, settings.read_timeout),
                stream=True,
            ) as response:
                body = bytearray()
                for chunk in _chunks_as_they_arrive(response):
                    body += chunk
                    if time.monotonic() > deadline:
                        raise no_answer(settings, endpoint)
        except requests.Timeout:
            raise no_answer(settings, endpoint) from None
        except requests.RequestException as exc:
            raise connection_failed(settings, endpoint, exc) from None
        return decode(endpoint, response.status_code, response.headers, bytes(body))

    def download(self, url: str, sink: IO[bytes], what: Endpoint[Any]) -> int:
        """Stream a signed URL into ``sink`` in chunks, once; returns the bytes written.

        The answer must start within the read timeout and no chunk may take longer than it; a file
        has no total deadline, as a large one legitimately takes longer than any single API call.
        """
        settings = self._settings
        try:
            with self._download_session.get(
                url, stream=True, timeout=(settings.connect_timeout, settings.read_timeout)
            ) as response:
                if response.status_code >= 400:
                    raise _signed_url_error(what, response)
                written = 0
                for chunk in response.iter_content(CHUNK_SIZE):
                    sink.write(chunk)
                    written += len(chunk)
                return written
        except requests.Timeout:
            raise CodeOceanTimeoutError(
                "download stalled", method="GET", path=f"signed URL for {what.describe()}"
            ) from None
        except requests.RequestException as exc:
            raise CodeOceanConnectionError(
                f"download failed: {type(exc).__name__}",
                method="GET",
                path=f"signed URL for {what.describe()}",
            ) from None

    def close(self) -> None:
        self._session.close()
        self._download_session.close()


def _chunks_as_they_arrive(response: requests.Response) -> Iterator[bytes]:
    # urllib3 2.3+ ``read1`` returns what one receive brought; ``iter_content`` waits for a full chunk.
    read1 = getattr(response.raw, "read1", None)
    if read1 is None:
        yield from response.iter_content(BODY_CHUNK_SIZE)
        return
    while chunk := read1(BODY_CHUNK_SIZE, decode_content=True):
        yield chunk


def _new_session(settings: ClientSettings) -> requests.Session:
    session = requests.Session()
    session.headers.update(settings.headers)
    session.verify = settings.verify
    # Retries are tenacity's job (it knows which requests are idempotent); urllib3 must not add its own.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _signed_url_error(what: Endpoint[Any], response: requests.Response) -> CodeOceanApiError:
    # Named by "signed URL for ..." (never the URL, which carries a signature).
    message, data = error_message(response.content, response.status_code)
    details: dict[str, Any] = {
        "method": "GET",
        "path": f"signed URL for {what.describe()}",
        "data": data,
        "retry_after": retry_after_seconds(response.headers.get("Retry-After")),
    }
    if response.status_code in (400, 403):
        # Object stores refuse an expired signature with 400 or 403; the next attempt asks for a new URL.
        return CodeOceanSignedUrlExpiredError(
            message, status_code=response.status_code, hint="signed URLs expire; the hook asks for a new one", **details
        )
    return error_for_status(response.status_code, message, **details)
