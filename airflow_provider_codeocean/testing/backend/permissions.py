"""Permissions of capsules, pipelines and data assets (``GET``/``POST .../permissions``)."""

from __future__ import annotations

from typing import Any

from airflow_provider_codeocean.testing.backend.validation import (
    expect_list,
    expect_object,
    opt_bool,
    opt_enum,
    req_str,
)
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


def updated(stored: dict[str, Any], body: Any, config: EmulatorConfig) -> dict[str, Any]:
    """The permissions after applying ``body``; raises before anything is changed.

    Entries are merged by email/group. Unknown users are a 400, unknown groups are dropped without a
    word, matching the real API's silent partial success (SDK issue #36).
    """
    entry = expect_object(body, "body", ("users", "groups", "everyone", "share_assets"))
    result = {k: (list(v) if isinstance(v, list) else v) for k, v in current(stored, config).items()}
    known_users = {u.lower() for u in config.users}
    if entry.get("users") is not None:
        users = {u["email"].lower(): u for u in result["users"]}
        for index, item in enumerate(expect_list(entry["users"], "users")):
            where = f"users[{index}]"
            user = expect_object(item, where, ("email", "role"))
            email = req_str(user, "email", where)
            role = opt_enum(user, "role", where, USER_ROLES)
            if role is None:
                raise bad_request(f"{where}.role is required")
            if email.lower() not in known_users:
                raise bad_request(f"user '{email}' does not exist")
            users[email.lower()] = {"email": email, "role": role}
        result["users"] = list(users.values())
    if entry.get("groups") is not None:
        groups = {g["group"]: g for g in result["groups"]}
        for index, item in enumerate(expect_list(entry["groups"], "groups")):
            where = f"groups[{index}]"
            group = expect_object(item, where, ("group", "role"))
            name = req_str(group, "group", where)
            role = opt_enum(group, "role", where, GROUP_ROLES)
            if role is None:
                raise bad_request(f"{where}.role is required")
            if name in config.groups:
                groups[name] = {"group": name, "role": role}
        result["groups"] = list(groups.values())
    everyone = opt_enum(entry, "everyone", "body", EVERYONE_ROLES)
    if everyone is not None:
        result["everyone"] = everyone
    share = opt_bool(entry, "share_assets", "body")
    if share is not None:
        result["share_assets"] = share
    return result


__all__ = ["JsonObject", "current", "default_permissions", "updated"]
