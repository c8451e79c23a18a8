"""Enumerations of the Code Ocean API.

Fields typed with these enums hold the raw string instead when a server sends a value this provider
does not know yet; each enum is a ``str`` subclass, so comparisons with plain strings work either way.
"""

from __future__ import annotations

from enum import Enum


class ComputationState(str, Enum):
    INITIALIZING = "initializing"
    RUNNING = "running"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    FAILED = "failed"


class ComputationEndStatus(str, Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"


class DataAssetState(str, Enum):
    DRAFT = "draft"
    READY = "ready"
    FAILED = "failed"


class DataAssetType(str, Enum):
    DATASET = "dataset"
    RESULT = "result"
    COMBINED = "combined"
    MODEL = "model"


class CapsuleStatus(str, Enum):
    NON_RELEASE = "non_release"
    RELEASE = "release"


class FolderItemType(str, Enum):
    FILE = "file"
    FOLDER = "folder"


class PermissionRole(str, Enum):
    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"
    DISCOVERABLE = "discoverable"
    NONE = "none"
