"""Typed, lenient models of the Code Ocean API: unknown enum values and missing optional fields never crash."""

from __future__ import annotations

from airflow_provider_codeocean.models.capsule import AppPanel, AppPanelParameter, Capsule
from airflow_provider_codeocean.models.computation import (
    Computation,
    ComputationParameter,
    ComputationProcess,
    DataAssetMount,
)
from airflow_provider_codeocean.models.data_asset import DataAsset, Provenance, SourceBucket
from airflow_provider_codeocean.models.enums import (
    CapsuleStatus,
    ComputationEndStatus,
    ComputationState,
    DataAssetState,
    DataAssetType,
    FolderItemType,
    PermissionRole,
    ReleaseJobStatus,
)
from airflow_provider_codeocean.models.files import FileURLs, Folder, FolderItem
from airflow_provider_codeocean.models.lifecycle import (
    CapsuleReleaseJob,
    DataAssetAttachResult,
    GitSyncResult,
    ReleaseValidationIssues,
    ReleaseVersion,
)
from airflow_provider_codeocean.models.params import (
    AWSSource,
    AWSTarget,
    ComputationSource,
    DataAssetParams,
    DataAssetUpdate,
    GCPSource,
    NamedParameter,
    PipelineProcessParams,
    RunParams,
)
from airflow_provider_codeocean.models.permissions import GroupPermission, Permissions, UserPermission
from airflow_provider_codeocean.models.search import CustomMetadataField, CustomMetadataSchema, SearchPage

__all__ = [
    "AWSSource",
    "AWSTarget",
    "AppPanel",
    "AppPanelParameter",
    "Capsule",
    "CapsuleReleaseJob",
    "CapsuleStatus",
    "Computation",
    "ComputationEndStatus",
    "ComputationParameter",
    "ComputationProcess",
    "ComputationSource",
    "ComputationState",
    "CustomMetadataField",
    "CustomMetadataSchema",
    "DataAsset",
    "DataAssetAttachResult",
    "DataAssetMount",
    "DataAssetParams",
    "DataAssetState",
    "DataAssetType",
    "DataAssetUpdate",
    "FileURLs",
    "Folder",
    "FolderItem",
    "FolderItemType",
    "GCPSource",
    "GitSyncResult",
    "GroupPermission",
    "NamedParameter",
    "PermissionRole",
    "Permissions",
    "PipelineProcessParams",
    "Provenance",
    "ReleaseJobStatus",
    "ReleaseValidationIssues",
    "ReleaseVersion",
    "RunParams",
    "SearchPage",
    "SourceBucket",
    "UserPermission",
]
