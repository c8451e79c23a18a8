"""Operators that create (capture, register, combine) a data asset, or update its metadata.

Everything a user can get wrong (an empty name, a mount the API rejects, tags that are not strings, two
sources at once, custom metadata that does not fit the deployment's schema, capturing a run that did
not succeed) is checked in ``execute()`` after templating and before anything is created. The update
and search operators live in :mod:`.data_asset_update` and :mod:`.search` (re-exported here).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow.providers.common.compat.sdk import conf

from airflow_provider_codeocean._common.asset_events import DataAssetEventsMixin
from airflow_provider_codeocean._common.deferral import DATA_ASSET_EVENTS, deadlines, never_retried, resume
from airflow_provider_codeocean._common.identity import RUN_TAG_PREFIX, TaskIdentity, run_tag
from airflow_provider_codeocean._common.inputs import (
    as_list,
    bucket_fields,
    check_asset_arguments,
    check_description,
    check_metadata,
    id_from,
    metadata_from,
    name_from,
    permissions_from,
    wait_seconds,
)
from airflow_provider_codeocean._common.reconcile import AMBIGUOUS, RECONCILE_DELAYS, SUBMIT_ATTEMPTS, create_once
from airflow_provider_codeocean._common.xcom import push_data_asset_link
from airflow_provider_codeocean.errors import (
    CodeOceanConfigError,
    CodeOceanDataAssetFailedError,
    CodeOceanError,
    CodeOceanRunFailedError,
    CodeOceanWaitTimeoutError,
)
from airflow_provider_codeocean.links import CodeOceanDataAssetLink
from airflow_provider_codeocean.operators.base import CodeOceanBaseOperator
from airflow_provider_codeocean.operators.data_asset_update import CodeOceanUpdateDataAssetOperator
from airflow_provider_codeocean.operators.search import (
    CodeOceanSearchCapsulesOperator,
    CodeOceanSearchDataAssetsOperator,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook
    from airflow_provider_codeocean.models import AWSTarget, DataAsset, DataAssetParams, Permissions
    from airflow_provider_codeocean.models.params import DataAssetSource

__all__ = [
    "RUN_TAG_PREFIX",
    "CodeOceanCreateDataAssetOperator",
    "CodeOceanSearchCapsulesOperator",
    "CodeOceanSearchDataAssetsOperator",
    "CodeOceanUpdateDataAssetOperator",
    "id_from",
    "push_data_asset_link",
    "run_tag",
]


class CodeOceanCreateDataAssetOperator(DataAssetEventsMixin, CodeOceanBaseOperator):
    """Create a data asset: capture a computation's results, register S3 or GCS data, or combine assets.

    Give exactly one source: ``computation_id`` (optionally with ``computation_path``), ``aws_source``,
    ``gcp_source``, or ``data_asset_ids``. A computation is read first and captured only if it succeeded
    (state completed, end status succeeded, exit code 0 or absent) unless ``capture_failed`` is set.

    Creating is idempotent per task instance: the asset is tagged ``airflow-run:<hash of dag, run, task,
    map index>``; a retry, or a create request whose answer was lost (a 5xx or dropped connection after
    the server acted), finds that asset instead of creating a second one; a create that the search proves
    never arrived is sent again within the try (3 attempts in all). An asset of an earlier try that ended
    ``failed`` is not reused. See docs/guarantees.md for every fault.

    The asset's id and URL are pushed to XCom (``codeocean_data_asset_id``/``codeocean_data_asset_url``)
    before waiting, and the asset's JSON (as Code Ocean returns it) is the task's return value.

    :param name: the asset's name (templated).
    :param computation_id: capture this computation's results: an id, or the dict the run operator
        returned (templated).
    :param computation_path: capture only this folder or file of the results (templated).
    :param aws_source: register S3 data: ``{bucket, prefix, keep_on_external_storage, public,
        endpoint_name, use_input_bucket}`` (templated).
    :param gcp_source: register GCS data: ``{bucket, prefix, client_id, client_secret}`` (templated; the
        secret is masked in logs).
    :param data_asset_ids: combine these assets into one (templated).
    :param target: keep captured results on your own S3 bucket: ``{bucket, prefix, endpoint_name}``;
        only with ``computation_id`` (templated).
    :param description: the asset's description (templated).
    :param mount: the folder the asset mounts as; defaults to the name with unsafe characters replaced
        (templated).
    :param tags: list of tags (templated).
    :param custom_metadata: values for the deployment's custom metadata fields; dates may be given as
        ``datetime``/``date`` (templated).
    :param results_info: provenance of results produced outside Code Ocean (templated).
    :param capture_failed: capture a computation that did not succeed instead of refusing.
    :param validate_custom_metadata: check ``custom_metadata`` against the deployment's schema first.
    :param permissions: applied once the asset is ready, then read back:
        ``{users: [{email, role}], groups: [{group, role}], everyone, share_assets}`` (templated).
    :param on_permissions_dropped: ``fail`` (default) or ``warn`` when Code Ocean silently ignores some
        of the requested permissions.
    :param idempotent: tag the asset with the task instance's run tag and reuse it on retries.
    :param wait_for_ready: wait until the asset is ready (or failed); otherwise return the draft.
    :param deferrable: wait in the triggerer instead of a worker slot; defaults to
        ``[operators] default_deferrable``.
    :param poll_interval: seconds between status checks.
    :param timeout: seconds to wait for the asset before failing (the asset itself is not removed).
    """

    template_fields: Sequence[str] = (
        "name",
        "computation_id",
        "computation_path",
        "aws_source",
        "gcp_source",
        "data_asset_ids",
        "target",
        "description",
        "mount",
        "tags",
        "custom_metadata",
        "results_info",
        "permissions",
    )
    template_fields_renderers = {
        "custom_metadata": "json",
        "results_info": "json",
        "permissions": "json",
        "aws_source": "json",
        "gcp_source": "json",
        "target": "json",
    }
    operator_extra_links = (CodeOceanDataAssetLink(),)
    ui_color = "#d7ecf7"

    #: Seconds to wait before each look for the asset after an ambiguous create failure.
    reconcile_delays: ClassVar[tuple[float, ...]] = RECONCILE_DELAYS
    #: How many times a create that failed ambiguously (and whose asset was not found) is sent in all.
    submit_attempts: ClassVar[int] = SUBMIT_ATTEMPTS

    def __init__(
        self,
        *,
        name: str,
        computation_id: Any = None,
        computation_path: str | None = None,
        aws_source: Mapping[str, Any] | None = None,
        gcp_source: Mapping[str, Any] | None = None,
        data_asset_ids: Sequence[str] | None = None,
        target: Mapping[str, Any] | None = None,
        description: str | None = None,
        mount: str | None = None,
        tags: Sequence[str] | None = None,
        custom_metadata: Mapping[str, Any] | None = None,
        results_info: Mapping[str, Any] | None = None,
        capture_failed: bool = False,
        validate_custom_metadata: bool = True,
        permissions: Mapping[str, Any] | None = None,
        on_permissions_dropped: str = "fail",
        idempotent: bool = True,
        wait_for_ready: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float | datetime.timedelta = 10.0,
        timeout: float | datetime.timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if on_permissions_dropped not in ("fail", "warn"):
            raise CodeOceanConfigError(
                f"on_permissions_dropped must be 'fail' or 'warn', got {on_permissions_dropped!r}"
            )
        self.name = name
        self.computation_id = computation_id
        self.computation_path = computation_path
        self.aws_source = aws_source
        self.gcp_source = gcp_source
        self.data_asset_ids = data_asset_ids
        self.target = target
        self.description = description
        self.mount = mount
        self.tags = tags
        self.custom_metadata = custom_metadata
        self.results_info = results_info
        self.capture_failed = capture_failed
        self.validate_custom_metadata = validate_custom_metadata
        self.permissions = permissions
        self.on_permissions_dropped = on_permissions_dropped
        self.idempotent = idempotent
        self.wait_for_ready = wait_for_ready
        self.deferrable = deferrable
        # Checked here so a typo fails at DAG parse time, not hours later.
        self.poll_interval, self.timeout = wait_seconds(poll_interval, timeout)
        check_asset_arguments(
            {f: getattr(self, f) for f in ("name", "mount", "tags", "description", "custom_metadata")}
            | {"computation_id": computation_id, "data_asset_ids": data_asset_ids}
        )

    # Building the request (no API calls)

    def build_params(self) -> DataAssetParams:
        """The create request from the (templated) arguments; raises CodeOceanConfigError on bad input."""
        from airflow_provider_codeocean.models import DataAssetParams
        from airflow_provider_codeocean.models.params import check_id, check_mount, check_tags, safe_mount

        name = name_from(self.name)
        mount = check_mount(self.mount) if self.mount not in (None, "") else safe_mount(name)
        tags = check_tags(self.tags)
        check_description(self.description)
        metadata = metadata_from(self.custom_metadata) if self.custom_metadata is not None else None
        if self.results_info is not None and not isinstance(self.results_info, Mapping):
            raise CodeOceanConfigError(f"results_info must be a dict, got {self.results_info!r}")
        data_asset_ids = None
        if self.data_asset_ids not in (None, []):
            data_asset_ids = [
                check_id(i, "data_asset_ids item") for i in as_list(self.data_asset_ids, "data_asset_ids")
            ]
            if len(set(data_asset_ids)) != len(data_asset_ids):
                raise CodeOceanConfigError(f"data_asset_ids lists an asset twice: {data_asset_ids}")
        return DataAssetParams(
            name=name,
            mount=mount,
            tags=tags,
            description=self.description,
            source=self._source(),
            target=self._target(),
            data_asset_ids=data_asset_ids,
            custom_metadata=metadata,
            results_info=dict(self.results_info) if self.results_info is not None else None,
        )

    def _source(self) -> DataAssetSource | None:
        from airflow_provider_codeocean.models import AWSSource, ComputationSource, GCPSource

        given = {
            "computation_id": self.computation_id not in (None, ""),
            "aws_source": bool(self.aws_source),
            "gcp_source": bool(self.gcp_source),
        }
        chosen = [key for key, present in given.items() if present]
        if len(chosen) > 1:
            raise CodeOceanConfigError(f"give only one source, got {' and '.join(chosen)}")
        if given["computation_id"]:
            path = self.computation_path or None
            if path is not None and not isinstance(path, str):
                raise CodeOceanConfigError(f"computation_path must be a string, got {path!r}")
            return ComputationSource(id_from(self.computation_id, "computation_id"), path)
        if given["aws_source"]:
            return AWSSource(**bucket_fields(self.aws_source, "aws_source", AWSSource))
        if given["gcp_source"]:
            fields = bucket_fields(self.gcp_source, "gcp_source", GCPSource)
            if fields.get("client_secret"):
                _mask(fields["client_secret"])
            return GCPSource(**fields)
        if self.computation_path:
            raise CodeOceanConfigError("computation_path needs computation_id")
        return None

    def _target(self) -> AWSTarget | None:
        if not self.target:
            return None
        from airflow_provider_codeocean.models import AWSTarget

        return AWSTarget(**bucket_fields(self.target, "target", AWSTarget))

    # Running

    def _execute(self, context: Context) -> dict[str, Any]:
        params = self.build_params()
        permissions = permissions_from(self.permissions)
        if permissions is not None and not self.wait_for_ready:
            raise CodeOceanConfigError("permissions can only be applied to a ready asset: set wait_for_ready=True")
        hook = self.hook
        if params.custom_metadata and self.validate_custom_metadata:
            metadata = check_metadata(hook.get_custom_metadata(), params.custom_metadata)
            params = dataclasses.replace(params, custom_metadata=metadata)
        from airflow_provider_codeocean.models import ComputationSource

        if isinstance(params.source, ComputationSource):
            self._check_computation(hook, params.source.id)

        tag = TaskIdentity.of(context).run_tag if self.idempotent else None
        asset = self._create_or_find(hook, params, tag)
        push_data_asset_link(context, hook, asset.id, self.log)
        if not self.wait_for_ready:
            return asset.to_dict()
        if not asset.is_terminal and self.deferrable:
            self._defer(asset.id)
        if not asset.is_terminal:
            try:
                asset = hook.wait_for_data_asset(asset.id, poll_interval=self.poll_interval, timeout=self.timeout)
            except TimeoutError:
                raise CodeOceanWaitTimeoutError(_timeout_message(asset.id, self.timeout), deadline="wait") from None
        return self._finish(asset)

    def _check_computation(self, hook: CodeOceanHook, computation_id: str) -> None:
        from airflow_provider_codeocean._common.outcome import finished_computation

        computation = finished_computation(
            hook,
            computation_id,
            "capture it after the run completes (e.g. downstream of a run operator that waits)",
        )
        if computation.succeeded:
            if computation.has_results is False:
                self.log.warning("%s succeeded but reports no results", computation.describe())
            return
        if not self.capture_failed:
            # The run is finished: no retry of this task can make it succeed.
            raise never_retried(
                CodeOceanRunFailedError(
                    f"refusing to capture {computation.describe()}: it did not succeed. "
                    "Set capture_failed=True to capture its results anyway.",
                    computation=computation.to_dict(),
                )
            )
        self.log.warning("Capturing %s although it did not succeed (capture_failed=True)", computation.describe())

    def _create_or_find(self, hook: CodeOceanHook, params: DataAssetParams, tag: str | None) -> DataAsset:
        if tag is None:
            try:
                return hook.create_data_asset(params)
            except AMBIGUOUS as exc:
                raise CodeOceanError(
                    f"creating data asset {params.name!r} failed without a clear answer ({exc}); it may or may "
                    "not exist now. With idempotent=False it cannot be looked up safely: check Code Ocean "
                    "before retrying."
                ) from exc
        if tag not in params.tags:
            params = dataclasses.replace(params, tags=[*params.tags, tag])
        earlier = _find_tagged(hook, params.name, tag)
        reusable = [a for a in earlier if not a.failed]
        if reusable:
            asset = hook.get_data_asset(reusable[0].id)
            self.log.info("Reusing %s, created by an earlier try of this task (tag %s)", asset.describe(), tag)
            return asset
        if earlier:
            self.log.info("Earlier tries created only failed assets %s; creating a new one", [a.id for a in earlier])
        known = {a.id for a in earlier}

        def created_by_us() -> DataAsset | None:
            created = [a for a in _find_tagged(hook, params.name, tag) if a.id not in known]
            return hook.get_data_asset(created[0].id) if created else None

        asset = create_once(
            lambda: hook.create_data_asset(params),
            created_by_us,
            what=f"data asset {params.name!r} (tag {tag})",
            log=self.log,
            delays=self.reconcile_delays,
            attempts=self.submit_attempts,
        )
        self.log.info("Created or found %s", asset.describe())
        return asset

    def _defer(self, data_asset_id: str) -> None:
        from airflow_provider_codeocean.triggers.data_asset import CodeOceanDataAssetTrigger

        end_time, execution_deadline = deadlines(self.timeout, self.execution_timeout)
        self.defer(
            trigger=CodeOceanDataAssetTrigger(
                conn_id=self.codeocean_conn_id,
                data_asset_id=data_asset_id,
                poll_interval=self.poll_interval,
                end_time=end_time,
                execution_deadline=execution_deadline,
            ),
            method_name="execute_complete",
            # The trigger enforces both deadlines and resumes the task, so execute_complete always runs.
            timeout=None,
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger fired (in a fresh process: everything comes from the event)."""
        from airflow_provider_codeocean.models import DataAsset

        return resume(event, DATA_ASSET_EVENTS, lambda _, raw: self._finish(DataAsset.from_json(raw)), self._timed_out)

    def _timed_out(self, event: dict[str, Any]) -> NoReturn:
        deadline = str(event.get("deadline") or "wait")
        message = _timeout_message(event["data_asset_id"], self.timeout if deadline == "wait" else None)
        raise CodeOceanWaitTimeoutError(f"{message} ({event.get('message')})", deadline=deadline)

    def _finish(self, asset: DataAsset) -> dict[str, Any]:
        if asset.failed:
            raise CodeOceanDataAssetFailedError(
                f"data asset {asset.id} ({asset.name!r}) failed: {asset.failure_reason or 'no failure_reason given'}",
                data_asset=asset.to_dict(),
            )
        permissions = permissions_from(self.permissions)
        if permissions is not None:
            self._apply_permissions(asset.id, permissions)
        self.log.info("%s", asset.describe())
        return asset.to_dict()

    def _apply_permissions(self, data_asset_id: str, permissions: Permissions) -> None:
        hook = self.hook
        hook.update_data_asset_permissions(data_asset_id, permissions)
        # Code Ocean ignores some entries (e.g. an unknown group) without saying so: read back and compare.
        missing = permissions.missing_from(hook.get_data_asset_permissions(data_asset_id))
        if not missing:
            self.log.info("Permissions applied to data asset %s", data_asset_id)
            return
        message = (
            f"Code Ocean did not apply these permissions to data asset {data_asset_id}: {'; '.join(missing)}. "
            "Check that those users and groups exist on the deployment."
        )
        if self.on_permissions_dropped == "fail":
            raise CodeOceanError(message)
        self.log.warning("%s", message)


# Private helpers


def _find_tagged(hook: CodeOceanHook, name: str, tag: str) -> list[DataAsset]:
    """Assets carrying ``tag`` and named ``name``, newest first (the filter is re-checked locally)."""
    found = [
        a for a in hook.search_data_assets(filters=[{"key": "tags", "value": tag}]) if tag in a.tags and a.name == name
    ]
    return sorted(found, key=lambda a: a.created or 0, reverse=True)


def _timeout_message(data_asset_id: str, timeout: float | None) -> str:
    within = f" within {timeout:g} seconds" if timeout is not None else " before the task's execution_timeout"
    return (
        f"data asset {data_asset_id} was not ready{within}; it is still being created in Code Ocean, "
        "and a retry of this task waits for the same asset"
    )


def _mask(secret: str) -> None:
    try:
        from airflow.providers.common.compat.sdk import mask_secret
    except ImportError:  # pragma: no cover
        return
    mask_secret(secret)
