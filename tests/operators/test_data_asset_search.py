"""CodeOceanSearchDataAssetsOperator and CodeOceanSearchCapsulesOperator against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_codeocean.errors import CodeOceanConfigError
from airflow_provider_codeocean.operators.data_asset import (
    CodeOceanCreateDataAssetOperator,
    CodeOceanSearchCapsulesOperator,
    CodeOceanSearchDataAssetsOperator,
)
from tests.operators.test_data_asset_support import ECHO, TINY, FakeTaskInstance, make_context


def make_assets(count: int, tag: str = "batch") -> list[str]:
    ids = []
    for index in range(count):
        result = CodeOceanCreateDataAssetOperator(
            task_id="make",
            name=f"asset-{index:04d}",
            aws_source={"bucket": "raw-data"},
            tags=[tag],
            custom_metadata={"sample_count": index},
            wait_for_ready=False,
            idempotent=False,
            poll_interval=TINY,
        ).execute(make_context(FakeTaskInstance(map_index=index)))
        ids.append(result["id"])
    return ids


def search(**kwargs: Any) -> list[Any]:
    return CodeOceanSearchDataAssetsOperator(task_id="search", **kwargs).execute(make_context())


def test_search_by_tag_returns_ids_for_expand(codeocean_emulator: Any) -> None:
    ids = make_assets(3)
    make_assets(1, tag="other")

    found = search(filters=[{"key": "tags", "value": "batch"}])
    assert sorted(found) == sorted(ids)
    assert search(query="tag:other", return_ids=False)[0]["name"] == "asset-0000"


def test_search_pages_through_everything(codeocean_emulator: Any) -> None:
    from airflow_provider_codeocean.hooks import codeocean as hook_module

    ids = make_assets(7)
    # Small pages so paging is exercised without creating thousands of assets.
    original = hook_module.SEARCH_PAGE_SIZE
    hook_module.SEARCH_PAGE_SIZE = 3
    try:
        found = search(query="tag:batch", sort_field="name", sort_order="asc")
    finally:
        hook_module.SEARCH_PAGE_SIZE = original
    assert found == ids
    pages = [r for r in codeocean_emulator.requests() if r["path"] == "/api/v1/data_assets/search"]
    assert len(pages) == 3


def test_max_results_stops_early(codeocean_emulator: Any) -> None:
    make_assets(5)
    found = search(query="tag:batch", max_results=2, return_ids=False)
    assert len(found) == 2
    assert all(isinstance(item, dict) and item["tags"] == ["batch"] for item in found)


def test_filters_on_custom_metadata_ranges(codeocean_emulator: Any) -> None:
    ids = make_assets(5)
    found = search(
        filters=[{"key": "sample_count", "range": {"min": 1, "max": 2}}], sort_field="name", sort_order="asc"
    )
    assert found == ids[1:3]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "folder"}, "type must be one of"),
        ({"sort_order": "up"}, "sort_order must be one of"),
        ({"filters": [{"value": 1}]}, "each filter needs a 'key'"),
        ({"filters": "tags=a"}, "filters must be a list"),
        ({"query": 5}, "query must be a string"),
    ],
)
def test_search_bad_input(codeocean_emulator: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(CodeOceanConfigError, match=message):
        search(**kwargs)
    assert codeocean_emulator.requests() == []


def test_max_results_must_be_positive() -> None:
    with pytest.raises(CodeOceanConfigError, match="max_results"):
        CodeOceanSearchDataAssetsOperator(task_id="s", max_results=0)


def test_search_capsules_and_pipelines(codeocean_emulator: Any) -> None:
    capsules = CodeOceanSearchCapsulesOperator(task_id="c", query="tag:emulator").execute(make_context())
    assert ECHO in capsules
    pipelines = CodeOceanSearchCapsulesOperator(task_id="p", pipelines=True, return_ids=False).execute(make_context())
    assert [p["name"] for p in pipelines] == ["Example pipeline"]
