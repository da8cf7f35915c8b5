"""SQL implementation of datastores and versioned assets (data, environments) with lineage and locks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stratus.errors import ConflictError, NotFoundError, ServiceUnavailableError
from stratus.store.assets import (
    AssetStore,
    AssetVersionRecord,
    DatastoreRecord,
    DatastoreStore,
    EnvironmentLockRecord,
    LineageRecord,
)
from stratus.store.sql.common import SqlDomain, dialect_insert, new_id, utc_now
from stratus.store.sql.tables import AssetLineageRow, AssetVersionRow, DatastoreRow, EnvironmentLockRow

_CREATE_RETRIES = 8


def _datastore(row: DatastoreRow) -> DatastoreRecord:
    return DatastoreRecord(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        type=row.type,
        description=row.description,
        tags=dict(row.tags or {}),
        config=dict(row.config or {}),
        credentials_type=row.credentials_type,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


class SqlDatastoreStore(SqlDomain, DatastoreStore):
    def put(
        self,
        workspace_id: str,
        name: str,
        *,
        type: str,
        description: str | None,
        tags: dict[str, str],
        config: dict[str, Any],
        credentials_type: str,
        actor: str | None,
    ) -> DatastoreRecord:
        now = utc_now()
        with self._tx() as session:
            insert = dialect_insert(session, DatastoreRow).values(
                id=new_id(),
                workspace_id=workspace_id,
                name=name,
                type=type,
                description=description,
                tags=tags,
                config=config,
                credentials_type=credentials_type,
                created_at=now,
                created_by=actor,
                updated_at=now,
                updated_by=actor,
            )
            changed = {
                "description": description,
                "tags": tags,
                "config": config,
                "credentials_type": credentials_type,
                "updated_at": now,
                "updated_by": actor,
            }
            session.execute(
                insert.on_conflict_do_update(index_elements=["workspace_id", "name"], set_=changed)
            )
            row = self._row(session, workspace_id, name)
            assert row is not None
            if row.type != type:
                raise ConflictError(
                    f"datastore {name!r} is of type {row.type!r}; delete it first to make it {type!r}",
                    field="type",
                )
            return _datastore(row)

    @staticmethod
    def _row(session: Session, workspace_id: str, name: str) -> DatastoreRow | None:
        return session.scalar(
            select(DatastoreRow)
            .where(DatastoreRow.workspace_id == workspace_id, DatastoreRow.name == name)
            .execution_options(populate_existing=True)
        )

    def get(self, workspace_id: str, name: str) -> DatastoreRecord | None:
        with self._tx() as session:
            row = self._row(session, workspace_id, name)
            return _datastore(row) if row else None

    def list(self, workspace_id: str) -> list[DatastoreRecord]:
        query = (
            select(DatastoreRow).where(DatastoreRow.workspace_id == workspace_id).order_by(DatastoreRow.name)
        )
        with self._tx() as session:
            return [_datastore(row) for row in session.scalars(query)]

    def delete(self, workspace_id: str, name: str) -> bool:
        with self._tx() as session:
            result = session.execute(
                delete(DatastoreRow).where(
                    DatastoreRow.workspace_id == workspace_id, DatastoreRow.name == name
                )
            )
            return bool(getattr(result, "rowcount", 0))


def _version(row: AssetVersionRow) -> AssetVersionRecord:
    return AssetVersionRecord(
        id=row.id,
        workspace_id=row.workspace_id,
        kind=row.kind,
        name=row.name,
        version=row.version,
        seq=row.seq,
        spec=dict(row.spec or {}),
        details=dict(row.details or {}),
        description=row.description,
        tags=dict(row.tags or {}),
        properties=dict(row.properties or {}),
        archived=row.archived,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _next_integer_version(versions: list[str]) -> str:
    numbers = [int(v) for v in versions if v.isdigit()]
    return str(max(numbers, default=0) + 1)


class SqlAssetStore(SqlDomain, AssetStore):
    @staticmethod
    def _of(workspace_id: str, kind: str, name: str) -> list[Any]:
        return [
            AssetVersionRow.workspace_id == workspace_id,
            AssetVersionRow.kind == kind,
            AssetVersionRow.name == name,
        ]

    @staticmethod
    def _serialise(session: Session, workspace_id: str, kind: str, name: str) -> None:
        """On PostgreSQL, creates of one name take turns (a transaction-scoped advisory lock), so racing
        auto-numbered creates queue instead of colliding and retrying; SQLite writers take turns already."""
        if session.get_bind().dialect.name == "postgresql":
            key = f"stratus asset {workspace_id} {kind} {name}"
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})

    def create_version(
        self,
        workspace_id: str,
        kind: str,
        name: str,
        version: str | None,
        *,
        spec: dict[str, Any],
        details: dict[str, Any],
        description: str | None,
        tags: dict[str, str],
        properties: dict[str, str],
        actor: str | None,
    ) -> AssetVersionRecord:
        # Racing creates of one name take turns through the unique key: the loser retries with the next
        # number (auto-versioning) or learns the version exists (explicit version).
        for _ in range(_CREATE_RETRIES):
            try:
                with self._tx() as session:
                    self._serialise(session, workspace_id, kind, name)
                    existing = session.execute(
                        select(AssetVersionRow.version, AssetVersionRow.seq).where(
                            *self._of(workspace_id, kind, name)
                        )
                    ).all()
                    chosen = version or _next_integer_version([v for v, _ in existing])
                    if any(v == chosen for v, _ in existing):
                        raise ConflictError(
                            f"{kind} {name}:{chosen} already exists and versions are immutable; "
                            "give a new version, or leave version out to get the next number",
                            field="version",
                        )
                    now = utc_now()
                    row = AssetVersionRow(
                        id=new_id(),
                        workspace_id=workspace_id,
                        kind=kind,
                        name=name,
                        version=chosen,
                        seq=max((s for _, s in existing), default=0) + 1,
                        spec=spec,
                        details=details,
                        description=description,
                        tags=tags,
                        properties=properties,
                        archived=False,
                        created_at=now,
                        created_by=actor,
                        updated_at=now,
                        updated_by=actor,
                    )
                    session.add(row)
                    session.flush()
                    return _version(row)
            except IntegrityError:
                continue
        raise ServiceUnavailableError(
            f"too many concurrent creates of {kind} {name!r}; try again", code="TEMPORARILY_UNAVAILABLE"
        )

    def get_version(self, workspace_id: str, kind: str, name: str, version: str) -> AssetVersionRecord | None:
        with self._tx() as session:
            row = session.scalar(
                select(AssetVersionRow).where(
                    *self._of(workspace_id, kind, name), AssetVersionRow.version == version
                )
            )
            return _version(row) if row else None

    def latest(self, workspace_id: str, kind: str, name: str) -> AssetVersionRecord | None:
        versions = self.list_versions(workspace_id, kind, name)
        return versions[0] if versions else None

    def list_latest(
        self, workspace_id: str, kind: str, *, include_archived: bool = False
    ) -> list[AssetVersionRecord]:
        filters = [AssetVersionRow.workspace_id == workspace_id, AssetVersionRow.kind == kind]
        if not include_archived:
            filters.append(AssetVersionRow.archived.is_(False))
        newest = (
            select(AssetVersionRow.name, func.max(AssetVersionRow.seq).label("seq"))
            .where(*filters)
            .group_by(AssetVersionRow.name)
            .subquery()
        )
        query = (
            select(AssetVersionRow)
            .join(newest, (AssetVersionRow.name == newest.c.name) & (AssetVersionRow.seq == newest.c.seq))
            .where(AssetVersionRow.workspace_id == workspace_id, AssetVersionRow.kind == kind)
            .order_by(AssetVersionRow.name)
        )
        with self._tx() as session:
            return [_version(row) for row in session.scalars(query)]

    def list_versions(
        self, workspace_id: str, kind: str, name: str, *, include_archived: bool = False
    ) -> list[AssetVersionRecord]:
        query = select(AssetVersionRow).where(*self._of(workspace_id, kind, name))
        if not include_archived:
            query = query.where(AssetVersionRow.archived.is_(False))
        with self._tx() as session:
            return [_version(row) for row in session.scalars(query.order_by(AssetVersionRow.seq.desc()))]

    def update_version(
        self,
        workspace_id: str,
        kind: str,
        name: str,
        version: str,
        *,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
        actor: str | None,
    ) -> AssetVersionRecord:
        with self._tx() as session:
            row = session.scalar(
                select(AssetVersionRow).where(
                    *self._of(workspace_id, kind, name), AssetVersionRow.version == version
                )
            )
            if row is None:
                raise NotFoundError(f"{kind} {name}:{version} not found", field="version")
            if description is not None:
                row.description = description
            if tags is not None:
                row.tags = tags
            if details is not None:
                row.details = {**(row.details or {}), **details}
            row.updated_at = utc_now()
            row.updated_by = actor
            session.flush()
            return _version(row)

    def set_archived(
        self,
        workspace_id: str,
        kind: str,
        name: str,
        version: str | None,
        archived: bool,
        *,
        actor: str | None,
    ) -> int:
        query = update(AssetVersionRow).where(*self._of(workspace_id, kind, name))
        if version is not None:
            query = query.where(AssetVersionRow.version == version)
        with self._tx() as session:
            result = session.execute(query.values(archived=archived, updated_at=utc_now(), updated_by=actor))
            return int(getattr(result, "rowcount", 0))

    def add_lineage(self, version_id: str, job_name: str, direction: str) -> None:
        with self._tx() as session:
            insert = dialect_insert(session, AssetLineageRow).values(
                version_id=version_id, job_name=job_name, direction=direction, at=utc_now()
            )
            session.execute(insert.on_conflict_do_nothing())

    def lineage(self, version_id: str) -> list[LineageRecord]:
        query = (
            select(AssetLineageRow)
            .where(AssetLineageRow.version_id == version_id)
            .order_by(AssetLineageRow.at)
        )
        with self._tx() as session:
            return [LineageRecord(r.job_name, r.direction, r.at) for r in session.scalars(query)]

    def record_lock(self, spec_hash: str, python_version: str, lock_text: str) -> EnvironmentLockRecord:
        with self._tx() as session:
            insert = dialect_insert(session, EnvironmentLockRow).values(
                spec_hash=spec_hash, python_version=python_version, lock_text=lock_text, created_at=utc_now()
            )
            session.execute(insert.on_conflict_do_nothing(index_elements=["spec_hash"]))
        kept = self.get_lock(spec_hash)
        assert kept is not None
        return kept

    def get_lock(self, spec_hash: str) -> EnvironmentLockRecord | None:
        with self._tx() as session:
            row = session.get(EnvironmentLockRow, spec_hash)
            if row is None:
                return None
            return EnvironmentLockRecord(row.spec_hash, row.python_version, row.lock_text, row.created_at)
