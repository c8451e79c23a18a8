"""Client settings from an Airflow connection's fields, validated with messages that say what to fix."""

from __future__ import annotations

import ipaddress
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_codeocean.errors import CodeOceanConfigError

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
DEFAULT_RETRY_LIMIT = 5
DEFAULT_RETRY_BACKOFF = 1.0
DEFAULT_RETRY_MAX_WAIT = 60.0
DEFAULT_COMPUTATION_URL = "{base_url}/computations/{id}"
DEFAULT_DATA_ASSET_URL = "{base_url}/data-assets/{id}"

# What Airflow's forms write besides JSON booleans: the 2.11 form stores a ticked box as "y".
_TRUE = {"true", "t", "1", "yes", "y", "on"}
_FALSE = {"false", "f", "0", "no", "n", "off", ""}


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _as_bool(extra: Mapping[str, Any], key: str, default: bool) -> bool:
    value = extra.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CodeOceanConfigError(
        f"connection extra {key!r} must be true or false, got {value!r} (y/n, on/off and 1/0 work too)"
    )


def _as_number(extra: Mapping[str, Any], key: str, default: float, minimum: float) -> float:
    value = extra.get(key)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CodeOceanConfigError(f"connection extra {key!r} must be a number, got {value!r}") from None
    if number < minimum:
        raise CodeOceanConfigError(f"connection extra {key!r} must be at least {minimum}, got {value!r}")
    return number


def user_agent() -> str:
    from airflow_provider_codeocean import __version__

    try:
        import airflow

        airflow_part = f" apache-airflow/{airflow.__version__}"
    except ImportError:  # pragma: no cover - the provider always runs under Airflow
        airflow_part = ""
    return f"airflow-provider-codeocean/{__version__}{airflow_part} python/{platform.python_version()}"


@dataclass(frozen=True)
class ClientSettings:
    """Everything a transport needs. The token never appears in ``repr``."""

    base_url: str
    token: str = field(repr=False)
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    retry_limit: int = DEFAULT_RETRY_LIMIT
    retry_backoff: float = DEFAULT_RETRY_BACKOFF
    retry_max_wait: float = DEFAULT_RETRY_MAX_WAIT
    verify: bool | str = True
    agent_id: str | None = None
    min_server_version: str | None = None
    computation_url_template: str = DEFAULT_COMPUTATION_URL
    data_asset_url_template: str = DEFAULT_DATA_ASSET_URL
    user_agent: str = field(default_factory=user_agent)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v1/"

    @property
    def headers(self) -> dict[str, str]:
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if self.agent_id:
            headers["Agent-Id"] = self.agent_id
        if self.min_server_version:
            headers["Min-Server-Version"] = self.min_server_version
        return headers

    @property
    def pool_key(self) -> tuple[str, str, float, float]:
        """What decides whether two hooks may share one async client (the token is sent per request)."""
        return (self.base_url, str(self.verify), self.connect_timeout, self.read_timeout)

    def computation_url(self, computation_id: str) -> str:
        return self.computation_url_template.format(base_url=self.base_url, id=computation_id)

    def data_asset_url(self, data_asset_id: str) -> str:
        return self.data_asset_url_template.format(base_url=self.base_url, id=data_asset_id)

    @classmethod
    def from_connection(
        cls,
        *,
        host: str | None,
        password: str | None,
        login: str | None = None,
        port: int | None = None,
        schema: str | None = None,
        extra: Mapping[str, Any] | None = None,
        conn_id: str = "codeocean_default",
    ) -> ClientSettings:
        extra = dict(extra or {})
        base_url = normalise_domain(
            host, port=port, allow_http=_as_bool(extra, "allow_insecure_http", False), conn_id=conn_id
        )
        token = (password or "").strip()
        if not token and (login or "").strip().startswith("cop_"):
            token = (login or "").strip()
        if not token:
            raise CodeOceanConfigError(
                f"connection {conn_id!r} has no API token: put the Code Ocean access token (cop_...) in "
                "the password field (URI form: codeocean://:TOKEN@your-domain)"
            )
        verify: bool | str = _as_bool(extra, "verify_ssl", True)
        ca_bundle = extra.get("ca_bundle")
        if verify and isinstance(ca_bundle, str) and ca_bundle:
            verify = ca_bundle
        retry_limit = int(_as_number(extra, "retry_limit", DEFAULT_RETRY_LIMIT, 0))
        min_version = extra.get("min_server_version")
        return cls(
            base_url=base_url,
            token=token,
            connect_timeout=_as_number(extra, "connect_timeout", DEFAULT_CONNECT_TIMEOUT, 0.001),
            read_timeout=_as_number(
                extra, "request_timeout", _as_number(extra, "timeout", DEFAULT_READ_TIMEOUT, 0.001), 0.001
            ),
            retry_limit=retry_limit,
            retry_backoff=_as_number(extra, "retry_backoff", DEFAULT_RETRY_BACKOFF, 0),
            retry_max_wait=_as_number(extra, "retry_max_wait", DEFAULT_RETRY_MAX_WAIT, 0),
            verify=verify,
            agent_id=str(extra["agent_id"]) if extra.get("agent_id") else None,
            min_server_version=str(min_version) if min_version else None,
            computation_url_template=str(extra.get("computation_url_template") or DEFAULT_COMPUTATION_URL),
            data_asset_url_template=str(extra.get("data_asset_url_template") or DEFAULT_DATA_ASSET_URL),
        )


def normalise_domain(host: str | None, *, port: int | None, allow_http: bool, conn_id: str) -> str:
    """``acme.codeocean.com``, ``https://acme.codeocean.com/`` or ``.../api/v1`` → ``https://acme.codeocean.com``."""
    raw = (host or "").strip()
    if not raw:
        raise CodeOceanConfigError(
            f"connection {conn_id!r} has no domain: put your Code Ocean address, such as "
            "https://acme.codeocean.com, in the host field"
        )
    try:
        parts = urlsplit(raw if "://" in raw else f"//{raw}")
        parsed_port = parts.port
    except ValueError:
        # Not echoing the host: a token pasted into it must not reach an error message.
        raise CodeOceanConfigError(
            f"connection {conn_id!r}: the host field is not a valid address (a port must be a number from "
            "1 to 65535, an IPv6 address needs its closing ']'); use e.g. https://acme.codeocean.com:8443"
        ) from None
    # Checked first, and without echoing the host: a token typed into it must not reach an error message.
    if "@" in parts.netloc:
        raise CodeOceanConfigError(f"connection {conn_id!r}: put the token in the password field, not in the host")
    hostname = parts.hostname or ""
    if not hostname:
        raise CodeOceanConfigError(f"connection {conn_id!r}: cannot read a domain from host {raw!r}")
    scheme = parts.scheme or ("http" if _is_loopback(hostname) else "https")
    if scheme not in ("http", "https"):
        raise CodeOceanConfigError(f"connection {conn_id!r}: the domain must use https://, got {raw!r}")
    if scheme == "http" and not _is_loopback(hostname) and not allow_http:
        raise CodeOceanConfigError(
            f"connection {conn_id!r}: refusing plain http:// to {hostname}, which would send the API token "
            "unencrypted; use https://, or set the extra allow_insecure_http to true if you really mean it"
        )
    netloc = f"[{hostname}]" if ":" in hostname else hostname
    effective_port = parsed_port or port
    if effective_port:
        netloc += f":{effective_port}"
    path = parts.path.rstrip("/")
    for suffix in ("/api/v1", "/api"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return f"{scheme}://{netloc}{path}"
