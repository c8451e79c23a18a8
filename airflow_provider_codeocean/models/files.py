"""Listings of result and data asset folders, and signed file URLs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow_provider_codeocean.models._parse import (
    JSON,
    as_mapping,
    enum_or_str,
    int_or_none,
    list_of,
    str_or_empty,
    str_or_none,
)
from airflow_provider_codeocean.models.enums import FolderItemType


@dataclass(frozen=True)
class FolderItem:
    name: str
    path: str
    type: FolderItemType | str | None
    size: int | None = None

    @classmethod
    def from_json(cls, data: Any) -> FolderItem:
        obj = as_mapping(data)
        return cls(
            name=str_or_empty(obj, "name"),
            path=str_or_empty(obj, "path"),
            type=enum_or_str(FolderItemType, obj.get("type")),
            size=int_or_none(obj, "size"),
        )

    @property
    def is_folder(self) -> bool:
        return self.type == FolderItemType.FOLDER


@dataclass(frozen=True)
class Folder:
    """One level of a folder; the API never recurses."""

    items: list[FolderItem] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Any) -> Folder:
        return cls(items=list_of(as_mapping(data), "items", FolderItem.from_json))


@dataclass(frozen=True)
class FileURLs:
    """Signed URLs for one file. They need no API token, and they expire."""

    download_url: str
    view_url: str | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> FileURLs:
        obj = as_mapping(data)
        return cls(
            download_url=str_or_empty(obj, "download_url") or str_or_empty(obj, "url"),
            view_url=str_or_none(obj, "view_url"),
            raw=obj,
        )
