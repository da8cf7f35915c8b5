"""Data assets: immutable versions of a path on a datastore, with content hash, size, profile and lineage.

The server never opens a client-supplied local path: the SDK uploads local files to the workspace's
default datastore first and sends an ``azureml://datastores/...`` URI. A cloud URI is accepted only under a
registered datastore and stored in the ``azureml://`` form, so it resolves the same way everywhere.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from stratus.artifacts import ArtifactStore, UnsafePathError, canonicalize, is_content_sha256
from stratus.artifacts.fsspec_store import FsspecArtifactStore
from stratus.data.formats import is_tabular
from stratus.datastores import format_datastore_uri
from stratus.entities._base import CreationContext
from stratus.entities.assets import Data
from stratus.errors import InvalidInputError, NotFoundError, StratusError
from stratus.server.services.context import Caller
from stratus.server.services.datastores import WORKSPACE_BLOBSTORE, DatastoreService
from stratus.server.services.versioned import VersionedAssets
from stratus.store.access import WorkspaceRecord
from stratus.store.assets import AssetVersionRecord, LineageRecord
from stratus.store.metadata import MetadataStore

log = logging.getLogger(__name__)
KIND = "data"
MLTABLE_FILE = "MLTable"
# Files not indexed at upload are hashed by reading them, up to this many bytes per version; beyond it the
# hash covers names and sizes only (``hash_kind: listing``), so registering a large bucket stays cheap.
HASH_READ_LIMIT = 1 << 30


@dataclass(frozen=True)
class DataFile:
    path: str  # relative to the asset's path (the file name for a uri_file)
    size: int


def data_entity(record: AssetVersionRecord) -> Data:
    details = record.details
    return Data(
        name=record.name,
        version=record.version,
        path=record.spec.get("path"),
        type=record.spec.get("type", "uri_folder"),
        description=record.description,
        tags=record.tags,
        properties=record.properties,
        datastore=details.get("datastore"),
        id=record.id,
        sha256=details.get("sha256"),
        hash_kind=details.get("hash_kind"),
        size=details.get("size"),
        file_count=details.get("file_count"),
        profile=details.get("profile"),
        is_archived=record.archived,
        creation_context=CreationContext(
            created_at=record.created_at,
            created_by=record.created_by,
            last_modified_at=record.updated_at,
            last_modified_by=record.updated_by,
        ),
    )


class DataAssetService(VersionedAssets[Data]):
    def __init__(self, store: MetadataStore, datastores: DatastoreService) -> None:
        super().__init__(store, KIND, "data asset", data_entity)
        self._datastores = datastores

    # -- create ----------------------------------------------------------------------------------
    def create(self, caller: Caller, workspace: WorkspaceRecord, data: Data) -> Data:
        if not data.path:
            raise InvalidInputError("a data asset needs a path", field="path")
        location = self._datastores.resolve(workspace, data.path)
        datastore, path = location.name, location.path
        objects = self._datastores.open(workspace, datastore)
        root, files = self._files_of(objects, path, data.type)
        details: dict[str, Any] = {"datastore": datastore, "file_count": len(files)}
        details["size"] = sum(f.size for f in files)
        details.update(self._content_hash(workspace, datastore, objects, root, files, data.type))
        canonical = format_datastore_uri(datastore, path, is_folder=data.type != "uri_file")
        if data.path != canonical:
            details["source_uri"] = data.path
        details.update(self._profile(objects, root, path, data.type))
        record = self._store.assets.create_version(
            workspace.id,
            KIND,
            data.name,
            data.version,
            spec={"type": data.type, "path": canonical},
            details=details,
            description=data.description,
            tags=dict(data.tags),
            properties=dict(data.properties),
            actor=caller.user_name,
        )
        return data_entity(record)

    @staticmethod
    def _root_of(objects: ArtifactStore, path: str, data_type: str) -> tuple[str, DataFile | None]:
        """``(folder the asset's files are relative to, the one file of a uri_file)``, checking that the path
        exists as the type says, without listing a folder."""
        try:
            entry = objects.info(path)
        except FileNotFoundError:
            raise InvalidInputError(f"nothing exists at {path!r} on the datastore", field="path") from None
        if data_type == "uri_file":
            if entry.is_dir:
                raise InvalidInputError(
                    f"{path!r} is a folder; use type uri_folder, or point at one file", field="path"
                )
            folder, _, name = entry.path.rpartition("/")
            return folder, DataFile(name, entry.size or 0)
        if not entry.is_dir:
            if data_type == "mltable" and entry.path.rsplit("/", 1)[-1] == MLTABLE_FILE:
                return entry.path.rpartition("/")[0], None
            raise InvalidInputError(
                f"{path!r} is a file; type {data_type} needs a folder (use uri_file for one file)",
                field="path",
            )
        return entry.path, None

    @staticmethod
    def _files_of(objects: ArtifactStore, path: str, data_type: str) -> tuple[str, list[DataFile]]:
        """``(folder the files are relative to, files)``; the path must exist as the type says."""
        root, single = DataAssetService._root_of(objects, path, data_type)
        if single is not None:
            return root, [single]
        listed = objects.list(root, recursive=True)
        prefix = f"{root}/" if root else ""
        files = [DataFile(e.path.removeprefix(prefix), e.size or 0) for e in listed if not e.is_dir]
        if not files:
            raise InvalidInputError(f"the folder {path!r} holds no files", field="path")
        if data_type == "mltable" and not any(f.path == MLTABLE_FILE for f in files):
            raise InvalidInputError(
                f"type mltable needs an {MLTABLE_FILE} file in the folder {path!r}", field="path"
            )
        return root, files

    def _content_hash(
        self,
        workspace: WorkspaceRecord,
        datastore: str,
        objects: ArtifactStore,
        root: str,
        files: list[DataFile],
        data_type: str,
    ) -> dict[str, Any]:
        """sha256 of the one file, or of ``path NUL sha256`` lines of a folder's files. Files the index
        does not know, or knows only by a composite digest of upload parts, are read; when that would
        mean more than HASH_READ_LIMIT bytes, the hash covers the location, names and sizes instead
        (``hash_kind: listing``)."""
        recorded: dict[str, str] = {}
        if datastore == WORKSPACE_BLOBSTORE:
            for item in files:
                record = self._store.artifact_index.get(workspace.id, self._full(root, item.path))
                # A composite digest (parts joined in the store) names no file's bytes: read those.
                if record is not None and is_content_sha256(record.sha256):
                    recorded[item.path] = record.sha256
        unread = sum(f.size for f in files if f.path not in recorded)
        if unread > HASH_READ_LIMIT:
            location = f"{datastore}\0{root}\n"
            listing = location + "".join(f"{f.path}\0{f.size}\n" for f in files)
            return {"sha256": hashlib.sha256(listing.encode()).hexdigest(), "hash_kind": "listing"}
        digests = [
            recorded.get(item.path) or objects.checksum(self._full(root, item.path)).sha256 for item in files
        ]
        if data_type == "uri_file":
            return {"sha256": digests[0], "hash_kind": "content"}
        lines = "".join(f"{f.path}\0{d}\n" for f, d in zip(files, digests, strict=True))
        return {"sha256": hashlib.sha256(lines.encode()).hexdigest(), "hash_kind": "content"}

    @staticmethod
    def _full(root: str, relative: str) -> str:
        return f"{root}/{relative}" if root else relative

    @staticmethod
    def _profile(objects: ArtifactStore, root: str, path: str, data_type: str) -> dict[str, Any]:
        """A profile of tabular data. An MLTable that does not load is the caller's error (4xx); a CSV
        that pandas cannot parse is still data, so it is registered without a profile, saying why."""
        if data_type == "uri_file" and not is_tabular(path):
            return {}
        # pandas loads only when a table is profiled: the server starts without it.
        from stratus.data.profile import profile_table

        if not isinstance(objects, FsspecArtifactStore):  # every configured backend is one
            return {"profile_error": "this store cannot be read as a table"}
        fs, fs_root = objects.filesystem()
        target = "/".join(p for p in (fs_root.rstrip("/"), path if data_type == "uri_file" else root) if p)
        try:
            return {"profile": profile_table(fs, target, data_type, allowed_roots=[fs_root])}
        except InvalidInputError as exc:
            if data_type == "mltable":
                raise
            return {"profile_error": exc.message}
        except (StratusError, ValueError, OSError) as exc:
            if data_type == "mltable":
                raise InvalidInputError(f"the MLTable does not load: {exc}", field="path") from exc
            log.info("no profile for %s: %s", path, exc)
            return {"profile_error": str(exc)[:500]}

    # -- lineage ---------------------------------------------------------------------------------
    def record_lineage(
        self, workspace: WorkspaceRecord, name: str, version: str, job_name: str, direction: str
    ) -> None:
        """Jobs call this when they read (``input``) or write (``output``) a version."""
        if direction not in ("input", "output"):
            raise InvalidInputError("direction is input or output", field="direction")
        self._store.assets.add_lineage(self.record(workspace, name, version).id, job_name, direction)

    def lineage(self, workspace: WorkspaceRecord, name: str, version: str) -> list[LineageRecord]:
        return self._store.assets.lineage(self.record(workspace, name, version).id)

    # -- files -----------------------------------------------------------------------------------
    def _location(
        self, workspace: WorkspaceRecord, record: AssetVersionRecord
    ) -> tuple[ArtifactStore, str, str]:
        """``(the datastore, the asset's path on it, its type)``."""
        location = self._datastores.resolve(workspace, record.spec["path"])
        objects = self._datastores.open(workspace, location.name)
        return objects, location.path, record.spec.get("type", "uri_folder")

    def files(self, workspace: WorkspaceRecord, name: str, version: str) -> list[DataFile]:
        return self._files_of(*self._location(workspace, self.record(workspace, name, version)))[1]

    def read_file(
        self, workspace: WorkspaceRecord, name: str, version: str, relative: str
    ) -> Iterator[bytes]:
        """One file of a version, checked on its own (no listing of the whole folder per file)."""
        objects, path, data_type = self._location(workspace, self.record(workspace, name, version))
        root, single = self._root_of(objects, path, data_type)
        missing = NotFoundError(f"data asset {name}:{version} has no file {relative!r}", field="path")
        try:
            clean = canonicalize(relative)
        except UnsafePathError:
            raise missing from None
        full = self._full(root, clean)
        if single is not None:
            if clean != single.path:
                raise missing
        else:
            try:
                if objects.info(full).is_dir:
                    raise missing
            except FileNotFoundError:
                raise missing from None
        return objects.iter_read(full)
