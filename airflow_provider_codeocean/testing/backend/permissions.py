"""Permissions of capsules, pipelines and data assets (``GET``/``POST .../permissions``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_provider_codeocean.testing.backend import validation as validate
from airflow_provider_codeocean.testing.config import EmulatorConfig
from airflow_provider_codeocean.testing.http.messages import JsonObject, bad_request

USER_ROLES = ("owner", "editor", "viewer")
GROUP_ROLES = ("owner", "editor", "viewer", "discoverable")
EVERYONE_ROLES = ("viewer", "discoverable", "none")


def default_permissions(config: EmulatorConfig) -> dict[str, Any]:
    return {
        "users": [{"email": config.owner_email, "role": "owner"}],
        "groups": [],
        "everyone": "none",
        "share_assets": False,
    }


def current(stored: dict[str, Any], config: EmulatorConfig) -> dict[str, Any]:
    return stored if stored else default_permissions(config)


def _members(
    entry: JsonObject, key: str, name_field: str, roles: tuple[str, ...], check: Callable[[str], None]
) -> list[tuple[str, str]] | None:
    """The (name, role) pairs of ``entry[key]`` in order, each checked as it is read; None if absent."""
    if entry.get(key) is None:
        return None
    members = []
    for index, item in enumerate(validate.expect_list(entry[key], key)):
        where = f"{key}[{index}]"
        member = validate.expect_object(item, where, (name_field, "role"))
        name = validate.req_str(member, name_field, where)
        role = validate.opt_enum(member, "role", where, roles)
        if role is None:
            raise bad_request(f"{where}.role is required")
        check(name)
        members.append((name, role))
    return members


def updated(stored: dict[str, Any], body: Any, config: EmulatorConfig) -> dict[str, Any]:
    """The permissions after applying ``body``; raises before anything is changed.

    Entries are merged by email/group. Unknown users are a 400, unknown groups are dropped without a
    word, matching the real API's silent partial success (SDK issue #36).
    """
    entry = validate.expect_object(body, "body", ("users", "groups", "everyone", "share_assets"))
    result = {k: (list(v) if isinstance(v, list) else v) for k, v in current(stored, config).items()}
    known_users = {u.lower() for u in config.users}

    def check_user(email: str) -> None:
        if email.lower() not in known_users:
            raise bad_request(f"user '{email}' does not exist")

    users = _members(entry, "users", "email", USER_ROLES, check_user)
    if users is not None:
        merged = {u["email"].lower(): u for u in result["users"]}
        merged.update({email.lower(): {"email": email, "role": role} for email, role in users})
        result["users"] = list(merged.values())
    groups = _members(entry, "groups", "group", GROUP_ROLES, lambda _: None)
    if groups is not None:
        by_name = {g["group"]: g for g in result["groups"]}
        by_name.update({name: {"group": name, "role": role} for name, role in groups if name in config.groups})
        result["groups"] = list(by_name.values())
    everyone = validate.opt_enum(entry, "everyone", "body", EVERYONE_ROLES)
    if everyone is not None:
        result["everyone"] = everyone
    share = validate.opt_bool(entry, "share_assets", "body")
    if share is not None:
        result["share_assets"] = share
    return result


__all__ = ["JsonObject", "current", "default_permissions", "updated"]
