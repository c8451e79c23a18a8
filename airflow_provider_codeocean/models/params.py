"""Request bodies, validated locally so bad input fails before anything is sent."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_codeocean.errors import CodeOceanConfigError
from airflow_provider_codeocean.models._parse import JSON, drop_none
from airflow_provider_codeocean.models.computation import DataAssetMount

# Every Code Ocean id (capsule, pipeline, computation, data asset) is a UUID; a truncated one would
# only fail at the server, after a round trip, or match nothing.
_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Mounts are folder names under /data: one path segment, no spaces or shell metacharacters.
_MOUNT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")
# A named parameter reaches the script as "--NAME VALUE": one word, and no argument can hold a NUL.
PARAM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
MAX_PARAMETER_BYTES = 64 * 1024


def check_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value.strip()):
        raise CodeOceanConfigError(
            f"{what} must be a Code Ocean id, a UUID such as '4bc97533-6eb4-48ac-966f-648548a756d2' "
            f"(copy it whole from the capsule's or asset's page), got {value!r}"
        )
    return value.strip()


def check_mount(value: Any, what: str = "mount") -> str:
    if not isinstance(value, str) or not _MOUNT.fullmatch(value):
        raise CodeOceanConfigError(
            f"{what} must be a folder name of letters, digits, '_', '-' or '.', not starting with '.' or '-', "
            f"with no '/' or spaces, got {value!r}"
        )
    return value


def check_parameter_value(value: str, what: str) -> str:
    if "\x00" in value:
        raise CodeOceanConfigError(f"{what} contains a NUL byte, which no command-line argument can carry")
    size = len(value.encode())
    if size > MAX_PARAMETER_BYTES:
        raise CodeOceanConfigError(
            f"{what} is {size} bytes, over the {MAX_PARAMETER_BYTES}-byte limit for a parameter; "
            "put large inputs in a data asset and pass its path"
        )
    return value


def check_parameter_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not PARAM_NAME.fullmatch(name):
        raise CodeOceanConfigError(
            f"{what}: the parameter name {name!r} is not valid: use 1-128 letters, digits, '_', '-' or '.', "
            "starting with a letter, digit or '_' (no spaces or ';'), as in the capsule's App Panel"
        )
    return name


def safe_mount(name: str) -> str:
    """A mount derived from a data asset's name: the characters the API rejects become '_'."""
    mount = re.sub(r"[^A-Za-z0-9_.-]+", "_", name.strip()).strip("._").lstrip("-") or "data"
    return mount[:255]


def check_tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise CodeOceanConfigError(f"tags must be a list of strings, got {value!r}")
    tags = list(value)
    bad = [t for t in tags if not isinstance(t, str) or not t.strip()]
    if bad:
        raise CodeOceanConfigError(f"tags must be non-empty strings; these are not: {bad!r}")
    return tags


@dataclass(frozen=True)
class NamedParameter:
    param_name: str
    value: str

    def to_json(self) -> JSON:
        return {"param_name": self.param_name, "value": self.value}


@dataclass(frozen=True)
class PipelineProcessParams:
    """Parameters of one process of a pipeline; ``name`` as in the pipeline's main.nf."""

    name: str
    parameters: list[str] | None = None
    named_parameters: list[NamedParameter] | None = None

    def to_json(self) -> JSON:
        return drop_none(
            {
                "name": self.name,
                "parameters": self.parameters,
                "named_parameters": (
                    [p.to_json() for p in self.named_parameters] if self.named_parameters is not None else None
                ),
            }
        )


def _string_list(value: Any, what: str) -> list[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise CodeOceanConfigError(f"{what} must be a list of strings, got {value!r}")
    bad = [v for v in value if not isinstance(v, str)]
    if bad:
        raise CodeOceanConfigError(
            f"{what} values must be strings (Code Ocean passes them to the script as text); convert these: {bad!r}"
        )
    return [check_parameter_value(v, f"{what}[{i}]") for i, v in enumerate(value)]


def named_parameters_from(value: Any, what: str = "named_parameters") -> list[NamedParameter]:
    """Accept a dict, a list of ``(name, value)`` pairs, or a list of ``{param_name, value}`` dicts."""
    if isinstance(value, Mapping):
        pairs: list[tuple[Any, Any]] = list(value.items())
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        pairs = []
        for item in value:
            if isinstance(item, Mapping) and "param_name" in item:
                pairs.append((item.get("param_name"), item.get("value")))
            elif isinstance(item, NamedParameter):
                pairs.append((item.param_name, item.value))
            elif isinstance(item, Sequence) and not isinstance(item, (str, bytes)) and len(item) == 2:
                pairs.append((item[0], item[1]))
            else:
                raise CodeOceanConfigError(
                    f"{what} items must be (name, value) pairs or {{'param_name', 'value'}} dicts, got {item!r}"
                )
    else:
        raise CodeOceanConfigError(f"{what} must be a dict or a list of (name, value) pairs, got {value!r}")
    result = []
    for name, val in pairs:
        if not isinstance(name, str) or not name:
            raise CodeOceanConfigError(f"{what}: a parameter name must be a non-empty string, got {name!r}")
        check_parameter_name(name, what)
        if not isinstance(val, str):
            raise CodeOceanConfigError(
                f"{what}: the value of {name!r} must be a string (Code Ocean passes it as text), got {val!r}"
            )
        result.append(NamedParameter(name, check_parameter_value(val, f"{what}: the value of {name!r}")))
    return result


def data_assets_from(value: Any) -> list[DataAssetMount]:
    """Accept a list of ``{id, mount}`` dicts (or DataAssetMount), each with a valid id and mount."""
    if value is None:
        return []
    if isinstance(value, (Mapping, DataAssetMount)) and (isinstance(value, DataAssetMount) or "id" in value):
        # The vendor's own Python example sends one {id, mount} object rather than a list of them.
        value = [value]
    if isinstance(value, (Mapping, str, bytes)) or not isinstance(value, Sequence):
        raise CodeOceanConfigError(f"data_assets must be a list of {{'id': ..., 'mount': ...}}, got {value!r}")
    mounts = []
    for given in value:
        item = given.to_json() if isinstance(given, DataAssetMount) else given
        if not isinstance(item, Mapping):
            raise CodeOceanConfigError(f"each data asset must be {{'id': ..., 'mount': ...}}, got {item!r}")
        asset_id = check_id(item.get("id"), "data asset id")
        if item.get("mount") in (None, ""):
            raise CodeOceanConfigError(
                f"data asset {asset_id} has no mount: give the folder name the capsule reads it from "
                "(it appears as /data/<mount>)"
            )
        mounts.append(DataAssetMount(asset_id, check_mount(item["mount"], f"mount of data asset {asset_id}")))
    names = [m.mount for m in mounts]
    dupes = sorted({n for n in names if names.count(n) > 1 and n is not None})
    if dupes:
        raise CodeOceanConfigError(f"two data assets share the mount(s) {dupes}; each needs its own folder")
    return mounts


@dataclass(frozen=True)
class RunParams:
    """Body of ``POST /computations``: run a capsule or a pipeline (exactly one of the two ids)."""

    capsule_id: str | None = None
    pipeline_id: str | None = None
    version: int | None = None
    resume_run_id: str | None = None
    nextflow_profile: str | None = None
    data_assets: list[DataAssetMount] = field(default_factory=list)
    parameters: list[str] | None = None
    named_parameters: list[NamedParameter] | None = None
    processes: list[PipelineProcessParams] | None = None

    @classmethod
    def build(
        cls,
        *,
        capsule_id: str | None = None,
        pipeline_id: str | None = None,
        version: Any = None,
        resume_run_id: str | None = None,
        nextflow_profile: str | None = None,
        data_assets: Any = None,
        parameters: Any = None,
        named_parameters: Any = None,
        processes: Any = None,
    ) -> RunParams:
        """Validate loosely typed input (templated operator fields) into a RunParams."""
        if parameters and named_parameters:
            raise CodeOceanConfigError(
                "give parameters (ordered) or named_parameters, not both: Code Ocean documents no order for "
                "mixing them, so the script could read a value as the wrong parameter; name every value instead"
            )
        if bool(capsule_id) == bool(pipeline_id):
            raise CodeOceanConfigError(
                "give exactly one of capsule_id or pipeline_id "
                f"(got capsule_id={capsule_id!r}, pipeline_id={pipeline_id!r})"
            )
        if version is not None and version != "":
            try:
                version = int(version)
            except (TypeError, ValueError):
                raise CodeOceanConfigError(f"version must be a whole number, got {version!r}") from None
            if version < 1:
                raise CodeOceanConfigError(f"version must be 1 or more, got {version}")
        else:
            version = None
        return cls(
            capsule_id=check_id(capsule_id, "capsule_id") if capsule_id else None,
            pipeline_id=check_id(pipeline_id, "pipeline_id") if pipeline_id else None,
            version=version,
            resume_run_id=check_id(resume_run_id, "resume_run_id") if resume_run_id else None,
            nextflow_profile=nextflow_profile or None,
            data_assets=data_assets_from(data_assets),
            parameters=_string_list(parameters, "parameters") if parameters is not None else None,
            named_parameters=named_parameters_from(named_parameters) if named_parameters is not None else None,
            processes=_processes_from(processes) if processes is not None else None,
        )

    @property
    def target_id(self) -> str:
        return self.capsule_id or self.pipeline_id or ""

    @property
    def is_pipeline(self) -> bool:
        return self.pipeline_id is not None

    def to_json(self) -> JSON:
        return drop_none(
            {
                "capsule_id": self.capsule_id,
                "pipeline_id": self.pipeline_id,
                "version": self.version,
                "resume_run_id": self.resume_run_id,
                "nextflow_profile": self.nextflow_profile,
                "data_assets": [d.to_json() for d in self.data_assets] or None,
                "parameters": self.parameters,
                "named_parameters": (
                    [p.to_json() for p in self.named_parameters] if self.named_parameters is not None else None
                ),
                "processes": [p.to_json() for p in self.processes] if self.processes is not None else None,
            }
        )


def _processes_from(value: Any) -> list[PipelineProcessParams]:
    if isinstance(value, Mapping):
        # {"process_name": {"parameters": [...], "named_parameters": {...}}}
        value = [{"name": k, **(v if isinstance(v, Mapping) else {})} for k, v in value.items()]
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise CodeOceanConfigError(f"processes must be a list of {{'name': ..., 'parameters': ...}}, got {value!r}")
    result = []
    for item in value:
        if isinstance(item, PipelineProcessParams):
            result.append(item)
            continue
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"]:
            raise CodeOceanConfigError(f"each process needs a 'name' (as in the pipeline's main.nf), got {item!r}")
        name = item["name"]
        params = item.get("parameters")
        named = item.get("named_parameters")
        if params and named:
            raise CodeOceanConfigError(
                f"process {name!r}: give parameters (ordered) or named_parameters, not both: Code Ocean documents "
                "no order for mixing them; name every value instead"
            )
        result.append(
            PipelineProcessParams(
                name=name,
                parameters=_string_list(params, f"parameters of process {name!r}") if params is not None else None,
                named_parameters=(
                    named_parameters_from(named, f"named_parameters of process {name!r}") if named is not None else None
                ),
            )
        )
    return result


@dataclass(frozen=True)
class ComputationSource:
    id: str
    path: str | None = None

    def to_json(self) -> JSON:
        return {"computation": drop_none({"id": self.id, "path": self.path})}


@dataclass(frozen=True)
class AWSSource:
    bucket: str
    prefix: str | None = None
    keep_on_external_storage: bool | None = None
    public: bool | None = None
    endpoint_name: str | None = None
    use_input_bucket: bool | None = None

    def to_json(self) -> JSON:
        return {
            "aws": drop_none(
                {
                    "bucket": self.bucket,
                    "prefix": self.prefix,
                    "keep_on_external_storage": self.keep_on_external_storage,
                    "public": self.public,
                    "endpoint_name": self.endpoint_name,
                    "use_input_bucket": self.use_input_bucket,
                }
            )
        }


@dataclass(frozen=True)
class GCPSource:
    bucket: str
    prefix: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    def to_json(self) -> JSON:
        return {
            "gcp": drop_none(
                {
                    "bucket": self.bucket,
                    "prefix": self.prefix,
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                }
            )
        }


@dataclass(frozen=True)
class AWSTarget:
    """Keep captured results on your own S3 bucket (an external data asset)."""

    bucket: str
    prefix: str | None = None
    endpoint_name: str | None = None

    def to_json(self) -> JSON:
        return {"aws": drop_none({"bucket": self.bucket, "prefix": self.prefix, "endpoint_name": self.endpoint_name})}


DataAssetSource = ComputationSource | AWSSource | GCPSource


@dataclass(frozen=True)
class DataAssetParams:
    """Body of ``POST /data_assets``: a source, or ``data_asset_ids`` for a combined asset."""

    name: str
    mount: str
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    source: DataAssetSource | None = None
    target: AWSTarget | None = None
    data_asset_ids: list[str] | None = None
    custom_metadata: JSON | None = None
    results_info: JSON | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise CodeOceanConfigError("a data asset needs a non-empty name")
        check_mount(self.mount)
        check_tags(self.tags)
        if (self.source is None) == (not self.data_asset_ids):
            raise CodeOceanConfigError(
                "give exactly one of a source (computation, S3 or GCS) or data_asset_ids (a combined asset)"
            )
        if self.data_asset_ids:
            for asset_id in self.data_asset_ids:
                check_id(asset_id, "data_asset_ids item")
        if isinstance(self.source, ComputationSource):
            check_id(self.source.id, "source computation id")
        if self.target is not None and not isinstance(self.source, ComputationSource):
            raise CodeOceanConfigError("an external target applies only to an asset captured from a computation")
        if self.custom_metadata is not None and not isinstance(self.custom_metadata, Mapping):
            raise CodeOceanConfigError(f"custom_metadata must be a dict, got {self.custom_metadata!r}")

    def to_json(self) -> JSON:
        return drop_none(
            {
                "name": self.name,
                "description": self.description,
                "mount": self.mount,
                "tags": list(self.tags),
                "source": self.source.to_json() if self.source is not None else None,
                "target": self.target.to_json() if self.target is not None else None,
                "data_asset_ids": self.data_asset_ids,
                "custom_metadata": self.custom_metadata,
                "results_info": self.results_info,
            }
        )


@dataclass(frozen=True)
class DataAssetUpdate:
    """Body of ``PUT /data_assets/{id}``; fields left None are not sent."""

    name: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    mount: str | None = None
    custom_metadata: JSON | None = None

    def __post_init__(self) -> None:
        if self.name is not None and not self.name.strip():
            raise CodeOceanConfigError("a data asset's name cannot be empty")
        if self.mount is not None:
            check_mount(self.mount)
        if self.tags is not None:
            check_tags(self.tags)

    def to_json(self) -> JSON:
        return drop_none(
            {
                "name": self.name,
                "description": self.description,
                "tags": self.tags,
                "mount": self.mount,
                "custom_metadata": self.custom_metadata,
            }
        )
