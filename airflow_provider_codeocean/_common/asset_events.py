"""Asset events for the data asset a task made or changed: the ``codeocean://`` URI and its extras.

The mixin wraps ``execute`` and ``resume_execution`` (the deferred path), so the operator's own code
stays as it is: whatever data asset JSON the task returns is announced once, after it is ready.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean._common.lineage import data_asset_lineage, remember
from airflow_provider_codeocean.assets import asset_extra, data_asset_uri

if TYPE_CHECKING:
    from airflow_provider_codeocean.hooks.codeocean import CodeOceanHook

    _Base = Any
else:
    _Base = object


class DataAssetEventsMixin(_Base):  # type: ignore[misc]  # Any on purpose: a mixin of BaseOperator
    """Announce the returned data asset to the task's ``outlets``.

    * every ``AssetAlias`` (``DatasetAlias`` on Airflow 2.11) in ``outlets`` gets one event for
      ``Asset("codeocean://<domain>/data_assets/<id>")``, so a DAG scheduled on the alias runs once per
      asset, though its id is known only at run time;
    * every ``Asset`` in ``outlets`` (whose event Airflow emits itself) carries the same extras.

    Extras (see :func:`~airflow_provider_codeocean.assets.asset_extra`): ``data_asset_id``, ``name``,
    ``type``, ``state``, ``tags``, ``mount``, ``custom_metadata``, ``created``, ``computation_id``,
    ``capsule_id``, plus ``uri`` and ``url``. On Airflow 2.11 an alias event's ``custom_metadata`` is JSON
    text (Airflow 2.11 needs hashable extras there). A draft (``wait_for_ready=False``) is not announced.
    """

    hook: CodeOceanHook

    def execute(self, context: Any, **kwargs: Any) -> Any:
        # Airflow 2.11's executor safeguard passes a sentinel keyword through; the base's wrapper takes it.
        return remember(self, self._announce(context, super().execute(context, **kwargs)))

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any) -> Any:
        return remember(self, self._announce(context, super().resume_execution(next_method, next_kwargs, context)))

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Output: the data asset; inputs: the assets it was made from, when Code Ocean says."""
        return data_asset_lineage(self, task_instance)

    def _announce(self, context: Any, result: Any) -> Any:
        if not isinstance(result, dict) or not result.get("id") or not self.outlets:
            return result
        from airflow_provider_codeocean.models import DataAsset

        asset = DataAsset.from_json(result)
        if not asset.ready:
            self.log.info("Data asset %s is not ready (%s); no asset event", asset.id, asset.state)
            return result
        uri = data_asset_uri(self.hook.settings.base_url, asset.id)
        extra = {
            **asset_extra(asset, _computation_id(getattr(self, "computation_id", None))),
            "uri": uri,
            "url": self.hook.data_asset_url(asset.id),
        }
        announce(context, self.outlets, uri, extra)
        self.log.info("Asset event for %s (%s)", uri, asset.name)
        return result


def announce(context: Any, outlets: Any, uri: str, extra: dict[str, Any]) -> None:
    """Add the event to each alias in ``outlets``, and the extras to each asset."""
    from airflow.providers.common.compat.sdk import Asset, AssetAlias
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

    events = context["outlet_events"]
    # Airflow 2.11 dedupes alias events on frozenset(extra.items()): every value must be hashable.
    alias_extra = extra if AIRFLOW_V_3_0_PLUS else _hashable(extra)
    for outlet in outlets:
        if isinstance(outlet, AssetAlias):
            events[outlet].add(Asset(uri), extra=alias_extra)
        elif isinstance(outlet, Asset):
            events[outlet].extra.update(extra)


def _computation_id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _hashable(extra: dict[str, Any]) -> dict[str, Any]:
    """Lists as tuples (still JSON lists once stored), mappings as JSON text."""
    return {
        k: tuple(v) if isinstance(v, list) else json.dumps(v, sort_keys=True) if isinstance(v, dict) else v
        for k, v in extra.items()
    }
