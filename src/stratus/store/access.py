"""Workspaces, users, tokens, role assignments and the audit log.

One small ABC per domain (DESIGN.md §3); records are plain frozen dataclasses that services turn into
API entities. Every implementation passes the behavioural tests in ``tests/conformance``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stratus.store.paging import Page


@dataclass(frozen=True)
class WorkspaceRecord:
    id: str
    name: str
    display_name: str | None
    description: str | None
    tags: dict[str, str]
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None


@dataclass(frozen=True)
class UserRecord:
    id: str
    name: str
    display_name: str | None
    is_server_admin: bool
    created_at: datetime
    created_by: str | None


@dataclass(frozen=True)
class TokenRecord:
    id: str
    user_id: str
    user_name: str
    name: str | None
    workspace_id: str | None
    workspace_name: str | None
    token_hash: str
    created_at: datetime
    created_by: str | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class RoleAssignmentRecord:
    id: str
    workspace_id: str
    workspace_name: str
    user_id: str
    user_name: str
    role: str
    created_at: datetime
    created_by: str | None


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    action: str
    outcome: str
    actor: str | None
    workspace: str | None
    target: str | None
    client_ip: str | None
    detail: dict[str, Any] = field(default_factory=dict)


class WorkspaceStore(abc.ABC):
    @abc.abstractmethod
    def create(
        self,
        name: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        created_by: str | None = None,
    ) -> WorkspaceRecord:
        """Raise ``ConflictError`` when the name is taken."""

    @abc.abstractmethod
    def get(self, name: str) -> WorkspaceRecord | None: ...

    @abc.abstractmethod
    def list(
        self, *, names: Sequence[str] | None = None, limit: int = 100, page_token: str | None = None
    ) -> Page[WorkspaceRecord]:
        """Workspaces sorted by name; ``names`` restricts the listing (``None`` means all)."""

    @abc.abstractmethod
    def update(
        self,
        name: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        updated_by: str | None = None,
    ) -> WorkspaceRecord: ...

    @abc.abstractmethod
    def delete(self, name: str) -> None:
        """Remove the workspace and every row that belongs to it."""


class UserStore(abc.ABC):
    @abc.abstractmethod
    def create(
        self,
        name: str,
        *,
        display_name: str | None = None,
        is_server_admin: bool = False,
        created_by: str | None = None,
    ) -> UserRecord: ...

    @abc.abstractmethod
    def get(self, name: str) -> UserRecord | None: ...

    @abc.abstractmethod
    def get_by_id(self, user_id: str) -> UserRecord | None: ...

    @abc.abstractmethod
    def list(self, *, limit: int = 100, page_token: str | None = None) -> Page[UserRecord]: ...

    @abc.abstractmethod
    def count(self) -> int: ...


class TokenStore(abc.ABC):
    @abc.abstractmethod
    def create(
        self,
        *,
        user_id: str,
        token_hash: str,
        name: str | None = None,
        workspace_id: str | None = None,
        expires_at: datetime | None = None,
        created_by: str | None = None,
    ) -> TokenRecord: ...

    @abc.abstractmethod
    def get(self, token_id: str) -> TokenRecord | None: ...

    @abc.abstractmethod
    def find_by_hash(self, token_hash: str) -> TokenRecord | None: ...

    @abc.abstractmethod
    def list(
        self,
        *,
        user_id: str | None = None,
        workspace_ids: Sequence[str] | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[TokenRecord]:
        """By id; ``workspace_ids`` keeps only tokens scoped to one of those workspaces."""

    @abc.abstractmethod
    def revoke(self, token_id: str, at: datetime) -> TokenRecord:
        """Idempotent: revoking a revoked token keeps the first revocation time."""

    @abc.abstractmethod
    def touch(self, token_id: str, at: datetime) -> None:
        """Record a use of the token."""


class RoleAssignmentStore(abc.ABC):
    @abc.abstractmethod
    def assign(
        self, *, workspace_id: str, user_id: str, role: str, created_by: str | None = None
    ) -> RoleAssignmentRecord:
        """Idempotent: assigning a held role returns the existing assignment."""

    @abc.abstractmethod
    def list(
        self,
        *,
        workspace_id: str | None = None,
        user_id: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[RoleAssignmentRecord]: ...

    @abc.abstractmethod
    def delete(self, *, workspace_id: str, user_id: str, role: str) -> bool: ...

    @abc.abstractmethod
    def roles_of(self, *, user_id: str, workspace_id: str) -> set[str]: ...


class AuditStore(abc.ABC):
    """Append-only: no method changes or removes an event (the SQL tables refuse it too)."""

    @abc.abstractmethod
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
    ) -> AuditRecord: ...

    @abc.abstractmethod
    def list(
        self, *, action: str | None = None, limit: int = 100, page_token: str | None = None
    ) -> Page[AuditRecord]:
        """Newest first."""
