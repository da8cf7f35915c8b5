"""The artifact index in SQL: size and sha256 of each stored object."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import delete, select

from stratus.store.artifacts import ArtifactIndexStore, ArtifactRecord
from stratus.store.paging import Page
from stratus.store.sql.common import SqlDomain, upsert, utc_now
from stratus.store.sql.tables import (
    ArtifactObjectRow,
)


def _artifact(row: ArtifactObjectRow) -> ArtifactRecord:
    return ArtifactRecord(
        workspace_id=row.workspace_id,
        path=row.path,
        size=row.size,
        sha256=row.sha256,
        updated_at=row.updated_at,
    )


def _under(prefix: str) -> Any:
    """``path`` is ``prefix`` or below it; ``_`` and ``%`` are legal in paths, so LIKE needs them escaped."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return (ArtifactObjectRow.path == prefix) | ArtifactObjectRow.path.like(escaped + "/%", escape="\\")


class SqlArtifactIndexStore(SqlDomain, ArtifactIndexStore):
    def record(self, workspace_id: str, path: str, *, size: int, sha256: str) -> ArtifactRecord:
        record = ArtifactRecord(workspace_id, path, size, sha256, utc_now())
        with self._tx() as session:
            upsert(session, ArtifactObjectRow, [dataclasses.asdict(record)], ("workspace_id", "path"))
        return record

    def get(self, workspace_id: str, path: str) -> ArtifactRecord | None:
        with self._tx() as session:
            row = session.get(ArtifactObjectRow, (workspace_id, path))
            return _artifact(row) if row else None

    def list(
        self, workspace_id: str, *, prefix: str = "", limit: int = 1000, page_token: str | None = None
    ) -> Page[ArtifactRecord]:
        query = select(ArtifactObjectRow).where(ArtifactObjectRow.workspace_id == workspace_id)
        if prefix:
            query = query.where(_under(prefix))
        with self._tx() as session:
            return self._page(
                session, query, ArtifactObjectRow.path, lambda r: _artifact(r[0]), limit, page_token
            )

    def delete(self, workspace_id: str, path: str) -> bool:
        with self._tx() as session:
            result = session.execute(
                delete(ArtifactObjectRow).where(
                    ArtifactObjectRow.workspace_id == workspace_id, ArtifactObjectRow.path == path
                )
            )
            return bool(getattr(result, "rowcount", 0))

    def delete_tree(self, workspace_id: str, prefix: str) -> int:
        query = delete(ArtifactObjectRow).where(ArtifactObjectRow.workspace_id == workspace_id)
        if prefix:
            query = query.where(_under(prefix))
        with self._tx() as session:
            return int(getattr(session.execute(query), "rowcount", 0))
