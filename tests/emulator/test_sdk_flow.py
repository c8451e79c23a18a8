"""The official ``codeocean`` SDK, unchanged, against the emulator."""

from __future__ import annotations

import warnings

import pytest
import requests
from codeocean import CodeOcean, Error
from codeocean.capsule import CapsuleSearchParams
from codeocean.components import Permissions, UserPermissions, UserRole
from codeocean.computation import (
    ComputationEndStatus,
    ComputationState,
    DataAssetsRunParam,
    NamedRunParam,
    PipelineProcessParams,
    RunParams,
)
from codeocean.data_asset import (
    ComputationSource,
    DataAssetParams,
    DataAssetSearchParams,
    DataAssetState,
    DataAssetUpdateParams,
    Source,
)

from airflow_provider_codeocean.testing import (
    ECHO_CAPSULE_ID,
    FAILING_CAPSULE_ID,
    PIPELINE_ID,
    CodeOceanEmulator,
)

SEEDED_ASSET = "5eed5eed-0000-4000-8000-000000000001"


@pytest.fixture
def client(emu: CodeOceanEmulator) -> CodeOcean:
    return CodeOcean(domain=emu.base_url, token=emu.token)


def _finish(emu: CodeOceanEmulator, client: CodeOcean, computation_id: str):  # type: ignore[no-untyped-def]
    # The SDK polls every >= 5 s; wait in-process first so its first (immediate) poll sees the end.
    emu.wait_for_computation(computation_id)
    return client.computations.wait_until_completed(client.computations.get_computation(computation_id))


def test_main_flow(emu: CodeOceanEmulator, client: CodeOcean) -> None:
    run = client.computations.run_capsule(
        RunParams(
            capsule_id=ECHO_CAPSULE_ID,
            data_assets=[DataAssetsRunParam(id=SEEDED_ASSET, mount="ref")],
            parameters=["hello"],
            named_parameters=[NamedRunParam(param_name="repeat", value="2")],
        )
    )
    assert run.state == ComputationState.Initializing
    assert run.name.startswith("Run ")

    done = _finish(emu, client, run.id)
    assert done.state == ComputationState.Completed
    assert done.end_status == ComputationEndStatus.Succeeded
    assert done.exit_code == 0
    assert done.has_results

    top = client.computations.list_computation_results(run.id)
    assert {i.name for i in top.items} >= {"output", "summary.txt", "inputs.txt", "details"}
    nested = client.computations.list_computation_results(run.id, "details")
    assert [i.path for i in nested.items] == ["details/args.txt"]

    urls = client.computations.get_result_file_urls(run.id, "summary.txt")
    body = requests.get(urls.download_url, timeout=10)
    assert body.status_code == 200
    assert "arguments: hello --repeat 2" in body.text
    assert requests.get(urls.view_url, timeout=10).text == body.text
    inputs = requests.get(client.computations.get_result_file_urls(run.id, "inputs.txt").download_url, timeout=10)
    assert "./ref/chr1/seq.fa" in inputs.text

    asset = client.data_assets.create_data_asset(
        DataAssetParams(
            name="echo results",
            tags=["emulator"],
            mount="echo_results",
            source=Source(computation=ComputationSource(id=run.id)),
        )
    )
    assert asset.state == DataAssetState.Draft
    emu.wait_for_data_asset(asset.id)
    ready = client.data_assets.wait_until_ready(asset)
    assert ready.state == DataAssetState.Ready
    assert ready.files and ready.files >= 4
    assert ready.provenance is not None and ready.provenance.computation == run.id

    updated = client.data_assets.update_metadata(
        asset.id, DataAssetUpdateParams(description="captured", custom_metadata={"project": "demo"})
    )
    assert updated.name == "echo results"  # null name in the SDK's body left it unchanged
    assert updated.description == "captured"
    assert updated.custom_metadata == {"project": "demo"}

    found = client.data_assets.search_data_assets(DataAssetSearchParams(query="name:echo", limit=10))
    assert [a.id for a in found.results] == [asset.id]
    files = client.data_assets.list_data_asset_files(asset.id)
    assert "summary.txt" in {i.name for i in files.items}
    file_urls = client.data_assets.get_data_asset_file_urls(asset.id, "summary.txt")
    assert requests.get(file_urls.download_url, timeout=10).text == body.text

    listed = client.capsules.list_computations(ECHO_CAPSULE_ID)
    assert [c.id for c in listed] == [run.id]


def test_errors_as_the_sdk_expects(emu: CodeOceanEmulator, client: CodeOcean) -> None:
    with pytest.raises(Error) as missing:
        client.computations.get_computation("00000000-0000-4000-8000-000000000000")
    assert missing.value.status_code == 404
    assert "not found" in missing.value.message

    bad_client = CodeOcean(domain=emu.base_url, token="cop_wrong")
    with pytest.raises(Error) as unauthorized:
        bad_client.capsules.get_capsule(ECHO_CAPSULE_ID)
    assert unauthorized.value.status_code == 401
    assert unauthorized.value.message


def test_failed_run_and_pipeline(emu: CodeOceanEmulator, client: CodeOcean) -> None:
    failed = _finish(emu, client, client.computations.run_capsule(RunParams(capsule_id=FAILING_CAPSULE_ID)).id)
    assert failed.end_status == ComputationEndStatus.Failed
    assert failed.exit_code == 3
    output = client.computations.get_result_file_urls(failed.id, "output")
    assert "error: something went wrong" in requests.get(output.download_url, timeout=10).text

    run = client.computations.run_pipeline(
        RunParams(
            pipeline_id=PIPELINE_ID,
            processes=[PipelineProcessParams(name="capsule_align_1", parameters=["--fast"])],
        )
    )
    done = _finish(emu, client, run.id)
    assert done.end_status == ComputationEndStatus.Succeeded
    assert done.processes is not None
    assert [p.name for p in done.processes] == ["capsule_align_1", "capsule_summarize_2"]
    assert done.processes[0].capsule_id == ECHO_CAPSULE_ID
    pipeline = client.pipelines.get_pipeline(PIPELINE_ID)
    assert pipeline.id == PIPELINE_ID
    assert [c.id for c in client.pipelines.list_computations(PIPELINE_ID)] == [run.id]
    sub = client.computations.list_computation_results(run.id, "capsule_align_1")
    assert [i.name for i in sub.items] == ["output.txt"]


def test_capsule_metadata_search_panel_permissions(client: CodeOcean) -> None:
    capsule = client.capsules.get_capsule(ECHO_CAPSULE_ID)
    assert capsule.versions and capsule.versions[0].major_version == 1
    panel = client.capsules.get_capsule_app_panel(ECHO_CAPSULE_ID)
    assert panel.parameters and panel.parameters[0].name == "Message"

    page = client.capsules.search_capsules(CapsuleSearchParams(limit=2))
    everything = list(client.capsules.search_capsules_iterator(CapsuleSearchParams(limit=2)))
    assert page.has_more and page.next_token
    assert len({c.id for c in everything}) == len(everything) >= 5
    assert all(c.id != PIPELINE_ID for c in everything)
    pipelines = client.pipelines.search_pipelines(CapsuleSearchParams(query="pipeline"))
    assert [p.id for p in pipelines.results] == [PIPELINE_ID]

    client.capsules.update_permissions(
        ECHO_CAPSULE_ID, Permissions(users=[UserPermissions(email="alice@example.com", role=UserRole.Editor)])
    )
    perms = client.capsules.get_permissions(ECHO_CAPSULE_ID)
    assert perms.users is not None
    assert {u.email for u in perms.users} == {"emulator@example.com", "alice@example.com"}

    schema = client.custom_metadata.get_custom_metadata()
    assert schema.fields and {f.name for f in schema.fields} >= {"project", "sample_count", "acquired"}


def test_deprecated_download_url_and_archive(emu: CodeOceanEmulator, client: CodeOcean) -> None:
    run = _finish(emu, client, client.computations.run_capsule(RunParams(capsule_id=ECHO_CAPSULE_ID)).id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        url = client.computations.get_result_file_download_url(run.id, "summary.txt")
        asset_url = client.data_assets.get_data_asset_file_download_url(SEEDED_ASSET, "chr1/seq.fa")
    assert requests.get(url.url, timeout=10).status_code == 200
    assert requests.get(asset_url.url, timeout=10).text == ">chr1\nACGT\n"

    client.data_assets.archive_data_asset(SEEDED_ASSET, True)  # sent as ?archive=True
    assert SEEDED_ASSET not in {a.id for a in client.data_assets.search_data_assets(DataAssetSearchParams()).results}
    archived = client.data_assets.search_data_assets(DataAssetSearchParams(archived=True))
    assert [a.id for a in archived.results] == [SEEDED_ASSET]

    client.computations.rename_computation(run.id, "airflow__dag__run__task__try1")
    assert client.computations.get_computation(run.id).name == "airflow__dag__run__task__try1"
    client.computations.delete_computation(run.id)
    with pytest.raises(Error) as gone:
        client.computations.get_computation(run.id)
    assert gone.value.status_code == 404
