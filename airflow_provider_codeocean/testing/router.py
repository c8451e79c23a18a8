"""Path-template routing (``/api/v1/computations/{computation_id}``) with 404/405 distinction.

Every path parameter ending in ``_id`` must be UUID-shaped; a malformed id is a 400 before any
handler runs, an unknown well-formed id is the handler's 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_codeocean.testing.protocol import ApiError, Request, Response
from airflow_provider_codeocean.testing.validation import check_uuid

if TYPE_CHECKING:
    from airflow_provider_codeocean.testing.app import App

Handler = Callable[["App", Request, dict[str, str]], Response]
RouteTable = list[tuple[str, str, Handler]]


@dataclass
class _Route:
    method: str
    segments: list[str]
    handler: Handler
    static_count: int


def _split(path: str) -> list[str]:
    # Trailing slashes are insignificant (the SDK detaches data assets via ".../data_assets/").
    return path.strip("/").split("/")


class Router:
    def __init__(self, table: RouteTable) -> None:
        self._by_length: dict[int, list[_Route]] = {}
        for method, template, handler in table:
            segments = _split(template)
            static = sum(1 for s in segments if not s.startswith("{"))
            route = _Route(method, segments, handler, static)
            self._by_length.setdefault(len(segments), []).append(route)
        for routes in self._by_length.values():
            # "capsules/search" must win over "capsules/{capsule_id}".
            routes.sort(key=lambda r: -r.static_count)

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        parts = _split(path)
        path_matched = False
        best_static = -1
        for route in self._by_length.get(len(parts), []):
            if route.static_count < best_static:
                break
            params: dict[str, str] = {}
            for template, part in zip(route.segments, parts, strict=True):
                if template.startswith("{"):
                    if not part:
                        break
                    params[template[1:-1]] = part
                elif template != part:
                    break
            else:
                path_matched = True
                best_static = route.static_count
                if route.method == method or (method == "HEAD" and route.method == "GET"):
                    for name, value in params.items():
                        if name.endswith("_id"):
                            params[name] = check_uuid(value, name.replace("_", " "))
                    return route.handler, params
        if path_matched:
            raise ApiError(405, f"method {method} is not allowed on {path}")
        raise ApiError(404, f"no such endpoint: {method} {path}")
