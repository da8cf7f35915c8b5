"""Workspaces, users, tokens, role assignments and the audit log in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from stratus.errors import ConflictError, NotFoundError
from stratus.store.access import (
    AuditRecord,
    AuditStore,
    RoleAssignmentRecord,
    RoleAssignmentStore,
    TokenRecord,
    TokenStore,
    UserRecord,
    UserStore,
    WorkspaceRecord,
    WorkspaceStore,
)
from stratus.store.paging import Page
from stratus.store.sql.common import SqlDomain, new_id, utc_now
from stratus.store.sql.tables import (
    ArtifactObjectRow,
    AuditEventRow,
    RoleAssignmentRow,
    TokenRow,
    UserRow,
    WorkspaceRow,
)


def _workspace(row: WorkspaceRow) -> WorkspaceRecord:
    return WorkspaceRecord(
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


class SqlWorkspaceStore(SqlDomain, WorkspaceStore):
    def create(
        self,
        name: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        created_by: str | None = None,
    ) -> WorkspaceRecord:
        now = utc_now()
        row = WorkspaceRow(
            id=new_id(),
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

    def get(self, name: str) -> WorkspaceRecord | None:
        with self._tx() as session:
            row = session.scalar(select(WorkspaceRow).where(WorkspaceRow.name == name))
            return _workspace(row) if row else None

    def list(
        self, *, names: Sequence[str] | None = None, limit: int = 100, page_token: str | None = None
    ) -> Page[WorkspaceRecord]:
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
    ) -> WorkspaceRecord:
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
            row.updated_at = utc_now()
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


def _user(row: UserRow) -> UserRecord:
    return UserRecord(
        id=row.id,
        name=row.name,
        display_name=row.display_name,
        is_server_admin=row.is_server_admin,
        created_at=row.created_at,
        created_by=row.created_by,
    )


class SqlUserStore(SqlDomain, UserStore):
    def create(
        self,
        name: str,
        *,
        display_name: str | None = None,
        is_server_admin: bool = False,
        created_by: str | None = None,
    ) -> UserRecord:
        row = UserRow(
            id=new_id(),
            name=name,
            display_name=display_name,
            is_server_admin=is_server_admin,
            created_at=utc_now(),
            created_by=created_by,
        )
        try:
            with self._tx() as session:
                session.add(row)
                session.flush()
                return _user(row)
        except IntegrityError as exc:
            raise ConflictError(f"user {name!r} already exists", field="name") from exc

    def get(self, name: str) -> UserRecord | None:
        with self._tx() as session:
            row = session.scalar(select(UserRow).where(UserRow.name == name))
            return _user(row) if row else None

    def get_by_id(self, user_id: str) -> UserRecord | None:
        with self._tx() as session:
            row = session.get(UserRow, user_id)
            return _user(row) if row else None

    def list(self, *, limit: int = 100, page_token: str | None = None) -> Page[UserRecord]:
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


def _token(row: Any) -> TokenRecord:
    token, user_name, workspace_name = row
    return TokenRecord(
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


class SqlTokenStore(SqlDomain, TokenStore):
    def create(
        self,
        *,
        user_id: str,
        token_hash: str,
        name: str | None = None,
        workspace_id: str | None = None,
        expires_at: datetime | None = None,
        created_by: str | None = None,
    ) -> TokenRecord:
        token_id = "tok_" + new_id()[:24]
        with self._tx() as session:
            session.add(
                TokenRow(
                    id=token_id,
                    user_id=user_id,
                    name=name,
                    workspace_id=workspace_id,
                    token_hash=token_hash,
                    created_at=utc_now(),
                    created_by=created_by,
                    expires_at=expires_at,
                )
            )
            session.flush()
            return _token(session.execute(_token_query().where(TokenRow.id == token_id)).one())

    def get(self, token_id: str) -> TokenRecord | None:
        with self._tx() as session:
            row = session.execute(_token_query().where(TokenRow.id == token_id)).one_or_none()
            return _token(row) if row else None

    def find_by_hash(self, token_hash: str) -> TokenRecord | None:
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
    ) -> Page[TokenRecord]:
        query = _token_query()
        if user_id is not None:
            query = query.where(TokenRow.user_id == user_id)
        if workspace_ids is not None:
            query = query.where(TokenRow.workspace_id.in_(list(workspace_ids)))
        with self._tx() as session:
            return self._page(session, query, TokenRow.id, _token, limit, page_token)

    def revoke(self, token_id: str, at: datetime) -> TokenRecord:
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


def _assignment(row: Any) -> RoleAssignmentRecord:
    assignment, workspace_name, user_name = row
    return RoleAssignmentRecord(
        id=assignment.id,
        workspace_id=assignment.workspace_id,
        workspace_name=workspace_name,
        user_id=assignment.user_id,
        user_name=user_name,
        role=assignment.role,
        created_at=assignment.created_at,
        created_by=assignment.created_by,
    )


class SqlRoleAssignmentStore(SqlDomain, RoleAssignmentStore):
    def assign(
        self, *, workspace_id: str, user_id: str, role: str, created_by: str | None = None
    ) -> RoleAssignmentRecord:
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
                            id=new_id(),
                            workspace_id=workspace_id,
                            user_id=user_id,
                            role=role,
                            created_at=utc_now(),
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
    ) -> Page[RoleAssignmentRecord]:
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


def _audit(row: AuditEventRow) -> AuditRecord:
    return AuditRecord(
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


class SqlAuditStore(SqlDomain, AuditStore):
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
    ) -> AuditRecord:
        row = AuditEventRow(
            at=utc_now(),
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
    ) -> Page[AuditRecord]:
        query = select(AuditEventRow)
        if action is not None:
            query = query.where(AuditEventRow.action == action)
        with self._tx() as session:
            return self._page(
                session, query, AuditEventRow.id, lambda r: _audit(r[0]), limit, page_token, descending=True
            )
