"""A computation: one run of a capsule or pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow_provider_codeocean.models._parse import (
    JSON,
    as_mapping,
    bool_or_none,
    enum_or_str,
    int_or_none,
    list_of,
    str_or_empty,
    str_or_none,
)
from airflow_provider_codeocean.models.enums import ComputationEndStatus, ComputationState

TERMINAL_STATES = frozenset({ComputationState.COMPLETED.value, ComputationState.FAILED.value})


@dataclass(frozen=True)
class DataAssetMount:
    """A data asset attached to a run, under the folder ``/data/<mount>``."""

    id: str
    mount: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> DataAssetMount:
        obj = as_mapping(data)
        return cls(id=str_or_empty(obj, "id"), mount=str_or_none(obj, "mount"))

    def to_json(self) -> JSON:
        body: JSON = {"id": self.id}
        if self.mount is not None:
            body["mount"] = self.mount
        return body


@dataclass(frozen=True)
class ComputationParameter:
    """A parameter as a computation reports it back (``name`` or ``param_name`` and ``value``)."""

    name: str | None = None
    param_name: str | None = None
    value: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> ComputationParameter:
        obj = as_mapping(data)
        return cls(
            name=str_or_none(obj, "name"), param_name=str_or_none(obj, "param_name"), value=str_or_none(obj, "value")
        )


@dataclass(frozen=True)
class ComputationProcess:
    """One process (a capsule) of a pipeline computation."""

    name: str
    capsule_id: str | None = None
    version: int | None = None
    public: bool | None = None
    parameters: list[ComputationParameter] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Any) -> ComputationProcess:
        obj = as_mapping(data)
        return cls(
            name=str_or_empty(obj, "name"),
            capsule_id=str_or_none(obj, "capsule_id"),
            version=int_or_none(obj, "version"),
            public=bool_or_none(obj, "public"),
            parameters=list_of(obj, "parameters", ComputationParameter.from_json),
        )


@dataclass(frozen=True)
class Computation:
    """A Code Ocean computation. ``raw`` keeps the JSON as the server sent it."""

    id: str
    name: str
    state: ComputationState | str | None
    created: int | None = None
    owner: str | None = None
    owner_email: str | None = None
    run_time: int | None = None
    end_status: ComputationEndStatus | str | None = None
    exit_code: int | None = None
    has_results: bool | None = None
    cloud_workstation: bool | None = None
    nextflow_profile: str | None = None
    data_assets: list[DataAssetMount] = field(default_factory=list)
    parameters: list[ComputationParameter] = field(default_factory=list)
    processes: list[ComputationProcess] = field(default_factory=list)
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Computation:
        obj = as_mapping(data)
        return cls(
            id=str_or_empty(obj, "id"),
            name=str_or_empty(obj, "name"),
            state=enum_or_str(ComputationState, obj.get("state")),
            created=int_or_none(obj, "created"),
            owner=str_or_none(obj, "owner"),
            owner_email=str_or_none(obj, "owner_email"),
            run_time=int_or_none(obj, "run_time"),
            end_status=enum_or_str(ComputationEndStatus, obj.get("end_status")),
            exit_code=int_or_none(obj, "exit_code"),
            has_results=bool_or_none(obj, "has_results"),
            cloud_workstation=bool_or_none(obj, "cloud_workstation"),
            nextflow_profile=str_or_none(obj, "nextflow_profile"),
            data_assets=list_of(obj, "data_assets", DataAssetMount.from_json),
            parameters=list_of(obj, "parameters", ComputationParameter.from_json),
            processes=list_of(obj, "processes", ComputationProcess.from_json),
            raw=obj,
        )

    @property
    def is_terminal(self) -> bool:
        """The run will not change state any more (an unknown state counts as still going)."""
        return self.state in TERMINAL_STATES

    @property
    def succeeded(self) -> bool:
        """Completed, end status succeeded, and the exit code 0 or absent: the only success."""
        return (
            self.state == ComputationState.COMPLETED
            and self.end_status == ComputationEndStatus.SUCCEEDED
            and self.exit_code in (None, 0)
        )

    @property
    def stopped(self) -> bool:
        return self.is_terminal and self.end_status == ComputationEndStatus.STOPPED

    @property
    def failed(self) -> bool:
        """Finished without succeeding, for any reason other than being stopped."""
        return self.is_terminal and not self.succeeded and not self.stopped

    @property
    def outcome(self) -> str:
        """``running``, ``succeeded``, ``failed`` or ``stopped``."""
        if not self.is_terminal:
            return "running"
        if self.succeeded:
            return "succeeded"
        return "stopped" if self.stopped else "failed"

    def describe(self) -> str:
        """A one-line account of the run's state for logs and error messages."""
        parts = [f"computation {self.id}", f"state={self.state}"]
        if self.end_status is not None:
            parts.append(f"end_status={self.end_status}")
        if self.exit_code is not None:
            parts.append(f"exit_code={self.exit_code}")
        return " ".join(str(p) for p in parts)

    def to_dict(self) -> JSON:
        """The JSON as the server sent it, for XCom."""
        return dict(self.raw)

    @property
    def parameter_values(self) -> list[str]:
        return [p.value for p in self.parameters if p.name is None and p.param_name is None and p.value]

    @property
    def data_asset_ids(self) -> list[str]:
        return [d.id for d in self.data_assets]
