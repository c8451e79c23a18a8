"""Which existing computation a try of the run operator takes over instead of starting another one."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from airflow_provider_codeocean._common.identity import TaskIdentity, marker_of

if TYPE_CHECKING:
    from airflow_provider_codeocean.models import Computation, RunParams

#: The name Code Ocean gives a run nobody named ("Run 1234567").
_DEFAULT_RUN_NAME = re.compile(r"^Run \d+$")


def runs_of_task(runs: list[Computation], identity: TaskIdentity, lineage: int | None) -> list[Computation]:
    """The runs an earlier try of this task instance started that a try of ``lineage`` may take over.

    A run still going is taken whatever lineage named it (or none, as releases before the lineage did):
    one run per task instance at a time. A finished run is taken only from the same lineage: a retry
    after a dead worker delivers it, while after a clear (a new lineage) it is a result already delivered
    and the task runs again. Without a lineage no finished run is taken.
    """
    found = []
    for computation in runs:
        marker = marker_of(computation.name)
        if marker is None or marker[0] != identity.run_marker:
            continue
        if not computation.is_terminal or (lineage is not None and marker[1] == lineage):
            found.append(computation)
    return found


def unnamed_matches(runs: list[Computation], params: RunParams, earliest: float) -> list[Computation]:
    """Unnamed runs created since ``earliest`` that could come from this request."""
    return [
        c
        for c in runs
        if _DEFAULT_RUN_NAME.match(c.name or "")
        and c.created is not None
        and c.created >= earliest
        and _same_request(c, params)
    ]


def _same_request(computation: Computation, params: RunParams) -> bool:
    """Whether a listed run could come from this request. Fields the list leaves out are not compared."""
    raw = computation.raw
    wanted_assets = {d.id for d in params.data_assets}
    if "data_assets" in raw and not wanted_assets <= set(computation.data_asset_ids):
        return False
    if "parameters" in raw:
        sent = list(params.parameters or []) + [p.value for p in params.named_parameters or []]
        reported = Counter(p.value for p in computation.parameters if p.value is not None)
        if Counter(sent) - reported:
            return False
    return True
