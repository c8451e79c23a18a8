"""Path-template routing (``/api/v1/computations/{computation_id}``) with 404/405 distinction.

Every path parameter ending in ``_id`` goes through ``check_id`` (the app makes a malformed id a 400
before any handler runs); an unknown well-formed id is the handler's 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from airflow_provider_codeocean.testing.http.messages import ApiError, Request, Response

# What handlers are given besides the request; the router does not need to know what it is.
C = TypeVar("C")
Handler = Callable[[C, Request, dict[str, str]], Response]


@dataclass
class _Route(Generic[C]):
    method: str
    segments: list[str]
    handler: Handler[C]
    static_count: int


def _split(path: str) -> list[str]:
    # Trailing slashes are insignificant (the SDK detaches data assets via ".../data_assets/").
    return path.strip("/").split("/")


class Router(Generic[C]):
    def __init__(self, table: list[tuple[str, str, Handler[C]]], check_id: Callable[[str, str], str]) -> None:
        self._check_id = check_id
        self._by_length: dict[int, list[_Route[C]]] = {}
        for method, template, handler in table:
            segments = _split(template)
            static = sum(1 for s in segments if not s.startswith("{"))
            route = _Route(method, segments, handler, static)
            self._by_length.setdefault(len(segments), []).append(route)
        for routes in self._by_length.values():
            # "capsules/search" must win over "capsules/{capsule_id}".
            routes.sort(key=lambda r: -r.static_count)

    def resolve(self, method: str, path: str) -> tuple[Handler[C], dict[str, str]]:
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
                            params[name] = self._check_id(value, name.replace("_", " "))
                    return route.handler, params
        if path_matched:
            raise ApiError(405, f"method {method} is not allowed on {path}")
        raise ApiError(404, f"no such endpoint: {method} {path}")
