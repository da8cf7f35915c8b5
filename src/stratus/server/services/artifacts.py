"""Artifact objects of a workspace: the bytes in the artifact store, their size and sha256 in the index.

Write order keeps the two honest: the object lands atomically first, then its record; a delete drops the
record first. A crash in between leaves at most an unrecorded object, which ``verify`` reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stratus.artifacts import ArtifactStore, ObjectInfo, WriteData, canonicalize, is_content_sha256
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
    def content_checked(self) -> bool:
        """False where the record holds a composite digest of parts (committed in the store), which the
        object's bytes alone cannot reproduce: then only the size was compared."""
        return self.recorded is not None and is_content_sha256(self.recorded.sha256)

    @property
    def ok(self) -> bool:
        if self.recorded is None or self.actual is None or self.recorded.size != self.actual.size:
            return False
        return not self.content_checked or self.recorded.sha256 == self.actual.sha256


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

    def commit_parts(
        self,
        workspace: WorkspaceRecord,
        path: str,
        upload: str,
        state: Mapping[str, str],
        parts: Sequence[tuple[int, str]],
        *,
        max_bytes: int | None = None,
    ) -> ArtifactRecord:
        """Commit a multipart upload's parts as the object ``path`` (atomically), then record it like
        ``write``: its size, and its sha256 or, where the store joined the parts, their composite digest."""
        info = self.objects(workspace).commit_parts(path, upload, state, parts, max_bytes=max_bytes)
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
