"""The codeocean asset URI scheme: Airflow itself normalises and validates it through the provider info."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from airflow.providers.common.compat.sdk import Asset

from airflow_provider_codeocean.assets import data_asset_uri, normalize_uri, parse_uri
from airflow_provider_codeocean.get_provider_info import get_provider_info
from tests.airflow_version import AIRFLOW_V_3_0_PLUS

ID = "1b0b2c4e-7f3a-4d6e-9a8b-0c1d2e3f4a5b"
CANONICAL = f"codeocean://acme.codeocean.com/data_assets/{ID}"


def test_airflow_normalises_every_spelling_of_one_data_asset_to_one_uri() -> None:
    for spelling in (
        CANONICAL,
        f"codeocean://ACME.CodeOcean.com/data_assets/{ID}/",
        f"CODEOCEAN://acme.codeocean.com/data_assets/{ID.upper()}",
        f"codeocean://acme.codeocean.com//data_assets/{ID}?x=1#frag",
    ):
        assert Asset(spelling).uri == CANONICAL, spelling


@pytest.mark.parametrize(
    "uri",
    [
        "codeocean://acme.codeocean.com/data_assets/not-a-uuid",
        "codeocean://acme.codeocean.com/capsules/" + ID,
        "codeocean://acme.codeocean.com/data_assets",
        f"codeocean:///data_assets/{ID}",
        f"codeocean://acme.codeocean.com/data_assets/{ID}/files",
    ],
)
def test_airflow_rejects_a_codeocean_uri_that_names_no_data_asset(uri: str) -> None:
    if AIRFLOW_V_3_0_PLUS:
        with pytest.raises(ValueError, match="codeocean"):
            Asset(uri)
    else:
        # Airflow 2.11 only warns about a URI its handler rejects (and keeps it as given).
        with pytest.warns(UserWarning, match="not AIP-60 compliant"):
            Asset(uri)


def test_helpers_build_and_read_the_canonical_uri() -> None:
    assert data_asset_uri("https://ACME.codeocean.com", ID.upper()) == CANONICAL
    assert data_asset_uri("acme.codeocean.com", ID) == CANONICAL
    assert data_asset_uri("http://127.0.0.1:8123", ID) == f"codeocean://127.0.0.1:8123/data_assets/{ID}"
    assert parse_uri(CANONICAL + "/") == ("acme.codeocean.com", ID)
    assert normalize_uri(urlsplit(CANONICAL)) == urlsplit(CANONICAL)
    with pytest.raises(ValueError):
        parse_uri(f"s3://bucket/data_assets/{ID}")


def test_both_airflow_generations_find_the_scheme() -> None:
    info = get_provider_info()
    for key in ("asset-uris", "dataset-uris"):
        (entry,) = info[key]
        assert entry["schemes"] == ["codeocean"]
        assert entry["handler"] == "airflow_provider_codeocean.assets.normalize_uri"
