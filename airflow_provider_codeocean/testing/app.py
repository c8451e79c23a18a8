"""Wires the routes to the backend: authentication, version negotiation and routing of one request."""

from __future__ import annotations

import base64
import binascii
import re

from airflow_provider_codeocean.testing.backend.backend import Backend
from airflow_provider_codeocean.testing.backend.validation import check_uuid
from airflow_provider_codeocean.testing.config import EmulatorConfig
from airflow_provider_codeocean.testing.http.messages import ApiError, Request, Response, error_response
from airflow_provider_codeocean.testing.http.router import Router
from airflow_provider_codeocean.testing.routes import capsules, computations, control, data_assets, files, pages

_VERSION_RE = re.compile(r"^\d+(\.\d+){0,2}$")
_UNAUTHORIZED_HEADERS = [("WWW-Authenticate", 'Basic realm="Code Ocean"')]


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


class App:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.backend = Backend(config)
        self.router = Router(
            capsules.ROUTES + computations.ROUTES + data_assets.ROUTES + files.ROUTES + control.ROUTES,
            check_uuid,
        )
        self._pages = Router(pages.ROUTES, check_uuid)
        self._expected_auth = "Basic " + base64.b64encode(f"{config.token}:".encode()).decode()

    def handle(self, request: Request) -> Response:
        try:
            path = request.path
            router = self.router
            if path.startswith("/api/v1/"):
                self._authenticate(request)
                self._check_min_server_version(request)
            elif path.startswith("/_emulator/"):
                if path.rstrip("/") != "/_emulator/health":
                    self._authenticate(request)
            elif not path.startswith("/_signed/"):
                router = self._pages
            handler, params = router.resolve(request.method, path)
            with self.backend.store.lock:
                return handler(self.backend, request, params)
        except ApiError as exc:
            response = error_response(exc.status, exc.message, **exc.extra)
            if exc.status == 401:
                response.headers.extend(_UNAUTHORIZED_HEADERS)
            return response

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization")
        if header == self._expected_auth:
            return
        if header is None:
            raise ApiError(401, "Unauthorized: an access token is required (HTTP Basic, token as username)")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(encoded, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            user, _, password = decoded.partition(":")
            token = self.config.token
            if decoded and user == token and password == "":
                return
            if self.config.accept_quoted_token and user == f"'{token}" and password == "'":
                return
        raise ApiError(401, "Unauthorized: invalid access token")

    def _check_min_server_version(self, request: Request) -> None:
        wanted = request.headers.get("min-server-version")
        if wanted is None:
            return
        if not _VERSION_RE.match(wanted.strip()):
            raise ApiError(400, f"invalid Min-Server-Version header '{wanted}'")
        if _version_tuple(wanted.strip()) > _version_tuple(self.config.server_version):
            raise ApiError(
                400,
                f"server version {self.config.server_version} is older than the minimum "
                f"version {wanted.strip()} required by the client",
            )

    def close(self) -> None:
        self.backend.close()
