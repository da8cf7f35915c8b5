"""The one SQLAlchemy implementation of every metadata-store domain (sqlite:// and postgresql://)."""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import Engine, Select, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from stratus.errors import BadRequestError, ConflictError, NotFoundError
from stratus.store import base
from stratus.store.base import Page
from stratus.store.sql.tables import (
    ArtifactObjectRow,
    AuditEventRow,
    RoleAssignmentRow,
    ServerSettingRow,
    TokenRow,
    UserRow,
    WorkspaceRow,
)

R = TypeVar("R")
Ts = TypeVarTuple("Ts")


def dialect_insert(session: Session, table: Any) -> Any:
    """INSERT with ON CONFLICT, which SQLite and PostgreSQL both have: writes racing on one key (a retry
    and its original, say) resolve in the database instead of failing on the primary key."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return module.insert(getattr(table, "__table__", table))


def execute_many(session: Session, statement: Any, rows: list[dict[str, Any]]) -> None:
    """One Core statement for many rows (the driver's executemany): compiled once and cached, unlike a
    multi-row VALUES whose SQL changes with the row count, and without the ORM's bulk machinery."""
    if rows:
        session.connection().execute(statement, rows)


def upsert(session: Session, table: Any, rows: list[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert ``rows``, or overwrite the other columns of rows whose ``keys`` already exist."""
    if not rows:
        return
    insert = dialect_insert(session, table)
    changed = {name: insert.excluded[name] for name in rows[0] if name not in keys}
    execute_many(session, insert.on_conflict_do_update(index_elements=list(keys), set_=changed), rows)


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


def encode_page_token(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_page_token(token: str) -> str | int:
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, UnicodeDecodeError):
        key = None
    # Only the scalar sort keys we hand out come back; anything else would reach SQL as a bad operand.
    if isinstance(key, bool) or not isinstance(key, str | int):
        raise BadRequestError("invalid page token; pass the next_link you were given", field="skip_token")
    return key


class SqlDomain:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def _page(
        self,
        session: Session,
        query: Select[*Ts],
        key_column: Any,
        to_record: Callable[[Any], R],
        limit: int,
        page_token: str | None,
        *,
        descending: bool = False,
    ) -> Page[R]:
        if page_token:
            after = decode_page_token(page_token)
            query = query.where(key_column < after if descending else key_column > after)
        query = query.order_by(key_column.desc() if descending else key_column).limit(limit + 1)
        rows = session.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [to_record(row) for row in rows]
        next_token = encode_page_token(_key_of(rows[-1], key_column)) if more and rows else None
        return Page(items, next_token)


def _key_of(row: Any, key_column: Any) -> Any:
    entity = row[0]
    return getattr(entity, key_column.key)


def _workspace(row: WorkspaceRow) -> base.WorkspaceRecord:
    return base.WorkspaceRecord(
        id=row.id,
        name=row.name,
        display_name=row.display_name,
        description=row.description,
        tags=dict(row.tags or {}),
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


class SqlWorkspaceStore(SqlDomain, base.WorkspaceStore):
    def create(
        self,
        name: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        created_by: str | None = None,
    ) -> base.WorkspaceRecord:
        now = _now()
        row = WorkspaceRow(
            id=_new_id(),
            name=name,
            display_name=display_name,
            description=description,
            tags=tags or {},
            created_at=now,
            created_by=created_by,
            updated_at=now,
            updated_by=created_by,
        )
        try:
            with self._tx() as session:
                session.add(row)
                session.flush()
                return _workspace(row)
        except IntegrityError as exc:
            raise ConflictError(f"workspace {name!r} already exists", field="name") from exc

    def get(self, name: str) -> base.WorkspaceRecord | None:
        with self._tx() as session:
            row = session.scalar(select(WorkspaceRow).where(WorkspaceRow.name == name))
            return _workspace(row) if row else None

    def list(
        self, *, names: Sequence[str] | None = None, limit: int = 100, page_token: str | None = None
    ) -> Page[base.WorkspaceRecord]:
        query = select(WorkspaceRow)
        if names is not None:
            query = query.where(WorkspaceRow.name.in_(list(names)))
        with self._tx() as session:
            return self._page(
                session, query, WorkspaceRow.name, lambda r: _workspace(r[0]), limit, page_token
            )

    def update(
        self,
        name: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        updated_by: str | None = None,
    ) -> base.WorkspaceRecord:
        with self._tx() as session:
            row = session.scalar(select(WorkspaceRow).where(WorkspaceRow.name == name).with_for_update())
            if row is None:
                raise NotFoundError(f"workspace {name!r} not found", field="name")
            if display_name is not None:
                row.display_name = display_name
            if description is not None:
                row.description = description
            if tags is not None:
                row.tags = dict(tags)
            row.updated_at = _now()
            row.updated_by = updated_by
            session.flush()
            return _workspace(row)

    def delete(self, name: str) -> None:
        with self._tx() as session:
            ws_id = session.scalar(select(WorkspaceRow.id).where(WorkspaceRow.name == name))
            if ws_id is None:
                raise NotFoundError(f"workspace {name!r} not found", field="name")
            # Explicit deletes, not only ON DELETE CASCADE: SQLite enforces it only with foreign_keys=ON.
            session.execute(delete(TokenRow).where(TokenRow.workspace_id == ws_id))
            session.execute(delete(RoleAssignmentRow).where(RoleAssignmentRow.workspace_id == ws_id))
            session.execute(delete(ArtifactObjectRow).where(ArtifactObjectRow.workspace_id == ws_id))
            session.execute(delete(WorkspaceRow).where(WorkspaceRow.id == ws_id))


def _user(row: UserRow) -> base.UserRecord:
    return base.UserRecord(
        id=row.id,
        name=row.name,
        display_name=row.display_name,
        is_server_admin=row.is_server_admin,
        created_at=row.created_at,
        created_by=row.created_by,
    )


class SqlUserStore(SqlDomain, base.UserStore):
    def create(
        self,
        name: str,
        *,
        display_name: str | None = None,
        is_server_admin: bool = False,
        created_by: str | None = None,
    ) -> base.UserRecord:
        row = UserRow(
            id=_new_id(),
            name=name,
            display_name=display_name,
            is_server_admin=is_server_admin,
            created_at=_now(),
            created_by=created_by,
        )
        try:
            with self._tx() as session:
                session.add(row)
                session.flush()
                return _user(row)
        except IntegrityError as exc:
            raise ConflictError(f"user {name!r} already exists", field="name") from exc

    def get(self, name: str) -> base.UserRecord | None:
        with self._tx() as session:
            row = session.scalar(select(UserRow).where(UserRow.name == name))
            return _user(row) if row else None

    def get_by_id(self, user_id: str) -> base.UserRecord | None:
        with self._tx() as session:
            row = session.get(UserRow, user_id)
            return _user(row) if row else None

    def list(self, *, limit: int = 100, page_token: str | None = None) -> Page[base.UserRecord]:
        with self._tx() as session:
            return self._page(
                session, select(UserRow), UserRow.name, lambda r: _user(r[0]), limit, page_token
            )

    def count(self) -> int:
        with self._tx() as session:
            return int(session.scalar(select(func.count()).select_from(UserRow)) or 0)


_TOKEN_COLUMNS = (TokenRow, UserRow.name, WorkspaceRow.name)


def _token_query() -> Select[TokenRow, str, str]:
    return (
        select(*_TOKEN_COLUMNS)
        .join(UserRow, UserRow.id == TokenRow.user_id)
        .outerjoin(WorkspaceRow, WorkspaceRow.id == TokenRow.workspace_id)
    )


def _token(row: Any) -> base.TokenRecord:
    token, user_name, workspace_name = row
    return base.TokenRecord(
        id=token.id,
        user_id=token.user_id,
        user_name=user_name,
        name=token.name,
        workspace_id=token.workspace_id,
        workspace_name=workspace_name,
        token_hash=token.token_hash,
        created_at=token.created_at,
        created_by=token.created_by,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        last_used_at=token.last_used_at,
    )


class SqlTokenStore(SqlDomain, base.TokenStore):
    def create(
        self,
        *,
        user_id: str,
        token_hash: str,
        name: str | None = None,
        workspace_id: str | None = None,
        expires_at: datetime | None = None,
        created_by: str | None = None,
    ) -> base.TokenRecord:
        token_id = "tok_" + _new_id()[:24]
        with self._tx() as session:
            session.add(
                TokenRow(
                    id=token_id,
                    user_id=user_id,
                    name=name,
                    workspace_id=workspace_id,
                    token_hash=token_hash,
                    created_at=_now(),
                    created_by=created_by,
                    expires_at=expires_at,
                )
            )
            session.flush()
            return _token(session.execute(_token_query().where(TokenRow.id == token_id)).one())

    def get(self, token_id: str) -> base.TokenRecord | None:
        with self._tx() as session:
            row = session.execute(_token_query().where(TokenRow.id == token_id)).one_or_none()
            return _token(row) if row else None

    def find_by_hash(self, token_hash: str) -> base.TokenRecord | None:
        with self._tx() as session:
            row = session.execute(_token_query().where(TokenRow.token_hash == token_hash)).one_or_none()
            return _token(row) if row else None

    def list(
        self,
        *,
        user_id: str | None = None,
        workspace_ids: Sequence[str] | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[base.TokenRecord]:
        query = _token_query()
        if user_id is not None:
            query = query.where(TokenRow.user_id == user_id)
        if workspace_ids is not None:
            query = query.where(TokenRow.workspace_id.in_(list(workspace_ids)))
        with self._tx() as session:
            return self._page(session, query, TokenRow.id, _token, limit, page_token)

    def revoke(self, token_id: str, at: datetime) -> base.TokenRecord:
        with self._tx() as session:
            session.execute(
                update(TokenRow)
                .where(TokenRow.id == token_id, TokenRow.revoked_at.is_(None))
                .values(revoked_at=at)
            )
            row = session.execute(_token_query().where(TokenRow.id == token_id)).one_or_none()
            if row is None:
                raise NotFoundError(f"token {token_id!r} not found", field="id")
            return _token(row)

    def touch(self, token_id: str, at: datetime) -> None:
        with self._tx() as session:
            session.execute(update(TokenRow).where(TokenRow.id == token_id).values(last_used_at=at))


def _assignment_query() -> Select[RoleAssignmentRow, str, str]:
    return (
        select(RoleAssignmentRow, WorkspaceRow.name, UserRow.name)
        .join(WorkspaceRow, WorkspaceRow.id == RoleAssignmentRow.workspace_id)
        .join(UserRow, UserRow.id == RoleAssignmentRow.user_id)
    )


def _assignment(row: Any) -> base.RoleAssignmentRecord:
    assignment, workspace_name, user_name = row
    return base.RoleAssignmentRecord(
        id=assignment.id,
        workspace_id=assignment.workspace_id,
        workspace_name=workspace_name,
        user_id=assignment.user_id,
        user_name=user_name,
        role=assignment.role,
        created_at=assignment.created_at,
        created_by=assignment.created_by,
    )


class SqlRoleAssignmentStore(SqlDomain, base.RoleAssignmentStore):
    def assign(
        self, *, workspace_id: str, user_id: str, role: str, created_by: str | None = None
    ) -> base.RoleAssignmentRecord:
        where = (
            RoleAssignmentRow.workspace_id == workspace_id,
            RoleAssignmentRow.user_id == user_id,
            RoleAssignmentRow.role == role,
        )
        try:
            with self._tx() as session:
                if session.scalar(select(RoleAssignmentRow.id).where(*where)) is None:
                    session.add(
                        RoleAssignmentRow(
                            id=_new_id(),
                            workspace_id=workspace_id,
                            user_id=user_id,
                            role=role,
                            created_at=_now(),
                            created_by=created_by,
                        )
                    )
                    session.flush()
        except IntegrityError:
            pass  # a concurrent assign of the same role won the race; the row exists either way
        with self._tx() as session:
            return _assignment(session.execute(_assignment_query().where(*where)).one())

    def list(
        self,
        *,
        workspace_id: str | None = None,
        user_id: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[base.RoleAssignmentRecord]:
        query = _assignment_query()
        if workspace_id is not None:
            query = query.where(RoleAssignmentRow.workspace_id == workspace_id)
        if user_id is not None:
            query = query.where(RoleAssignmentRow.user_id == user_id)
        with self._tx() as session:
            return self._page(session, query, RoleAssignmentRow.id, _assignment, limit, page_token)

    def delete(self, *, workspace_id: str, user_id: str, role: str) -> bool:
        with self._tx() as session:
            result = session.execute(
                delete(RoleAssignmentRow).where(
                    RoleAssignmentRow.workspace_id == workspace_id,
                    RoleAssignmentRow.user_id == user_id,
                    RoleAssignmentRow.role == role,
                )
            )
            return bool(getattr(result, "rowcount", 0))

    def roles_of(self, *, user_id: str, workspace_id: str) -> set[str]:
        with self._tx() as session:
            return set(
                session.scalars(
                    select(RoleAssignmentRow.role).where(
                        RoleAssignmentRow.user_id == user_id, RoleAssignmentRow.workspace_id == workspace_id
                    )
                )
            )


def _audit(row: AuditEventRow) -> base.AuditRecord:
    return base.AuditRecord(
        id=row.id,
        at=row.at,
        action=row.action,
        outcome=row.outcome,
        actor=row.actor,
        workspace=row.workspace,
        target=row.target,
        client_ip=row.client_ip,
        detail=dict(row.detail or {}),
    )


class SqlAuditStore(SqlDomain, base.AuditStore):
    def append(
        self,
        action: str,
        *,
        outcome: str = "success",
        actor: str | None = None,
        workspace: str | None = None,
        target: str | None = None,
        client_ip: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> base.AuditRecord:
        row = AuditEventRow(
            at=_now(),
            action=action,
            outcome=outcome,
            actor=actor,
            workspace=workspace,
            target=(target or "")[:256] or None,
            client_ip=client_ip,
            detail=detail or {},
        )
        with self._tx() as session:
            session.add(row)
            session.flush()
            return _audit(row)

    def list(
        self, *, action: str | None = None, limit: int = 100, page_token: str | None = None
    ) -> Page[base.AuditRecord]:
        query = select(AuditEventRow)
        if action is not None:
            query = query.where(AuditEventRow.action == action)
        with self._tx() as session:
            return self._page(
                session, query, AuditEventRow.id, lambda r: _audit(r[0]), limit, page_token, descending=True
            )


def _artifact(row: ArtifactObjectRow) -> base.ArtifactRecord:
    return base.ArtifactRecord(
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


class SqlArtifactIndexStore(SqlDomain, base.ArtifactIndexStore):
    def record(self, workspace_id: str, path: str, *, size: int, sha256: str) -> base.ArtifactRecord:
        record = base.ArtifactRecord(workspace_id, path, size, sha256, _now())
        with self._tx() as session:
            upsert(session, ArtifactObjectRow, [dataclasses.asdict(record)], ("workspace_id", "path"))
        return record

    def get(self, workspace_id: str, path: str) -> base.ArtifactRecord | None:
        with self._tx() as session:
            row = session.get(ArtifactObjectRow, (workspace_id, path))
            return _artifact(row) if row else None

    def list(
        self, workspace_id: str, *, prefix: str = "", limit: int = 1000, page_token: str | None = None
    ) -> Page[base.ArtifactRecord]:
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


class SqlSettingsStore(SqlDomain, base.SettingsStore):
    def get(self, key: str) -> str | None:
        with self._tx() as session:
            return session.scalar(select(ServerSettingRow.value).where(ServerSettingRow.key == key))

    def set(self, key: str, value: str) -> None:
        with self._tx() as session:
            row = session.get(ServerSettingRow, key)
            if row is None:
                session.add(ServerSettingRow(key=key, value=value))
            else:
                row.value = value


_INITIALISED = "initialised_at"


class SqlMetadataStore(base.MetadataStore):
    def __init__(self, engine: Engine) -> None:
        # These build on SqlDomain from this module.
        from stratus.store.sql.assets import SqlAssetStore, SqlDatastoreStore
        from stratus.store.sql.logged_models import SqlLoggedModelStore
        from stratus.store.sql.registry import SqlRegistryStore
        from stratus.store.sql.runs import SqlRunStore
        from stratus.store.sql.tracking import SqlExperimentStore
        from stratus.store.sql.vault import SqlSecretStore

        self.engine = engine
        sessions = sessionmaker(engine, expire_on_commit=False)
        self.workspaces = SqlWorkspaceStore(sessions)
        self.users = SqlUserStore(sessions)
        self.tokens = SqlTokenStore(sessions)
        self.role_assignments = SqlRoleAssignmentStore(sessions)
        self.audit = SqlAuditStore(sessions)
        self.artifact_index = SqlArtifactIndexStore(sessions)
        self.experiments = SqlExperimentStore(sessions)
        self.runs = SqlRunStore(sessions)
        self.logged_models = SqlLoggedModelStore(sessions)
        self.registry = SqlRegistryStore(sessions)
        self.secrets = SqlSecretStore(sessions)
        self.datastores = SqlDatastoreStore(sessions)
        self.assets = SqlAssetStore(sessions)
        self.settings = SqlSettingsStore(sessions)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def is_empty(self) -> bool:
        return self.settings.get(_INITIALISED) is None

    def mark_initialised(self) -> None:
        self.settings.set(_INITIALISED, datetime.now(UTC).isoformat())

    def close(self) -> None:
        self.engine.dispose()
