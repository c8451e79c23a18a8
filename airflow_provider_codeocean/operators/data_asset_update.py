"""CodeOceanUpdateDataAssetOperator: change some of a data asset's metadata, keeping the rest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_codeocean._common.asset_events import DataAssetEventsMixin
from airflow_provider_codeocean._common.inputs import (
    as_list,
    check_asset_arguments,
    check_description,
    check_metadata,
    id_from,
    metadata_from,
    name_from,
)
from airflow_provider_codeocean._common.xcom import push_data_asset_link
from airflow_provider_codeocean.errors import CodeOceanConfigError
from airflow_provider_codeocean.links import CodeOceanDataAssetLink
from airflow_provider_codeocean.operators.base import CodeOceanBaseOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class CodeOceanUpdateDataAssetOperator(DataAssetEventsMixin, CodeOceanBaseOperator):
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
        fields = ("data_asset_id", "name", "description", "mount", "tags", "add_tags", "remove_tags")
        check_asset_arguments({f: getattr(self, f) for f in (*fields, "custom_metadata")})

    def _execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_codeocean.models import DataAssetUpdate
        from airflow_provider_codeocean.models.params import check_mount, check_tags

        asset_id = id_from(self.data_asset_id, "data_asset_id")
        name = name_from(self.name) if self.name is not None else None
        check_description(self.description)
        mount = check_mount(self.mount) if self.mount is not None else None
        replace_tags = check_tags(self.tags) if self.tags is not None else None
        add_tags, remove_tags = check_tags(self.add_tags), set(check_tags(self.remove_tags))
        metadata = metadata_from(self.custom_metadata) if self.custom_metadata is not None else {}
        drop_keys = set(as_list(self.remove_custom_metadata, "remove_custom_metadata"))
        if not all(isinstance(k, str) for k in drop_keys):
            raise CodeOceanConfigError(
                f"remove_custom_metadata must be a list of field names, got {self.remove_custom_metadata!r}"
            )

        hook = self.hook
        current = hook.get_data_asset(asset_id)
        tags = _dedupe([*(current.tags if replace_tags is None else replace_tags), *add_tags])
        tags = [t for t in tags if t not in remove_tags]
        merged = {k: v for k, v in {**current.custom_metadata, **metadata}.items() if k not in drop_keys}
        if (metadata or drop_keys) and self.validate_custom_metadata:
            merged = check_metadata(hook.get_custom_metadata(), merged, before=current.custom_metadata)
        update = DataAssetUpdate(
            name=name if name is not None else current.name,
            description=self.description if self.description is not None else (current.description or ""),
            tags=tags,
            mount=mount or current.mount,
            custom_metadata=merged,
        )
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


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
