"""CodeOceanHook: the whole Code Ocean REST API behind one Airflow connection of type ``codeocean``."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_codeocean._common.polling import DEFAULT_TRANSIENT_GRACE, PollPolicy, wait_sync
from airflow_provider_codeocean.api import endpoints
from airflow_provider_codeocean.errors import (
    CodeOceanAuthenticationError,
    CodeOceanConfigError,
    CodeOceanError,
    CodeOceanNotFoundError,
    CodeOceanPermissionError,
    CodeOceanTransportError,
)
from airflow_provider_codeocean.hooks import _connection, _files
from airflow_provider_codeocean.hooks._connection import CONNECTION_UI
from airflow_provider_codeocean.hooks._lifecycle import CapsuleLifecycleMixin
from airflow_provider_codeocean.models import CapsuleReleaseJob, Computation, DataAsset
from airflow_provider_codeocean.models._parse import JSON, drop_none

if TYPE_CHECKING:
    from airflow_provider_codeocean.api.async_transport import AsyncTransport
    from airflow_provider_codeocean.api.settings import ClientSettings
    from airflow_provider_codeocean.api.sync_transport import SyncTransport
    from airflow_provider_codeocean.api.wire import Endpoint
    from airflow_provider_codeocean.hooks._files import Destination
    from airflow_provider_codeocean.models import (
        AppPanel,
        Capsule,
        CustomMetadataSchema,
        DataAssetParams,
        DataAssetUpdate,
        FileURLs,
        Folder,
        FolderItem,
        Permissions,
        RunParams,
        SearchPage,
    )

T = TypeVar("T")

SEARCH_PAGE_SIZE = 1000


class CodeOceanHook(CapsuleLifecycleMixin, BaseHook):  # type: ignore[misc]  # Airflow is not type-followed
    """Talk to Code Ocean through the connection ``codeocean_conn_id``.

    Every request has a timeout; idempotent requests are retried on 429, 5xx and lost connections
    with jittered exponential backoff that honours Retry-After. Creating a computation or a data
    asset is retried only on 429 (see :mod:`airflow_provider_codeocean.api.retry`). Git sync, releases,
    attaching data assets and deletion come from
    :class:`~airflow_provider_codeocean.hooks._lifecycle.CapsuleLifecycleMixin`.

    The async methods (prefixed ``a``) share one aiohttp session per Code Ocean address and event loop;
    use them inside ``async with hook:``.

    :param codeocean_conn_id: the Airflow connection id.
    :param timeout: read timeout in seconds for each request; overrides the connection's extra.
    :param retry_limit: retries after the first attempt; overrides the connection's extra.
    """

    conn_name_attr = "codeocean_conn_id"
    default_conn_name = "codeocean_default"
    conn_type = "codeocean"
    hook_name = "Code Ocean"

    def __init__(
        self,
        codeocean_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        retry_limit: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.codeocean_conn_id = codeocean_conn_id
        self._overrides: dict[str, Any] = drop_none({"read_timeout": timeout, "retry_limit": retry_limit})
        self._async_transport: AsyncTransport | None = None
        self._async_depth = 0

    # Connection form (Airflow < 3.2 reads these; newer versions read get_provider_info)

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return CONNECTION_UI

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        return _connection.connection_form_widgets()

    # Settings

    @cached_property
    def settings(self) -> ClientSettings:
        """Settings from the connection (sync lookup; in a trigger use :meth:`aget_settings`)."""
        conn = self.get_connection(self.codeocean_conn_id)
        settings = _connection.settings_from(conn, conn.extra_dejson, self.codeocean_conn_id, self._overrides)
        _connection.mask_secret(settings.token)
        return settings

    async def aget_settings(self) -> ClientSettings:
        """Settings from the connection, looked up without blocking the event loop."""
        if "settings" not in self.__dict__:
            from airflow.providers.common.compat.connection import get_async_connection

            conn = await get_async_connection(self.codeocean_conn_id, hook=self)
            extra = await _connection.async_extra(conn)
            self.__dict__["settings"] = _connection.settings_from(conn, extra, self.codeocean_conn_id, self._overrides)
            await _connection.amask_secret(self.__dict__["settings"].token)
        settings: ClientSettings = self.__dict__["settings"]
        return settings

    def computation_url(self, computation_id: str) -> str:
        return self.settings.computation_url(computation_id)

    def data_asset_url(self, data_asset_id: str) -> str:
        return self.settings.data_asset_url(data_asset_id)

    # Sending

    @cached_property
    def _transport(self) -> SyncTransport:
        from airflow_provider_codeocean.api.sync_transport import SyncTransport

        return SyncTransport(self.settings)

    def get_conn(self) -> SyncTransport:
        return self._transport

    def call(self, endpoint: Endpoint[T]) -> T:
        """Send one endpoint (see :mod:`airflow_provider_codeocean.api.endpoints`) and parse its answer."""
        return self._transport.send(endpoint)

    def close(self) -> None:
        if "_transport" in self.__dict__:
            self._transport.close()
            del self.__dict__["_transport"]

    async def __aenter__(self) -> CodeOceanHook:
        if self._async_depth == 0:
            from airflow_provider_codeocean.api.async_transport import AsyncTransport, acquire_client

            settings = await self.aget_settings()
            # Another coroutine may have entered while the settings were looked up.
            if self._async_depth == 0:
                self._async_transport = AsyncTransport(settings, acquire_client(settings))
        self._async_depth += 1
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._async_depth -= 1
        if self._async_depth == 0:
            from airflow_provider_codeocean.api.async_transport import release_client

            self._async_transport = None
            await release_client(await self.aget_settings())

    async def acall(self, endpoint: Endpoint[T]) -> T:
        """Send one endpoint asynchronously; opens the shared client for the call if not inside ``async with``."""
        async with self:
            # Read inside the context: the transport outlives the call even if another coroutine using
            # this hook exits meanwhile.
            transport = self._async_transport
            assert transport is not None
            return await transport.send(endpoint)

    # Connection test

    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated call, not retried (someone is waiting on it); the message says what to fix."""
        try:
            base_url = self.settings.base_url
            from airflow_provider_codeocean.api.sync_transport import SyncTransport

            transport = SyncTransport(dataclasses.replace(self.settings, retry_limit=0))
            try:
                transport.send(endpoints.search_capsules({"limit": 1}))
            finally:
                transport.close()
        except CodeOceanConfigError as exc:
            return False, str(exc)
        except CodeOceanAuthenticationError:
            return False, "Code Ocean rejected the API token (401): check the connection's API Token field"
        except CodeOceanPermissionError:
            return False, "The token works but lacks the Capsule Read scope (403): give the token that scope"
        except CodeOceanNotFoundError:
            return False, f"{base_url} answered 404 for the API: is the domain a Code Ocean deployment?"
        except CodeOceanTransportError as exc:
            return False, f"Cannot reach Code Ocean at {self.settings.base_url}: {exc}. Check the domain."
        except CodeOceanError as exc:
            return False, str(exc)
        return True, f"Connected to Code Ocean at {base_url}"

    # Capsules and pipelines

    def get_capsule(self, capsule_id: str) -> Capsule:
        return self.call(endpoints.get_capsule(capsule_id))

    def get_pipeline(self, pipeline_id: str) -> Capsule:
        return self.call(endpoints.get_capsule(pipeline_id, kind="pipelines"))

    def list_computations(self, capsule_id: str, *, pipeline: bool = False) -> list[Computation]:
        """All computations of a capsule (or pipeline). The API does not paginate this list."""
        return self.call(endpoints.list_computations(capsule_id, kind=_kind(pipeline)))

    def get_app_panel(self, capsule_id: str, version: int | None = None, *, pipeline: bool = False) -> AppPanel:
        kind = _kind(pipeline)
        return self.call(endpoints.get_app_panel(capsule_id, version, kind=kind))

    def search_capsules(
        self, query: str | None = None, *, pipelines: bool = False, **filters: Any
    ) -> Iterator[Capsule]:
        """Every capsule (or pipeline) matching; pages of 1000 are fetched as the iterator advances."""
        kind = _kind(pipelines)
        return self._paginate(lambda body: endpoints.search_capsules(body, kind=kind), query, filters)

    def get_capsule_permissions(self, capsule_id: str, *, pipeline: bool = False) -> Permissions:
        kind = _kind(pipeline)
        return self.call(endpoints.get_capsule_permissions(capsule_id, kind=kind))

    def update_capsule_permissions(self, capsule_id: str, permissions: Permissions, *, pipeline: bool = False) -> None:
        kind = _kind(pipeline)
        self.call(endpoints.update_capsule_permissions(capsule_id, permissions, kind=kind))

    def archive_capsule(self, capsule_id: str, archive: bool = True, *, pipeline: bool = False) -> None:
        kind = _kind(pipeline)
        self.call(endpoints.archive_capsule(capsule_id, archive, kind=kind))

    # Computations

    def run_computation(self, params: RunParams) -> Computation:
        """Start a run. Not retried on ambiguous failures: on an error, look for the run before resubmitting."""
        return self.call(endpoints.run_computation(params))

    def get_computation(self, computation_id: str) -> Computation:
        return self.call(endpoints.get_computation(computation_id))

    def rename_computation(self, computation_id: str, name: str) -> None:
        self.call(endpoints.rename_computation(computation_id, name))

    def delete_computation(self, computation_id: str) -> None:
        """Stop the run if it is running, and delete it (the API's only way to stop a run)."""
        self.call(endpoints.delete_computation(computation_id))

    def list_results(self, computation_id: str, path: str = "") -> Folder:
        """One level of the run's results folder."""
        return self.call(endpoints.list_results(computation_id, path))

    def walk_results(self, computation_id: str, path: str = "") -> Iterator[FolderItem]:
        """Every file under ``path`` in the run's results, descending into folders."""
        return _files.walk(lambda p: self.list_results(computation_id, p), path)

    def get_result_file_urls(self, computation_id: str, path: str) -> FileURLs:
        return self.call(endpoints.get_result_file_urls(computation_id, path))

    def download_result_file(
        self, computation_id: str, path: str, destination: Destination, *, attempts: int | None = None
    ) -> int:
        """Stream one result file to a path (written atomically) or a binary file object.

        Up to ``attempts`` tries (default: the connection's ``retry_limit`` + 1), each asking for a fresh
        signed URL, so an expired one is replaced; a file object that cannot seek gets one try.
        """
        urls = endpoints.get_result_file_urls(computation_id, path)
        return _files.download(self._transport, self.settings, urls, destination, attempts)

    def read_result_file(self, computation_id: str, path: str, *, max_bytes: int = 1024 * 1024) -> bytes:
        """A small result file's content; refuses files over ``max_bytes``."""
        urls = endpoints.get_result_file_urls(computation_id, path)
        return _files.read_small(self._transport, self.settings, urls, max_bytes)

    def wait_for_computation(
        self,
        computation_id: str,
        *,
        poll_interval: float = 30.0,
        timeout: float | None = None,
        on_poll: Callable[[Computation], None] | None = None,
        transient_grace: float = DEFAULT_TRANSIENT_GRACE,
    ) -> Computation:
        """Poll until the run finishes (any outcome) and return it; TimeoutError past ``timeout``.

        Transient API errors are tolerated for ``transient_grace`` seconds in a row; permanent ones end
        the wait (see "What tolerates what" in ``docs/deferrable.md``).
        """
        return _poll(
            lambda: self.get_computation(computation_id),
            f"computation {computation_id}",
            PollPolicy.starting(time.monotonic(), poll_interval, timeout, transient_grace),
            on_poll,
        )

    # Data assets

    def create_data_asset(self, params: DataAssetParams) -> DataAsset:
        """Create an asset (it starts as a draft). Not retried on ambiguous failures."""
        return self.call(endpoints.create_data_asset(params))

    def get_data_asset(self, data_asset_id: str) -> DataAsset:
        return self.call(endpoints.get_data_asset(data_asset_id))

    def update_data_asset(self, data_asset_id: str, update: DataAssetUpdate) -> DataAsset:
        return self.call(endpoints.update_data_asset(data_asset_id, update))

    def delete_data_asset(self, data_asset_id: str) -> None:
        self.call(endpoints.delete_data_asset(data_asset_id))

    def archive_data_asset(self, data_asset_id: str, archive: bool = True) -> None:
        self.call(endpoints.archive_data_asset(data_asset_id, archive))

    def search_data_assets(self, query: str | None = None, **filters: Any) -> Iterator[DataAsset]:
        """Every data asset matching; pages of 1000 are fetched as the iterator advances.

        ``filters`` are the API's search fields: ``type``, ``ownership``, ``origin``, ``archived``,
        ``favorite``, ``sort_field``, ``sort_order``, ``filters`` (a list of ``{key, value}``), ``limit``.
        """
        return self._paginate(endpoints.search_data_assets, query, filters)

    def list_data_asset_files(self, data_asset_id: str, path: str = "") -> Folder:
        return self.call(endpoints.list_data_asset_files(data_asset_id, path))

    def walk_data_asset_files(self, data_asset_id: str, path: str = "") -> Iterator[FolderItem]:
        return _files.walk(lambda p: self.list_data_asset_files(data_asset_id, p), path)

    def get_data_asset_file_urls(self, data_asset_id: str, path: str) -> FileURLs:
        return self.call(endpoints.get_data_asset_file_urls(data_asset_id, path))

    def download_data_asset_file(
        self, data_asset_id: str, path: str, destination: Destination, *, attempts: int | None = None
    ) -> int:
        """Like :meth:`download_result_file`, for a file of a data asset."""
        urls = endpoints.get_data_asset_file_urls(data_asset_id, path)
        return _files.download(self._transport, self.settings, urls, destination, attempts)

    def get_data_asset_permissions(self, data_asset_id: str) -> Permissions:
        return self.call(endpoints.get_data_asset_permissions(data_asset_id))

    def update_data_asset_permissions(self, data_asset_id: str, permissions: Permissions) -> None:
        self.call(endpoints.update_data_asset_permissions(data_asset_id, permissions))

    def transfer_data_asset(
        self, data_asset_id: str, bucket: str, prefix: str | None = None, *, force: bool = False
    ) -> None:
        """Admin only: move the asset to external S3 storage."""
        body = drop_none({"target": {"aws": drop_none({"bucket": bucket, "prefix": prefix})}, "force": force or None})
        self.call(endpoints.transfer_data_asset(data_asset_id, body))

    def wait_for_data_asset(
        self,
        data_asset_id: str,
        *,
        poll_interval: float = 10.0,
        timeout: float | None = None,
        on_poll: Callable[[DataAsset], None] | None = None,
        transient_grace: float = DEFAULT_TRANSIENT_GRACE,
    ) -> DataAsset:
        """Poll until the asset is ready or failed and return it; TimeoutError past ``timeout``.

        Transient API errors are tolerated for ``transient_grace`` seconds in a row, as in
        :meth:`wait_for_computation`.
        """
        return _poll(
            lambda: self.get_data_asset(data_asset_id),
            f"data asset {data_asset_id}",
            PollPolicy.starting(time.monotonic(), poll_interval, timeout, transient_grace),
            on_poll,
        )

    def get_custom_metadata(self) -> CustomMetadataSchema:
        return self.call(endpoints.get_custom_metadata())

    # Async, for triggers

    async def aget_computation(self, computation_id: str) -> Computation:
        return await self.acall(endpoints.get_computation(computation_id))

    async def adelete_computation(self, computation_id: str) -> None:
        await self.acall(endpoints.delete_computation(computation_id))

    async def aget_data_asset(self, data_asset_id: str) -> DataAsset:
        return await self.acall(endpoints.get_data_asset(data_asset_id))

    # Helpers

    def _paginate(
        self, make: Callable[[JSON], Endpoint[SearchPage[T]]], query: str | None, filters: dict[str, Any]
    ) -> Iterator[T]:
        body: JSON = drop_none({"query": query, **filters})
        body.setdefault("limit", SEARCH_PAGE_SIZE)
        while True:
            page = self.call(make(body))
            yield from page.results
            if not page.has_more or not page.next_token:
                return
            body = {**body, "next_token": page.next_token}


def _kind(pipeline: bool) -> endpoints.Kind:
    return "pipelines" if pipeline else "capsules"


P = TypeVar("P", Computation, DataAsset, CapsuleReleaseJob)


def _poll(get: Callable[[], P], what: str, policy: PollPolicy, on_poll: Callable[[P], None] | None) -> P:
    if policy.interval <= 0:
        raise CodeOceanConfigError(f"poll_interval must be more than 0 seconds, got {policy.interval}")
    return wait_sync(get, policy, what, on_poll)
