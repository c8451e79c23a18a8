"""Operators that search Code Ocean (data assets, capsules, pipelines) and return ids ready for ``.expand()``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean._common.inputs import check_max, choice, search_body
from airflow_provider_codeocean.operators.base import CodeOceanBaseOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class CodeOceanSearchOperator(CodeOceanBaseOperator):
    """What the search operators share: the common search fields, paging, ``max_results`` and ``return_ids``.

    Subclasses add their own fields (:meth:`search_fields`) and send the search (:meth:`search`).

    :param query: free text or ``field:value`` terms (templated).
    :param filters: ``[{key, value | values | range, exclude}]`` (templated).
    :param archived: search archived items instead of active ones.
    :param favorite: only favourites.
    :param sort_field: one of the subclass's ``sort_fields``.
    :param sort_order: ``asc`` or ``desc``.
    :param max_results: stop after this many.
    :param return_ids: return ids (default) or the items' JSON.
    """

    template_fields_renderers = {"filters": "json"}
    #: The ``sort_field`` values the API accepts for this kind of item.
    sort_fields: Sequence[str] = ()

    def __init__(
        self,
        *,
        query: str | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
        archived: bool | None = None,
        favorite: bool | None = None,
        sort_field: str | None = None,
        sort_order: str | None = None,
        max_results: int | None = None,
        return_ids: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.query = query
        self.filters = filters
        self.archived = archived
        self.favorite = favorite
        self.sort_field = sort_field
        self.sort_order = sort_order
        self.max_results = check_max(max_results)
        self.return_ids = return_ids

    def search_fields(self) -> dict[str, Any]:
        """This kind's own search fields, checked (None for a field not given)."""
        return {}

    def search(self, query: str | None, **fields: Any) -> Iterator[Any]:
        raise NotImplementedError

    def describe_found(self, count: int) -> str:
        raise NotImplementedError

    def _execute(self, context: Context) -> list[Any]:
        fields = search_body(
            self.query,
            self.filters,
            self.max_results,
            **self.search_fields(),
            archived=self.archived,
            favorite=self.favorite,
            sort_field=choice(self.sort_field, "sort_field", self.sort_fields),
            sort_order=choice(self.sort_order, "sort_order", ("asc", "desc")),
        )
        query = fields.pop("query", None)
        found = _take(self.search(query, **fields), self.max_results)
        self.log.info("Found %s", self.describe_found(len(found)))
        return [item.id if self.return_ids else item.to_dict() for item in found]


class CodeOceanSearchDataAssetsOperator(CodeOceanSearchOperator):
    """Search data assets; returns their ids (or their JSON with ``return_ids=False``), ready for ``.expand()``.

    Pages of 1000 are fetched until ``max_results`` or the end of the results.

    :param query: free text or ``field:value`` terms (``name``, ``tag``, ``run_script``, ``commit_id``,
        ``contained_data_id``) (templated).
    :param filters: ``[{key, value | values | range, exclude}]``; key ``name``, ``description``,
        ``tags`` or a custom metadata field (templated).
    :param type: ``dataset``, ``result``, ``combined`` or ``model`` (templated).
    :param ownership: ``created`` or ``shared`` (templated).
    :param origin: ``internal`` or ``external`` (templated).

    ``sort_field`` is ``created``, ``type``, ``name`` or ``size``; ``archived``, ``favorite``,
    ``sort_order``, ``max_results`` and ``return_ids`` are those of :class:`CodeOceanSearchOperator`.
    """

    template_fields: Sequence[str] = ("query", "filters", "type", "ownership", "origin")
    sort_fields = ("created", "type", "name", "size")

    def __init__(
        self,
        *,
        query: str | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
        type: str | None = None,
        ownership: str | None = None,
        origin: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(query=query, filters=filters, **kwargs)
        self.type = type
        self.ownership = ownership
        self.origin = origin

    def search_fields(self) -> dict[str, Any]:
        return {
            "type": choice(self.type, "type", ("dataset", "result", "combined", "model")),
            "ownership": choice(self.ownership, "ownership", ("created", "shared")),
            "origin": choice(self.origin, "origin", ("internal", "external")),
        }

    def search(self, query: str | None, **fields: Any) -> Iterator[Any]:
        return self.hook.search_data_assets(query, **fields)

    def describe_found(self, count: int) -> str:
        return f"{count} data asset(s)"


class CodeOceanSearchCapsulesOperator(CodeOceanSearchOperator):
    """Search capsules (or pipelines with ``pipelines=True``); returns ids or, with ``return_ids=False``, JSON.

    :param query: free text or ``field:value`` terms (``id``, ``name``, ``doi``, ``tag``, ``field``, ...)
        (templated).
    :param filters: ``[{key, value | values | range, exclude}]`` (templated).
    :param pipelines: search pipelines instead of capsules.
    :param ownership: ``private``, ``created`` or ``shared`` (templated).
    :param status: ``release`` or ``non_release`` (templated).

    ``sort_field`` is ``created``, ``name`` or ``last_accessed``; ``archived``, ``favorite``,
    ``sort_order``, ``max_results`` and ``return_ids`` are those of :class:`CodeOceanSearchOperator`.
    """

    template_fields: Sequence[str] = ("query", "filters", "ownership", "status")
    sort_fields = ("created", "name", "last_accessed")

    def __init__(
        self,
        *,
        query: str | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
        pipelines: bool = False,
        ownership: str | None = None,
        status: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(query=query, filters=filters, **kwargs)
        self.pipelines = pipelines
        self.ownership = ownership
        self.status = status

    def search_fields(self) -> dict[str, Any]:
        return {
            "ownership": choice(self.ownership, "ownership", ("private", "created", "shared")),
            "status": choice(self.status, "status", ("release", "non_release")),
        }

    def search(self, query: str | None, **fields: Any) -> Iterator[Any]:
        return self.hook.search_capsules(query, pipelines=self.pipelines, **fields)

    def describe_found(self, count: int) -> str:
        return f"{count} {'pipeline(s)' if self.pipelines else 'capsule(s)'}"


def _take(items: Iterable[Any], limit: int | None) -> list[Any]:
    taken: list[Any] = []
    for item in items:
        if limit is not None and len(taken) >= limit:
            break
        taken.append(item)
    return taken
