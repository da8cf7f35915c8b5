"""What every versioned asset (data, environments; components later) shares: finding a version by number
or the ``latest`` label, listing, archiving and restoring, and editing the mutable description and tags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from stratus.errors import InvalidInputError, NotFoundError
from stratus.server.services.context import Caller
from stratus.store.access import WorkspaceRecord
from stratus.store.assets import AssetVersionRecord
from stratus.store.metadata import MetadataStore

E = TypeVar("E")
LATEST = "latest"


class VersionedAssets(Generic[E]):
    def __init__(
        self, store: MetadataStore, kind: str, label: str, to_entity: Callable[[AssetVersionRecord], E]
    ) -> None:
        self._store = store
        self.kind = kind
        self._label = label  # how messages name the asset, e.g. "data asset"
        self._to_entity = to_entity

    def record(
        self, workspace: WorkspaceRecord, name: str, version: str | None, label: str | None = None
    ) -> AssetVersionRecord:
        if version is not None and label is not None:
            raise InvalidInputError("give a version or a label, not both", field="label")
        if version == LATEST:
            version, label = None, LATEST
        if version is None:
            if label not in (None, LATEST):
                raise InvalidInputError(
                    f"unknown label {label!r}; a {self._label} has the label '{LATEST}'", field="label"
                )
            record = self._store.assets.latest(workspace.id, self.kind, name)
            if record is None and self._store.assets.list_versions(
                workspace.id, self.kind, name, include_archived=True
            ):
                missing = f"{self._label} {name!r} has no version that is not archived"
            else:
                missing = f"{self._label} {name!r} not found"
        else:
            record = self._store.assets.get_version(workspace.id, self.kind, name, version)
            missing = f"{self._label} {name}:{version} not found"
        if record is None:
            raise NotFoundError(missing, field="version" if version else "name")
        return record

    def get(
        self, workspace: WorkspaceRecord, name: str, version: str | None = None, label: str | None = None
    ) -> E:
        return self._to_entity(self.record(workspace, name, version, label))

    def list(
        self, workspace: WorkspaceRecord, name: str | None = None, *, include_archived: bool = False
    ) -> list[E]:
        """The newest version of each name, or every version of one name (newest first)."""
        if name is None:
            records = self._store.assets.list_latest(
                workspace.id, self.kind, include_archived=include_archived
            )
        else:
            records = self._store.assets.list_versions(
                workspace.id, self.kind, name, include_archived=include_archived
            )
        return [self._to_entity(r) for r in records]

    def set_archived(
        self, caller: Caller, workspace: WorkspaceRecord, name: str, version: str | None, archived: bool
    ) -> str | None:
        """Archive or restore one version, or all versions of the name (``version=None``); returns the
        version changed (``latest`` resolved before archiving, since afterwards it names another one)."""
        if version == LATEST:
            version = self.record(workspace, name, None, LATEST).version
        changed = self._store.assets.set_archived(
            workspace.id, self.kind, name, version, archived, actor=caller.user_name
        )
        if not changed:
            what = f"{self._label} {name}:{version}" if version else f"{self._label} {name!r}"
            raise NotFoundError(f"{what} not found", field="version" if version else "name")
        return version

    def update(
        self,
        caller: Caller,
        workspace: WorkspaceRecord,
        name: str,
        version: str,
        *,
        description: str | None,
        tags: dict[str, str] | None,
    ) -> E:
        record = self.record(workspace, name, version)
        updated = self._store.assets.update_version(
            workspace.id,
            self.kind,
            name,
            record.version,
            description=description,
            tags=tags,
            actor=caller.user_name,
        )
        return self._to_entity(updated)
