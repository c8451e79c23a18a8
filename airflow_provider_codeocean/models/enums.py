"""Enumerations of the Code Ocean API.

Fields typed with these enums hold the raw string instead when a server sends a value this provider
does not know yet; each enum is a ``str`` subclass, so comparisons with plain strings work either way.
"""

from __future__ import annotations

from enum import Enum


class _ApiEnum(str, Enum):
    """Prints as the API's value ("draft", not "DataAssetState.DRAFT") on every Python version."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class ComputationState(_ApiEnum):
    INITIALIZING = "initializing"
    RUNNING = "running"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    FAILED = "failed"


class ComputationEndStatus(_ApiEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"


class DataAssetState(_ApiEnum):
    DRAFT = "draft"
    READY = "ready"
    FAILED = "failed"


class DataAssetType(_ApiEnum):
    DATASET = "dataset"
    RESULT = "result"
    COMBINED = "combined"
    MODEL = "model"


class CapsuleStatus(_ApiEnum):
    NON_RELEASE = "non_release"
    RELEASE = "release"


class ReleaseJobStatus(_ApiEnum):
    """Status of an asynchronous release job (platform 4.8+); completed, failed and canceled are final."""

    CREATED = "created"
    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    CANCELING = "canceling"


class FolderItemType(_ApiEnum):
    FILE = "file"
    FOLDER = "folder"


class PermissionRole(_ApiEnum):
    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"
    DISCOVERABLE = "discoverable"
    NONE = "none"
