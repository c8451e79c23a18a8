"""The ``codeocean`` asset URI scheme: ``codeocean://<domain>/data_assets/<id>``.

Airflow calls :func:`normalize_uri` for every ``Asset``/``Dataset`` of this scheme (registered under
``asset-uris`` on Airflow 3 and ``dataset-uris`` on 2.11), so two spellings of one data asset are one
Airflow asset. :func:`convert_to_openlineage` maps it to an OpenLineage dataset. Pure string work: no
imports beyond the standard library at module load.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

if TYPE_CHECKING:
    from airflow_provider_codeocean.models import DataAsset

SCHEME = "codeocean"
#: The alias the operators' asset events go through when none is given.
DEFAULT_ALIAS = "codeocean-data-assets"
_COLLECTION = "data_assets"


def normalize_uri(parts: SplitResult) -> SplitResult:
    """Validate and canonicalise ``codeocean://<domain>/data_assets/<uuid>``; raises ValueError otherwise.

    The domain is lower-cased, the trailing slash, query and fragment dropped, and the id written as a
    lower-case hyphenated UUID.
    """
    domain = parts.netloc.lower()
    if not domain or "@" in domain:
        raise ValueError(f"a codeocean asset URI needs a domain and no user info: {urlunsplit(parts)!r}")
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) != 2 or segments[0] != _COLLECTION:
        raise ValueError(f"a codeocean asset URI is codeocean://<domain>/data_assets/<id>, got {urlunsplit(parts)!r}")
    try:
        asset_id = str(uuid.UUID(segments[1]))
    except ValueError:
        raise ValueError(f"{segments[1]!r} in {urlunsplit(parts)!r} is not a data asset id (a UUID)") from None
    return SplitResult(SCHEME, domain, f"/{_COLLECTION}/{asset_id}", "", "")


def data_asset_uri(base_url_or_domain: str, data_asset_id: str) -> str:
    """The canonical URI of a data asset, from the deployment's base URL (or bare domain) and its id."""
    domain = base_url_or_domain if "://" not in base_url_or_domain else urlsplit(base_url_or_domain).netloc
    return urlunsplit(normalize_uri(SplitResult(SCHEME, domain, f"/{_COLLECTION}/{data_asset_id}", "", "")))


def parse_uri(uri: str) -> tuple[str, str]:
    """``(domain, data asset id)`` of a ``codeocean://`` URI; raises ValueError for anything else."""
    parts = urlsplit(uri)
    if parts.scheme.lower() != SCHEME:
        raise ValueError(f"not a codeocean asset URI: {uri!r}")
    canonical = normalize_uri(parts)
    return canonical.netloc, canonical.path.rsplit("/", 1)[1]


def asset_extra(asset: DataAsset, computation_id: str | None = None) -> dict[str, Any]:
    """What a downstream task can read about the data asset from its asset event (JSON only, no secrets)."""
    provenance = asset.provenance
    return {
        "data_asset_id": asset.id,
        "name": asset.name,
        "type": str(asset.type) if asset.type is not None else None,
        "state": str(asset.state) if asset.state is not None else None,
        "tags": list(asset.tags),
        "mount": asset.mount,
        "custom_metadata": dict(asset.custom_metadata),
        "created": asset.created,
        "computation_id": computation_id or (provenance.computation if provenance else None),
        "capsule_id": provenance.capsule if provenance else None,
    }


def openlineage_dataset_name(base_url_or_domain: str, data_asset_id: str) -> tuple[str, str]:
    """``(namespace, name)`` of a data asset's OpenLineage dataset: ``codeocean://<domain>``,
    ``data_assets/<id>``, canonical as in :func:`data_asset_uri`. Raises ValueError for an id that is not a UUID.
    """
    return _openlineage_name(*parse_uri(data_asset_uri(base_url_or_domain, data_asset_id)))


def convert_to_openlineage(asset: Any, lineage_context: Any = None) -> Any:
    """The OpenLineage dataset of a ``codeocean://`` asset: namespace ``codeocean://<domain>``, name
    ``data_assets/<id>``. Airflow's OpenLineage provider calls this; it imports the facet classes then.
    The operators' own lineage names data assets the same way (:func:`openlineage_dataset_name`).
    """
    from airflow.providers.common.compat.openlineage.facet import Dataset

    namespace, name = _openlineage_name(*parse_uri(asset.uri))
    return Dataset(namespace=namespace, name=name)


def _openlineage_name(domain: str, data_asset_id: str) -> tuple[str, str]:
    return f"{SCHEME}://{domain}", f"{_COLLECTION}/{data_asset_id}"
