"""Operators for Code Ocean data assets: capture or register one, update its metadata, search.

Everything a user can get wrong (an empty name, a mount the API rejects, tags that are not strings, two
sources at once, custom metadata that does not fit the deployment's schema, capturing a run that did
not succeed) is checked in ``execute()`` after templating and before anything is created.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import datetime
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import conf

from airflow_provider_codeocean.errors import (
    CodeOceanConfigError,
    CodeOceanDataAssetFailedError,
    CodeOceanError,
    CodeOceanRunFailedError,
    CodeOceanServerError,
    CodeOceanTransportError,
    CodeOceanWaitTimeoutError,
)
from airflow_provider_codeocean.links import (
    DATA_ASSET_ID_KEY,
    DATA_ASSET_URL_KEY,
    CodeOceanDataAssetLink,
)
from airflow_provider_codeocean.models import (
    AWSSource,
    AWSTarget,
    ComputationSource,
    DataAsset,
    DataAssetParams,
    DataAssetUpdate,
    GCPSource,
    GroupPermission,
    Permissions,
    UserPermission,
)
from airflow_provider_codeocean.models.params import check_id, check_mount, check_tags, safe_mount
from airflow_provider_codeocean.operators._deferral import (
    deadlines,
    error_from_event,
    optional_seconds,
    positive_seconds,
    reraise,
    validate_event,
)
from airflow_provider_codeocean.operators.base import CodeOceanBaseOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook
    from airflow_provider_codeocean.models.params import DataAssetSource

#: Prefix of the tag that ties an asset to the task instance that created it.
RUN_TAG_PREFIX = "airflow-run:"
_USER_ROLES = ("owner", "editor", "viewer")
_GROUP_ROLES = ("owner", "editor", "viewer", "discoverable")
_EVERYONE_ROLES = ("viewer", "discoverable", "none")


# Input helpers shared by the data asset operators and sensor


def id_from(value: Any, what: str) -> str:
    """An id given directly, as the dict an upstream Code Ocean operator returned, or as that dict's text.

    Jinja renders a pulled dict as its Python repr unless the DAG renders native objects, so a
    rendered ``{'id': ...}`` string is read back too.
    """
    if isinstance(value, str) and value.strip().startswith("{"):
        text = value.strip()
        try:
            value = json.loads(text)
        except ValueError:
            with contextlib.suppress(ValueError, SyntaxError):
                value = ast.literal_eval(text)
    if isinstance(value, Mapping):
        value = value.get("id")
    return check_id(value, what)


def run_tag(context: Context) -> str:
    """``airflow-run:<hash>``: the same for every try of one task instance, different for any other."""
    ti = context["ti"]
    key = "\x1f".join(str(part) for part in (ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", -1)))
    return RUN_TAG_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:20]


def permissions_from(value: Any) -> Permissions | None:
    """Validate a permissions dict ``{users: [{email, role}], groups: [{group, role}], everyone, share_assets}``."""
    if value is None or isinstance(value, Permissions):
        return value
    if not isinstance(value, Mapping):
        raise CodeOceanConfigError(f"permissions must be a dict with users, groups, everyone, got {value!r}")
    unknown = sorted(set(value) - {"users", "groups", "everyone", "share_assets"})
    if unknown:
        raise CodeOceanConfigError(
            f"permissions has unknown key(s) {unknown}; use users, groups, everyone, share_assets"
        )
    users = [
        UserPermission(*_entry(item, "email", _USER_ROLES, "permissions users"))
        for item in _list(value.get("users"), "permissions users")
    ]
    groups = [
        GroupPermission(*_entry(item, "group", _GROUP_ROLES, "permissions groups"))
        for item in _list(value.get("groups"), "permissions groups")
    ]
    everyone = value.get("everyone")
    if everyone is not None and everyone not in _EVERYONE_ROLES:
        raise CodeOceanConfigError(f"permissions everyone must be one of {list(_EVERYONE_ROLES)}, got {everyone!r}")
    share = value.get("share_assets")
    if share is not None and not isinstance(share, bool):
        raise CodeOceanConfigError(f"permissions share_assets must be true or false, got {share!r}")
    return Permissions(users=users, groups=groups, everyone=everyone, share_assets=share)


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise CodeOceanConfigError(f"{what} must be a list, got {value!r}")
    return list(value)


def _entry(item: Any, key: str, roles: Sequence[str], what: str) -> tuple[str, str]:
    if not isinstance(item, Mapping) or not isinstance(item.get(key), str) or not item[key].strip():
        raise CodeOceanConfigError(f"each of {what} needs a {key!r} and a 'role', got {item!r}")
    if item.get("role") not in roles:
        raise CodeOceanConfigError(
            f"{what}: the role of {item[key]!r} must be one of {list(roles)}, got {item.get('role')!r}"
        )
    return item[key].strip(), item["role"]


def metadata_from(value: Any, what: str = "custom_metadata") -> dict[str, Any]:
    """A custom metadata dict; dates become epoch seconds, as the API expects for date fields."""
    if not isinstance(value, Mapping):
        raise CodeOceanConfigError(f"{what} must be a dict of field name to value, got {value!r}")
    result: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise CodeOceanConfigError(f"{what} keys must be field names (strings), got {key!r}")
        result[key] = _epoch(item)
    return result


def _epoch(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return int(value.timestamp())
    if isinstance(value, datetime.date):
        return int(datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc).timestamp())
    if isinstance(value, list):
        return [_epoch(v) for v in value]
    return value


def check_metadata(hook: CodeOceanHook, values: dict[str, Any], before: dict[str, Any] | None = None) -> None:
    """Raise if ``values`` do not fit the deployment's custom metadata schema.

    Problems already present in ``before`` (the asset's current metadata) are not blamed on this change.
    """
    schema = hook.get_custom_metadata()
    existing = set(schema.problems(before)) if before is not None else set()
    problems = [p for p in schema.problems(values) if p not in existing]
    if problems:
        known = ", ".join(f"{f.name} ({f.type})" for f in schema.fields) or "none"
        raise CodeOceanConfigError(
            f"custom_metadata does not fit this deployment's schema: {'; '.join(problems)}. Fields defined: {known}"
        )


def push_data_asset_link(context: Context, hook: CodeOceanHook, data_asset_id: str, log: Any) -> None:
    url = hook.data_asset_url(data_asset_id)
    context["ti"].xcom_push(key=DATA_ASSET_ID_KEY, value=data_asset_id)
    context["ti"].xcom_push(key=DATA_ASSET_URL_KEY, value=url)
    log.info("Code Ocean data asset %s: %s", data_asset_id, url)


class CodeOceanCreateDataAssetOperator(CodeOceanBaseOperator):
    """Create a data asset: capture a computation's results, register S3 or GCS data, or combine assets.

    Give exactly one source: ``computation_id`` (optionally with ``computation_path``), ``aws_source``,
    ``gcp_source``, or ``data_asset_ids``. A computation is read first and captured only if it succeeded
    (state completed, end status succeeded, exit code 0 or absent) unless ``capture_failed`` is set.

    Creating is idempotent per task instance: the asset is tagged ``airflow-run:<hash of dag, run, task,
    map index>``; a retry, or a create request whose answer was lost (a 5xx or dropped connection after
    the server acted), finds that asset instead of creating a second one. An asset of an earlier try that
    ended ``failed`` is not reused.

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
        self.poll_interval = positive_seconds(poll_interval, "poll_interval")
        self.timeout = optional_seconds(timeout, "timeout")

    # Building the request (no API calls)

    def build_params(self) -> DataAssetParams:
        """The create request from the (templated) arguments; raises CodeOceanConfigError on bad input."""
        if not isinstance(self.name, str) or not self.name.strip():
            raise CodeOceanConfigError(f"name must be a non-empty string, got {self.name!r}")
        name = self.name.strip()
        mount = check_mount(self.mount) if self.mount not in (None, "") else safe_mount(name)
        tags = check_tags(self.tags)
        if self.description is not None and not isinstance(self.description, str):
            raise CodeOceanConfigError(f"description must be a string, got {self.description!r}")
        metadata = metadata_from(self.custom_metadata) if self.custom_metadata is not None else None
        if self.results_info is not None and not isinstance(self.results_info, Mapping):
            raise CodeOceanConfigError(f"results_info must be a dict, got {self.results_info!r}")
        data_asset_ids = None
        if self.data_asset_ids not in (None, []):
            data_asset_ids = [check_id(i, "data_asset_ids item") for i in _list(self.data_asset_ids, "data_asset_ids")]
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
            return AWSSource(**_bucket_fields(self.aws_source, "aws_source", AWSSource))
        if given["gcp_source"]:
            fields = _bucket_fields(self.gcp_source, "gcp_source", GCPSource)
            if fields.get("client_secret"):
                _mask(fields["client_secret"])
            return GCPSource(**fields)
        if self.computation_path:
            raise CodeOceanConfigError("computation_path needs computation_id")
        return None

    def _target(self) -> AWSTarget | None:
        if not self.target:
            return None
        return AWSTarget(**_bucket_fields(self.target, "target", AWSTarget))

    # Running

    def _execute(self, context: Context) -> dict[str, Any]:
        params = self.build_params()
        permissions = permissions_from(self.permissions)
        if permissions is not None and not self.wait_for_ready:
            raise CodeOceanConfigError("permissions can only be applied to a ready asset: set wait_for_ready=True")
        hook = self.hook
        if params.custom_metadata and self.validate_custom_metadata:
            check_metadata(hook, params.custom_metadata)
        if isinstance(params.source, ComputationSource):
            self._check_computation(hook, params.source.id)

        asset = self._create_or_find(hook, params, run_tag(context) if self.idempotent else None)
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
        computation = hook.get_computation(computation_id)
        if not computation.is_terminal:
            raise CodeOceanConfigError(
                f"{computation.describe()} has not finished; capture it after the run completes "
                "(e.g. downstream of a run operator that waits)"
            )
        if computation.succeeded:
            if computation.has_results is False:
                self.log.warning("%s succeeded but reports no results", computation.describe())
            return
        if not self.capture_failed:
            raise CodeOceanRunFailedError(
                f"refusing to capture {computation.describe()}: it did not succeed. "
                "Set capture_failed=True to capture its results anyway.",
                computation=computation.to_dict(),
            )
        self.log.warning("Capturing %s although it did not succeed (capture_failed=True)", computation.describe())

    def _create_or_find(self, hook: CodeOceanHook, params: DataAssetParams, tag: str | None) -> DataAsset:
        if tag is None:
            try:
                return hook.create_data_asset(params)
            except (CodeOceanServerError, CodeOceanTransportError) as exc:
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
        try:
            asset = hook.create_data_asset(params)
        except (CodeOceanServerError, CodeOceanTransportError) as exc:
            # The server may have created the asset before the answer was lost: look before giving up.
            self.log.warning(
                "Creating data asset %r failed ambiguously (%s); looking for it by tag %s", params.name, exc, tag
            )
            known = {a.id for a in earlier}
            created = [a for a in _find_tagged(hook, params.name, tag) if a.id not in known]
            if not created:
                raise
            asset = hook.get_data_asset(created[0].id)
            self.log.info("Found %s created by the ambiguous request", asset.describe())
            return asset
        self.log.info("Created %s", asset.describe())
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
        from airflow_provider_codeocean.triggers.data_asset import EVENT_STATUSES

        try:
            event = validate_event(event, "data_asset_id", EVENT_STATUSES)
            status, asset_id = event["status"], event["data_asset_id"]
            if status == "timeout":
                deadline = str(event.get("deadline") or "wait")
                message = _timeout_message(asset_id, self.timeout if deadline == "wait" else None)
                raise CodeOceanWaitTimeoutError(f"{message} ({event.get('message')})", deadline=deadline)
            if status == "error":
                raise error_from_event(event)
            raw = event.get("data_asset")
            if not isinstance(raw, dict):
                raise CodeOceanError(f"the trigger's {status!r} event has no data asset: {event!r}")
            return self._finish(DataAsset.from_json(raw))
        except CodeOceanError as exc:
            reraise(exc)

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


class CodeOceanUpdateDataAssetOperator(CodeOceanBaseOperator):
    """Change some of a data asset's metadata, keeping everything not named.

    The asset is read first and the PUT carries every field (name, description, tags, mount, custom
    metadata), so a field left out is never cleared. Tags can be replaced (``tags``), added
    (``add_tags``) and removed (``remove_tags``); ``custom_metadata`` is merged into the current values
    and ``remove_custom_metadata`` drops keys. Nothing is sent when nothing changes. Returns the asset.

    :param data_asset_id: the asset: an id, or the dict a create operator returned (templated).
    :param name: new name (templated).
    :param description: new description; ``""`` clears it (templated).
    :param mount: new mount (templated).
    :param tags: replace all tags with these (templated).
    :param add_tags: tags to add (templated).
    :param remove_tags: tags to remove (templated).
    :param custom_metadata: values to set, merged into the current ones (templated).
    :param remove_custom_metadata: custom metadata keys to remove (templated).
    :param validate_custom_metadata: check the merged custom metadata against the deployment's schema.
    """

    template_fields: Sequence[str] = (
        "data_asset_id",
        "name",
        "description",
        "mount",
        "tags",
        "add_tags",
        "remove_tags",
        "custom_metadata",
        "remove_custom_metadata",
    )
    template_fields_renderers = {"custom_metadata": "json"}
    operator_extra_links = (CodeOceanDataAssetLink(),)
    ui_color = "#d7ecf7"

    def __init__(
        self,
        *,
        data_asset_id: Any,
        name: str | None = None,
        description: str | None = None,
        mount: str | None = None,
        tags: Sequence[str] | None = None,
        add_tags: Sequence[str] | None = None,
        remove_tags: Sequence[str] | None = None,
        custom_metadata: Mapping[str, Any] | None = None,
        remove_custom_metadata: Sequence[str] | None = None,
        validate_custom_metadata: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.data_asset_id = data_asset_id
        self.name = name
        self.description = description
        self.mount = mount
        self.tags = tags
        self.add_tags = add_tags
        self.remove_tags = remove_tags
        self.custom_metadata = custom_metadata
        self.remove_custom_metadata = remove_custom_metadata
        self.validate_custom_metadata = validate_custom_metadata

    def _execute(self, context: Context) -> dict[str, Any]:
        asset_id = id_from(self.data_asset_id, "data_asset_id")
        if self.name is not None and (not isinstance(self.name, str) or not self.name.strip()):
            raise CodeOceanConfigError(f"name must be a non-empty string, got {self.name!r}")
        if self.description is not None and not isinstance(self.description, str):
            raise CodeOceanConfigError(f"description must be a string, got {self.description!r}")
        mount = check_mount(self.mount) if self.mount is not None else None
        replace_tags = check_tags(self.tags) if self.tags is not None else None
        add_tags, remove_tags = check_tags(self.add_tags), set(check_tags(self.remove_tags))
        metadata = metadata_from(self.custom_metadata) if self.custom_metadata is not None else {}
        drop_keys = set(_list(self.remove_custom_metadata, "remove_custom_metadata"))
        if not all(isinstance(k, str) for k in drop_keys):
            raise CodeOceanConfigError(
                f"remove_custom_metadata must be a list of field names, got {self.remove_custom_metadata!r}"
            )

        hook = self.hook
        current = hook.get_data_asset(asset_id)
        tags = _dedupe([*(current.tags if replace_tags is None else replace_tags), *add_tags])
        tags = [t for t in tags if t not in remove_tags]
        merged = {k: v for k, v in {**current.custom_metadata, **metadata}.items() if k not in drop_keys}
        update = DataAssetUpdate(
            name=self.name.strip() if self.name is not None else current.name,
            description=self.description if self.description is not None else (current.description or ""),
            tags=tags,
            mount=mount or current.mount,
            custom_metadata=merged,
        )
        if (metadata or drop_keys) and self.validate_custom_metadata:
            check_metadata(hook, merged, before=current.custom_metadata)
        push_data_asset_link(context, hook, asset_id, self.log)
        unchanged = (
            update.name == current.name
            and update.description == (current.description or "")
            and update.tags == current.tags
            and update.mount == current.mount
            and merged == current.custom_metadata
        )
        if unchanged:
            self.log.info("%s already has this metadata; nothing to update", current.describe())
            return current.to_dict()
        updated = hook.update_data_asset(asset_id, update)
        self.log.info("Updated %s", updated.describe())
        return updated.to_dict()


class CodeOceanSearchDataAssetsOperator(CodeOceanBaseOperator):
    """Search data assets; returns their ids (or their JSON with ``return_ids=False``), ready for ``.expand()``.

    Pages of 1000 are fetched until ``max_results`` or the end of the results.

    :param query: free text or ``field:value`` terms (``name``, ``tag``, ``run_script``, ``commit_id``,
        ``contained_data_id``) (templated).
    :param filters: ``[{key, value | values | range, exclude}]``; key ``name``, ``description``,
        ``tags`` or a custom metadata field (templated).
    :param type: ``dataset``, ``result``, ``combined`` or ``model`` (templated).
    :param ownership: ``created`` or ``shared`` (templated).
    :param origin: ``internal`` or ``external`` (templated).
    :param archived: search archived assets instead of active ones.
    :param favorite: only favourites.
    :param sort_field: ``created``, ``type``, ``name`` or ``size``.
    :param sort_order: ``asc`` or ``desc``.
    :param max_results: stop after this many.
    :param return_ids: return ids (default) or the assets' JSON.
    """

    template_fields: Sequence[str] = ("query", "filters", "type", "ownership", "origin")
    template_fields_renderers = {"filters": "json"}

    def __init__(
        self,
        *,
        query: str | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
        type: str | None = None,
        ownership: str | None = None,
        origin: str | None = None,
        archived: bool | None = None,
        favorite: bool | None = None,
        sort_field: str | None = None,
        sort_order: str | None = None,
        max_results: int | None = None,
        return_ids: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.query = query
        self.filters = filters
        self.type = type
        self.ownership = ownership
        self.origin = origin
        self.archived = archived
        self.favorite = favorite
        self.sort_field = sort_field
        self.sort_order = sort_order
        self.max_results = _check_max(max_results)
        self.return_ids = return_ids

    def _execute(self, context: Context) -> list[Any]:
        search = _search_body(
            self.query,
            self.filters,
            self.max_results,
            type=_choice(self.type, "type", ("dataset", "result", "combined", "model")),
            ownership=_choice(self.ownership, "ownership", ("created", "shared")),
            origin=_choice(self.origin, "origin", ("internal", "external")),
            archived=self.archived,
            favorite=self.favorite,
            sort_field=_choice(self.sort_field, "sort_field", ("created", "type", "name", "size")),
            sort_order=_choice(self.sort_order, "sort_order", ("asc", "desc")),
        )
        query = search.pop("query", None)
        found = _take(self.hook.search_data_assets(query, **search), self.max_results)
        self.log.info("Found %d data asset(s)", len(found))
        return [a.id if self.return_ids else a.to_dict() for a in found]


class CodeOceanSearchCapsulesOperator(CodeOceanBaseOperator):
    """Search capsules (or pipelines with ``pipelines=True``); returns ids or, with ``return_ids=False``, JSON.

    :param query: free text or ``field:value`` terms (``id``, ``name``, ``doi``, ``tag``, ``field``, ...)
        (templated).
    :param filters: ``[{key, value | values | range, exclude}]`` (templated).
    :param pipelines: search pipelines instead of capsules.
    :param ownership: ``private``, ``created`` or ``shared`` (templated).
    :param status: ``release`` or ``non_release`` (templated).
    :param archived: search archived items instead of active ones.
    :param favorite: only favourites.
    :param sort_field: ``created``, ``name`` or ``last_accessed``.
    :param sort_order: ``asc`` or ``desc``.
    :param max_results: stop after this many.
    :param return_ids: return ids (default) or JSON.
    """

    template_fields: Sequence[str] = ("query", "filters", "ownership", "status")
    template_fields_renderers = {"filters": "json"}

    def __init__(
        self,
        *,
        query: str | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
        pipelines: bool = False,
        ownership: str | None = None,
        status: str | None = None,
        archived: bool | None = None,
        favorite: bool | None = None,
        sort_field: str | None = None,
        sort_order: str | None = None,
        max_results: int | None = None,
        return_ids: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.query = query
        self.filters = filters
        self.pipelines = pipelines
        self.ownership = ownership
        self.status = status
        self.archived = archived
        self.favorite = favorite
        self.sort_field = sort_field
        self.sort_order = sort_order
        self.max_results = _check_max(max_results)
        self.return_ids = return_ids

    def _execute(self, context: Context) -> list[Any]:
        search = _search_body(
            self.query,
            self.filters,
            self.max_results,
            ownership=_choice(self.ownership, "ownership", ("private", "created", "shared")),
            status=_choice(self.status, "status", ("release", "non_release")),
            archived=self.archived,
            favorite=self.favorite,
            sort_field=_choice(self.sort_field, "sort_field", ("created", "name", "last_accessed")),
            sort_order=_choice(self.sort_order, "sort_order", ("asc", "desc")),
        )
        query = search.pop("query", None)
        found = _take(self.hook.search_capsules(query, pipelines=self.pipelines, **search), self.max_results)
        self.log.info("Found %d %s", len(found), "pipeline(s)" if self.pipelines else "capsule(s)")
        return [c.id if self.return_ids else c.to_dict() for c in found]


# Private helpers


def _find_tagged(hook: CodeOceanHook, name: str, tag: str) -> list[DataAsset]:
    """Assets carrying ``tag`` and named ``name``, newest first (the filter is re-checked locally)."""
    found = [
        a for a in hook.search_data_assets(filters=[{"key": "tags", "value": tag}]) if tag in a.tags and a.name == name
    ]
    return sorted(found, key=lambda a: a.created or 0, reverse=True)


def _bucket_fields(value: Any, what: str, cls: type[Any]) -> dict[str, Any]:
    allowed = [f.name for f in dataclasses.fields(cls)]
    if not isinstance(value, Mapping):
        raise CodeOceanConfigError(f"{what} must be a dict with keys {allowed}, got {value!r}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise CodeOceanConfigError(f"{what} has unknown key(s) {unknown}; allowed: {allowed}")
    bucket = value.get("bucket")
    if not isinstance(bucket, str) or not bucket.strip() or "/" in bucket:
        raise CodeOceanConfigError(f"{what} needs 'bucket': a bucket name without '/', got {bucket!r}")
    return {k: v for k, v in value.items() if v is not None}


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _check_max(value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise CodeOceanConfigError(f"max_results must be a whole number of 1 or more, got {value!r}")
    return value


def _choice(value: Any, what: str, allowed: Sequence[str]) -> str | None:
    if value in (None, ""):
        return None
    if value not in allowed:
        raise CodeOceanConfigError(f"{what} must be one of {list(allowed)}, got {value!r}")
    return str(value)


def _search_body(query: Any, filters: Any, max_results: int | None, **fields: Any) -> dict[str, Any]:
    if query is not None and not isinstance(query, str):
        raise CodeOceanConfigError(f"query must be a string, got {query!r}")
    body: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    if query:
        body["query"] = query
    if filters:
        items = _list(filters, "filters")
        for item in items:
            if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
                raise CodeOceanConfigError(f"each filter needs a 'key' and a value, values or range, got {item!r}")
        body["filters"] = [dict(i) for i in items]
    if max_results is not None:
        # No need to fetch a page of 1000 for a handful.
        body["limit"] = min(max_results, 1000)
    return body


def _take(items: Iterable[Any], limit: int | None) -> list[Any]:
    taken: list[Any] = []
    for item in items:
        if limit is not None and len(taken) >= limit:
            break
        taken.append(item)
    return taken


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
