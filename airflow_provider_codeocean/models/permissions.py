"""Who may see or edit a capsule, pipeline or data asset."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow_provider_codeocean.models._parse import (
    JSON,
    as_mapping,
    bool_or_none,
    drop_none,
    list_of,
    str_or_empty,
    str_or_none,
)


@dataclass(frozen=True)
class UserPermission:
    email: str
    role: str

    @classmethod
    def from_json(cls, data: Any) -> UserPermission:
        obj = as_mapping(data)
        return cls(email=str_or_empty(obj, "email"), role=str_or_empty(obj, "role"))


@dataclass(frozen=True)
class GroupPermission:
    group: str
    role: str

    @classmethod
    def from_json(cls, data: Any) -> GroupPermission:
        obj = as_mapping(data)
        return cls(group=str_or_empty(obj, "group"), role=str_or_empty(obj, "role"))


@dataclass(frozen=True)
class Permissions:
    users: list[UserPermission] = field(default_factory=list)
    groups: list[GroupPermission] = field(default_factory=list)
    everyone: str | None = None
    share_assets: bool | None = None

    @classmethod
    def from_json(cls, data: Any) -> Permissions:
        obj = as_mapping(data)
        return cls(
            users=list_of(obj, "users", UserPermission.from_json),
            groups=list_of(obj, "groups", GroupPermission.from_json),
            everyone=str_or_none(obj, "everyone"),
            share_assets=bool_or_none(obj, "share_assets"),
        )

    def to_json(self) -> JSON:
        return drop_none(
            {
                "users": [{"email": u.email, "role": u.role} for u in self.users],
                "groups": [{"group": g.group, "role": g.role} for g in self.groups],
                "everyone": self.everyone,
                "share_assets": self.share_assets,
            }
        )

    def missing_from(self, actual: Permissions) -> list[str]:
        """Entries of this (requested) set that ``actual`` lacks: the API drops some silently."""
        have_users = {(u.email.lower(), u.role) for u in actual.users}
        have_groups = {(g.group, g.role) for g in actual.groups}
        missing = [f"user {u.email} as {u.role}" for u in self.users if (u.email.lower(), u.role) not in have_users]
        missing += [f"group {g.group} as {g.role}" for g in self.groups if (g.group, g.role) not in have_groups]
        if self.everyone is not None and actual.everyone != self.everyone:
            missing.append(f"everyone as {self.everyone}")
        return missing
