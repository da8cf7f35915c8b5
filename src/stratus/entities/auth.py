from __future__ import annotations

from datetime import datetime

from pydantic import Field

from stratus.entities._base import CreationContext, Entity


class User(Entity):
    name: str
    id: str | None = None
    display_name: str | None = None
    is_server_admin: bool = False
    creation_context: CreationContext | None = None


class AccessToken(Entity):
    """A user's bearer token. ``token`` holds the secret only in the response that created it."""

    id: str
    user: str
    name: str | None = None
    workspace: str | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    creation_context: CreationContext | None = None
    token: str | None = None


class RoleAssignment(Entity):
    id: str
    user: str
    role: str
    workspace: str
    creation_context: CreationContext | None = None


class Principal(Entity):
    """Who the current token belongs to (``GET /api/v1/me``)."""

    user: str
    is_server_admin: bool = False
    token_id: str | None = None
    token_workspace: str | None = None
    roles: dict[str, list[str]] = Field(default_factory=dict)


class AuditEvent(Entity):
    id: int
    at: datetime
    action: str
    outcome: str
    actor: str | None = None
    workspace: str | None = None
    target: str | None = None
    client_ip: str | None = None
    detail: dict[str, object] = Field(default_factory=dict)
