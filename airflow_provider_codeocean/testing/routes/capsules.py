"""``/api/v1/capsules`` and ``/api/v1/pipelines``: metadata, runs, app panel, permissions, search."""

from __future__ import annotations

from airflow_provider_codeocean.testing.backend import lifecycle, permissions, releases, search
from airflow_provider_codeocean.testing.backend import validation as validate
from airflow_provider_codeocean.testing.backend.store import CapsuleRecord
from airflow_provider_codeocean.testing.http.messages import JsonObject, bad_request
from airflow_provider_codeocean.testing.http.router import Handler
from airflow_provider_codeocean.testing.routes import Backend, Request, Response, RouteTable, json_response, no_content

CAPSULE_QUERY_FIELDS = ("id", "name", "doi", "tag", "field", "affiliation", "journal", "article", "author")
SEARCH_FIELDS = (*search.COMMON_FIELDS, "status")


def capsule_json(record: CapsuleRecord, backend: Backend) -> JsonObject:
    spec = record.spec
    releases.settle(record, backend.now())
    body: JsonObject = {
        "id": spec.id,
        "created": spec.created,
        "name": spec.name,
        "status": spec.status,
        "owner": backend.config.owner_id,
        "owner_email": backend.config.owner_email,
        "slug": spec.slug,
        "last_accessed": spec.created,
        "description": spec.description,
        "field": spec.field_of_research,
        "tags": list(spec.tags),
        "cloned_from_url": spec.cloned_from_url,
    }
    if record.versions:
        body["versions"] = [dict(v) for v in record.versions]
    return body


def _record(backend: Backend, kind: str | None, params: dict[str, str]) -> CapsuleRecord:
    return backend.store.capsule(params["capsule_id"], kind)


def _for(kind: str | None) -> dict[str, Handler[Backend]]:
    """Handlers for one route prefix. ``capsules/`` also answers for pipelines: before platform 4.1
    pipelines were capsules, and the vendor's own examples still address them that way."""

    def get(backend: Backend, _: Request, params: dict[str, str]) -> Response:
        return json_response(capsule_json(_record(backend, kind, params), backend))

    def delete(backend: Backend, _: Request, params: dict[str, str]) -> Response:
        lifecycle.delete(backend, _record(backend, kind, params))
        return no_content()

    def computations(backend: Backend, _: Request, params: dict[str, str]) -> Response:
        record = _record(backend, kind, params)
        now = backend.now()
        ids = backend.store.by_capsule.get(record.spec.id, {})
        return json_response([backend.store.computations[i].to_json(now) for i in ids])

    def app_panel(backend: Backend, request: Request, params: dict[str, str]) -> Response:
        record = _record(backend, kind, params)
        version = request.query_value("version")
        if version is not None and not version.isdigit():
            raise bad_request("query parameter 'version' must be an integer")
        return json_response(lifecycle.app_panel(backend, record, None if version is None else int(version)))

    def get_permissions(backend: Backend, _: Request, params: dict[str, str]) -> Response:
        record = _record(backend, kind, params)
        return json_response(permissions.current(record.permissions, backend.config))

    def set_permissions(backend: Backend, request: Request, params: dict[str, str]) -> Response:
        record = _record(backend, kind, params)
        record.permissions = permissions.updated(record.permissions, request.json(), backend.config)
        return no_content()

    def archive(backend: Backend, request: Request, params: dict[str, str]) -> Response:
        record = _record(backend, kind, params)
        record.archived = validate.parse_bool_query(request.query_value("archive"), "archive")
        return no_content()

    def attach(backend: Backend, request: Request, params: dict[str, str]) -> Response:
        return json_response(lifecycle.attach(backend, _record(backend, kind, params), request.json()))

    def detach(backend: Backend, request: Request, params: dict[str, str]) -> Response:
        lifecycle.detach(_record(backend, kind, params), request.json())
        return no_content()

    def sync(backend: Backend, _: Request, params: dict[str, str]) -> Response:
        return json_response(lifecycle.sync(_record(backend, kind, params)))

    def release(backend: Backend, _: Request, params: dict[str, str]) -> Response:
        job = releases.start_release(backend, _record(backend, kind, params))
        return json_response(job.to_json(backend.now()))

    def release_job(backend: Backend, _: Request, params: dict[str, str]) -> Response:
        return json_response(releases.release_job(backend, _record(backend, kind, params), params["job_id"]))

    def search_handler(backend: Backend, request: Request, _: dict[str, str]) -> Response:
        body = validate.expect_object(request.json(empty={}), "body", SEARCH_FIELDS)
        offset, limit = search.paging(body)
        groups = search.parse_query(validate.opt_str(body, "query", "body"), CAPSULE_QUERY_FIELDS)
        filters = search.parse_filters(body, ("name", "description", "tags", "field"))
        ownership = validate.opt_enum(body, "ownership", "body", ("private", "created", "shared"))
        status = validate.opt_enum(body, "status", "body", ("release", "non_release"))
        archived = bool(validate.opt_bool(body, "archived", "body"))
        favorite = bool(validate.opt_bool(body, "favorite", "body"))
        matches = []
        for record in backend.store.capsules.values():
            spec = record.spec
            if spec.kind != (kind or "capsule"):
                continue
            if record.archived != archived or favorite or ownership == "shared":
                continue
            if status is not None and spec.status != status:
                continue
            item = search.Searchable(
                text={"id": [spec.id], "name": [spec.name], "tag": spec.tags, "field": [spec.field_of_research],
                      "description": [spec.description]},
                values={"name": spec.name, "description": spec.description, "tags": spec.tags,
                        "field": spec.field_of_research},
            )  # fmt: skip
            if search.query_matches(groups, item, ("name", "description", "tag")) and search.filters_match(
                filters, item
            ):
                matches.append(record)
        ordered = search.sort_items(
            matches,
            body,
            {
                "created": lambda r: (r.spec.created, r.spec.id),
                "name": lambda r: (r.spec.name.lower(), r.spec.id),
                "last_accessed": lambda r: (r.spec.created, r.spec.id),
            },
            "created",
        )
        return json_response(search.page(ordered, offset, limit, lambda r: capsule_json(r, backend)))

    return {
        "get": get, "delete": delete, "computations": computations, "app_panel": app_panel,
        "get_permissions": get_permissions, "set_permissions": set_permissions, "archive": archive,
        "attach": attach, "detach": detach, "sync": sync, "release": release, "release_job": release_job,
        "search": search_handler,
    }  # fmt: skip


def _routes(prefix: str, kind: str | None) -> RouteTable:
    h = _for(kind)
    item = f"/api/v1/{prefix}/{{capsule_id}}"
    return [
        ("POST", f"/api/v1/{prefix}/search", h["search"]),
        ("GET", item, h["get"]),
        ("DELETE", item, h["delete"]),
        ("GET", f"{item}/computations", h["computations"]),
        ("GET", f"{item}/app_panel", h["app_panel"]),
        ("GET", f"{item}/permissions", h["get_permissions"]),
        ("POST", f"{item}/permissions", h["set_permissions"]),
        ("PATCH", f"{item}/archive", h["archive"]),
        ("POST", f"{item}/data_assets", h["attach"]),
        ("DELETE", f"{item}/data_assets", h["detach"]),
        ("POST", f"{item}/sync", h["sync"]),
        ("POST", f"{item}/release", h["release"]),
        ("GET", f"{item}/release/{{job_id}}", h["release_job"]),
    ]


ROUTES: RouteTable = _routes("capsules", None) + _routes("pipelines", "pipeline")
