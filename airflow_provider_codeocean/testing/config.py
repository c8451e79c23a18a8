"""Settings of one emulator instance."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUILTIN_CAPSULES_DIR = Path(__file__).parent / "builtin_capsules"

DEFAULT_CUSTOM_METADATA: dict[str, Any] = {
    "fields": [
        {"name": "project", "type": "string", "category": "General"},
        {"name": "modality", "type": "string", "allowed_values": ["ecephys", "imaging", "behavior"]},
        {"name": "sample_count", "type": "number", "range": {"min": 0, "max": 1_000_000}},
        {"name": "acquired", "type": "date"},
        {"name": "keywords", "type": "string", "multiple": True},
    ],
    "categories": ["General"],
}


@dataclass
class EmulatorConfig:
    # Kept out of repr() so that a logged or raised config never shows it.
    token: str = field(default="cop_emulator_token", repr=False)
    capsules_dir: Path | None = None
    state_dir: Path | None = None
    data_assets_dir: Path | None = None
    buckets_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 0
    seed: int | None = None
    faults: str | None = None
    # Seconds a new data asset stays "draft" before it turns ready (or failed).
    asset_ready_delay: float = 0.5
    custom_metadata: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_CUSTOM_METADATA))
    # Emails update_permissions accepts; any other email is a 400, like an unknown user on Code Ocean.
    users: list[str] = field(default_factory=lambda: ["emulator@example.com", "alice@example.com", "bob@example.com"])
    groups: list[str] = field(default_factory=lambda: ["analysts", "engineers"])
    owner_id: str = "00000000-0000-4000-8000-00000000e3e3"
    owner_email: str = "emulator@example.com"
    # Compared with the SDK's Min-Server-Version header; the SDK 0.17.0 asks for 4.8.0.
    server_version: str = "4.9.0"
    # Real runs beyond this many wait in "initializing", like a busy cluster.
    max_parallel_runs: int = 8
    # The vendor's own examples send ``-u '$TOKEN:'`` with shell-escaped quotes, i.e. the username
    # "'TOKEN" and the password "'"; accept exactly that quoting so the examples work verbatim.
    accept_quoted_token: bool = True
    signed_url_ttl: float = 3600.0
    request_log_limit: int = 100_000
    # Seconds a release job takes from created to completed (a capsule can override it).
    release_delay: float = 1.0
    # Seconds each real run spends in "finalizing" (0 by default; tests can slow it to observe it).
    finalize_delay: float = 0.0
