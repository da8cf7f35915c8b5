"""Artifact objects of a workspace: the bytes in the artifact store, their size and sha256 in the index.

Write order keeps the two honest: the object lands atomically first, then its record; a delete drops the
record first. A crash in between leaves at most an unrecorded object, which ``verify`` reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stratus.artifacts import ArtifactStore, ObjectInfo, WriteData, canonicalize
from stratus.errors import NotFoundError
from stratus.store.access import WorkspaceRecord
from stratus.store.artifacts import ArtifactRecord
from stratus.store.metadata import MetadataStore


@dataclass(frozen=True)
class Verification:
    path: str
    recorded: ArtifactRecord | None
    actual: ObjectInfo | None

    @property
    def ok(self) -> bool:
        if self.recorded is None or self.actual is None:
            return False
        return (self.recorded.size, self.recorded.sha256) == (self.actual.size, self.actual.sha256)


class ArtifactService:
    def __init__(self, store: MetadataStore, artifacts: ArtifactStore) -> None:
        self.store = store
        self.artifacts = artifacts

    def objects(self, workspace: WorkspaceRecord) -> ArtifactStore:
        return self.artifacts.sub(workspace.name)

    def write(
        self, workspace: WorkspaceRecord, path: str, data: WriteData, *, max_bytes: int | None = None
    ) -> ArtifactRecord:
        info = self.objects(workspace).write(path, data, max_bytes=max_bytes)
        return self.store.artifact_index.record(workspace.id, info.path, size=info.size, sha256=info.sha256)

    def compose(
        self,
        workspace: WorkspaceRecord,
        path: str,
        upload: str,
        names: Sequence[str],
        *,
        expected_sha256: Sequence[str] | None = None,
        max_bytes: int | None = None,
    ) -> ArtifactRecord:
        """Join staged pieces into the object ``path`` (atomically), then record it like ``write``."""
        info = self.objects(workspace).compose(
            path, upload, names, expected_sha256=expected_sha256, max_bytes=max_bytes
        )
        return self.store.artifact_index.record(workspace.id, info.path, size=info.size, sha256=info.sha256)

    def record(self, workspace: WorkspaceRecord, path: str) -> ArtifactRecord:
        clean = canonicalize(path)
        record = self.store.artifact_index.get(workspace.id, clean)
        if record is None:
            raise NotFoundError(f"no artifact {clean!r} in workspace {workspace.name!r}", field="path")
        return record

    def verify(self, workspace: WorkspaceRecord, path: str) -> Verification:
        """Re-read the object and compare it with what was recorded when it was written."""
        clean = canonicalize(path)
        try:
            actual: ObjectInfo | None = self.objects(workspace).checksum(clean)
        except FileNotFoundError:
            actual = None
        return Verification(clean, self.store.artifact_index.get(workspace.id, clean), actual)

    def delete(self, workspace: WorkspaceRecord, path: str) -> None:
        clean = canonicalize(path)
        self.store.artifact_index.delete(workspace.id, clean)
        self.objects(workspace).delete(clean)

    def delete_tree(self, workspace: WorkspaceRecord, prefix: str = "") -> int:
        clean = canonicalize(prefix) if prefix else ""
        self.store.artifact_index.delete_tree(workspace.id, clean)
        return self.objects(workspace).delete_tree(clean)
