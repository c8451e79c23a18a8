"""Signed download URLs, in the spirit of S3 presigned URLs: no Basic auth, a signature and an expiry
in the query string, valid only for the one file they name."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from urllib.parse import quote

from airflow_provider_codeocean.testing.http.messages import ApiError


class UrlSigner:
    def __init__(self, ttl: float) -> None:
        self._key = secrets.token_bytes(32)
        self._ttl = ttl

    def _signature(self, kind: str, item_id: str, path: str, expires: int, disposition: str) -> str:
        message = f"{kind}\n{item_id}\n{path}\n{expires}\n{disposition}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def url(self, base: str, kind: str, item_id: str, path: str, disposition: str) -> str:
        expires = int(time.time() + self._ttl)
        signature = self._signature(kind, item_id, path, expires, disposition)
        return (
            f"{base}/_signed/{kind}/{item_id}/{quote(path)}"
            f"?expires={expires}&disposition={disposition}&signature={signature}"
        )

    def verify(
        self, kind: str, item_id: str, path: str, expires: str | None, disposition: str | None,
        signature: str | None,
    ) -> None:  # fmt: skip
        if not (expires and expires.isdigit() and disposition and signature):
            raise ApiError(403, "missing or malformed URL signature")
        expected = self._signature(kind, item_id, path, int(expires), disposition)
        if not hmac.compare_digest(expected, signature):
            raise ApiError(403, "URL signature does not match")
        if int(expires) < time.time():
            raise ApiError(403, "URL has expired")
