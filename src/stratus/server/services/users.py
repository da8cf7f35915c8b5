"""Users (the server admin's), their tokens and role assignments."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from stratus.entities import AccessToken, CreationContext, RoleAssignment, User
from stratus.entities.roles import Permission, Role
from stratus.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from stratus.server.services.auth import AuthService, hash_token, new_token_secret
from stratus.server.services.context import Caller
from stratus.server.services.names import check_user_name
from stratus.store.access import RoleAssignmentRecord, TokenRecord, UserRecord, WorkspaceRecord
from stratus.store.metadata import MetadataStore
from stratus.store.paging import Page

_DURATION = re.compile(r"(\d{1,6})\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DEFAULT_TOKEN_LIFETIME = "90d"  # noqa: S105 - a duration, not a secret
MAX_TOKEN_LIFETIME = timedelta(days=3650)


def parse_duration(text: str, field: str = "expires_in") -> timedelta | None:
    """``30d``, ``12h``, ``1w2d``...; ``never`` means no expiry."""
    value = text.strip().lower()
    if value == "never":
        return None
    parts = _DURATION.findall(value)
    if not parts or _DURATION.sub("", value).strip():
        raise InvalidInputError(
            f"invalid duration {text!r}: use a number and a unit s, m, h, d or w (e.g. 30d), or 'never'",
            field=field,
        )
    total = timedelta()
    for amount, unit in parts:
        total += timedelta(**{_UNITS[unit]: int(amount)})
    if total <= timedelta(0) or total > MAX_TOKEN_LIFETIME:
        raise InvalidInputError(f"duration {text!r} must be between 1s and 3650d", field=field)
    return total


def user_entity(record: UserRecord) -> User:
    return User(
        name=record.name,
        id=record.id,
        display_name=record.display_name,
        is_server_admin=record.is_server_admin,
        creation_context=CreationContext(created_at=record.created_at, created_by=record.created_by),
    )


def token_entity(record: TokenRecord, secret: str | None = None) -> AccessToken:
    return AccessToken(
        id=record.id,
        user=record.user_name,
        name=record.name,
        workspace=record.workspace_name,
        expires_at=record.expires_at,
        revoked_at=record.revoked_at,
        last_used_at=record.last_used_at,
        creation_context=CreationContext(created_at=record.created_at, created_by=record.created_by),
        token=secret,
    )


def assignment_entity(record: RoleAssignmentRecord) -> RoleAssignment:
    return RoleAssignment(
        id=record.id,
        user=record.user_name,
        role=record.role,
        workspace=record.workspace_name,
        creation_context=CreationContext(created_at=record.created_at, created_by=record.created_by),
    )


class UserService:
    def __init__(self, store: MetadataStore, auth: AuthService) -> None:
        self.store = store
        self.auth = auth

    # -- users -------------------------------------------------------------------------------
    def create_user(
        self,
        caller: Caller | None,
        name: str,
        *,
        display_name: str | None = None,
        is_server_admin: bool = False,
    ) -> UserRecord:
        check_user_name(name)
        actor = caller.user_name if caller else None
        record = self.store.users.create(
            name, display_name=display_name, is_server_admin=is_server_admin, created_by=actor
        )
        self.auth.invalidate()
        self.store.audit.append(
            "user.create",
            actor=actor,
            target=name,
            client_ip=caller.client_ip if caller else None,
            detail={"is_server_admin": is_server_admin},
        )
        return record

    def get_user(self, name: str, field: str = "user") -> UserRecord:
        record = self.store.users.get(name)
        if record is None:
            raise NotFoundError(f"user {name!r} not found; the server admin creates users", field=field)
        return record

    # -- tokens ------------------------------------------------------------------------------
    # Who may do what with tokens: one's own are one's own business, within the scope of the token in
    # hand; the unscoped server admin manages all; an Owner manages the tokens that other (non-admin)
    # members hold for the Owner's workspace. A new token never outlives the token that made it.
    def create_token(
        self,
        caller: Caller,
        *,
        user: str | None = None,
        workspace: str | None = None,
        name: str | None = None,
        expires_in: str | None = None,
    ) -> tuple[TokenRecord, str]:
        """Returns the record and the secret, which is never stored or shown again."""
        owner = self.get_user(user) if user else self.get_user(caller.user_name)
        ws = self._workspace(workspace) if workspace is not None else None
        self._check_create_authority(caller, owner, ws)
        lifetime = parse_duration(expires_in or DEFAULT_TOKEN_LIFETIME)
        expires_at = datetime.now(UTC) + lifetime if lifetime else None
        if caller.token_expires_at is not None and (
            expires_at is None or expires_at > caller.token_expires_at
        ):
            expires_at = caller.token_expires_at
        secret = new_token_secret()
        record = self.store.tokens.create(
            user_id=owner.id,
            token_hash=hash_token(secret),
            name=name,
            workspace_id=ws.id if ws else None,
            expires_at=expires_at,
            created_by=caller.user_name,
        )
        self.store.audit.append(
            "token.create",
            actor=caller.user_name,
            workspace=workspace,
            target=record.id,
            client_ip=caller.client_ip,
            detail={"user": owner.name, "expires_at": expires_at.isoformat() if expires_at else None},
        )
        return record, secret

    def _workspace(self, name: str) -> WorkspaceRecord:
        ws = self.store.workspaces.get(name)
        if ws is None:
            raise NotFoundError(f"workspace {name!r} not found", field="workspace")
        return ws

    def _check_create_authority(self, caller: Caller, owner: UserRecord, ws: WorkspaceRecord | None) -> None:
        if caller.is_unscoped_admin:
            return
        if caller.token_workspace_id is not None and (ws is None or ws.id != caller.token_workspace_id):
            raise PermissionDeniedError(
                f"a token scoped to {caller.token_workspace_name!r} only creates tokens for that workspace",
                field="workspace",
            )
        if owner.id == caller.user_id:
            if ws is not None and not self.auth.can(caller, Permission.READ, ws.name):
                raise PermissionDeniedError(f"you hold no role in workspace {ws.name!r}", field="workspace")
            return
        if ws is None:
            raise PermissionDeniedError(
                "a token for another user must be scoped to a workspace you own (pass workspace)",
                field="workspace",
            )
        if not self.auth.can(caller, Permission.MANAGE_ACCESS, ws.name):
            raise PermissionDeniedError(
                f"managing another user's tokens needs the Owner role in {ws.name!r}", field="user"
            )
        if owner.is_server_admin:
            raise PermissionDeniedError(
                "only the server admin makes tokens for the server admin", field="user"
            )
        if not self.store.role_assignments.roles_of(user_id=owner.id, workspace_id=ws.id):
            raise PermissionDeniedError(
                f"user {owner.name!r} holds no role in {ws.name!r}; assign one first", field="user"
            )

    def _may_manage_token(self, caller: Caller, token: TokenRecord) -> bool:
        if caller.is_unscoped_admin:
            return True
        if caller.token_workspace_id is not None and token.workspace_id != caller.token_workspace_id:
            return False
        if token.user_id == caller.user_id:
            return True
        if token.workspace_name is None or self._is_admin_id(token.user_id):
            return False
        return self.auth.can(caller, Permission.MANAGE_ACCESS, token.workspace_name)

    def _owned_workspace_ids(self, caller: Caller) -> list[str]:
        """Workspaces where the caller may manage others' tokens, within the caller's token scope."""
        assignments = self.store.role_assignments.list(user_id=caller.user_id, limit=10_000).items
        owned = {a.workspace_id for a in assignments if a.role == Role.OWNER.value}
        if caller.token_workspace_id is not None:
            owned &= {caller.token_workspace_id}
        return sorted(owned)

    def list_tokens(
        self, caller: Caller, *, user: str | None, limit: int, page_token: str | None
    ) -> Page[TokenRecord]:
        """Never a 403 or 404 for someone else's name: others see only what they could manage."""
        name = user or caller.user_name
        owner = self.store.users.get(name)
        if owner is None:
            if caller.is_unscoped_admin:
                raise NotFoundError(f"user {name!r} not found", field="user")
            return Page([])
        scope: list[str] | None = None
        if caller.is_unscoped_admin:
            scope = None
        elif owner.id == caller.user_id:
            scope = [caller.token_workspace_id] if caller.token_workspace_id else None
        elif owner.is_server_admin:
            return Page([])
        else:
            scope = self._owned_workspace_ids(caller)
        return self.store.tokens.list(
            user_id=owner.id, workspace_ids=scope, limit=limit, page_token=page_token
        )

    def get_token(self, caller: Caller, token_id: str) -> TokenRecord:
        token = self.store.tokens.get(token_id)
        if token is None or not self._may_manage_token(caller, token):
            # Same answer whether it exists or not: token ids of others are not to be probed.
            raise NotFoundError(f"token {token_id!r} not found", field="id")
        return token

    def revoke_token(self, caller: Caller, token_id: str) -> TokenRecord:
        token = self.get_token(caller, token_id)
        if self._is_last_admin_key(token):
            raise ConflictError(
                "this is the last active server-admin token not scoped to a workspace; revoking it would "
                "lock the server admin out: create another first ('stratus token create --expires-in never')",
                field="id",
                code="LAST_ADMIN_TOKEN",
            )
        record = self.store.tokens.revoke(token.id, datetime.now(UTC))
        self.auth.invalidate()
        self.store.audit.append(
            "token.revoke",
            actor=caller.user_name,
            workspace=token.workspace_name,
            target=token.id,
            client_ip=caller.client_ip,
            detail={"user": token.user_name},
        )
        return record

    def _is_admin_id(self, user_id: str) -> bool:
        user = self.store.users.get_by_id(user_id)
        return user is not None and user.is_server_admin

    def _is_last_admin_key(self, token: TokenRecord) -> bool:
        if token.workspace_id is not None or token.revoked_at is not None:
            return False
        if not self._is_admin_id(token.user_id):
            return False
        now = datetime.now(UTC)
        admins = [u for u in self.store.users.list(limit=10_000).items if u.is_server_admin]
        for admin in admins:
            for other in self.store.tokens.list(user_id=admin.id, limit=100_000).items:
                active = other.revoked_at is None and (other.expires_at is None or other.expires_at > now)
                if other.id != token.id and other.workspace_id is None and active:
                    return False
        return True

    # -- roles -------------------------------------------------------------------------------
    def assign_role(self, caller: Caller, workspace: str, user: str, role: str) -> RoleAssignmentRecord:
        ws, owner, parsed = self._resolve_assignment(workspace, user, role)
        record = self.store.role_assignments.assign(
            workspace_id=ws, user_id=owner.id, role=parsed.value, created_by=caller.user_name
        )
        self.auth.invalidate()
        self.store.audit.append(
            "role.assign",
            actor=caller.user_name,
            workspace=workspace,
            target=owner.name,
            client_ip=caller.client_ip,
            detail={"role": parsed.value},
        )
        return record

    def list_roles(
        self, workspace: str, *, user: str | None, limit: int, page_token: str | None
    ) -> Page[RoleAssignmentRecord]:
        ws = self.store.workspaces.get(workspace)
        if ws is None:
            raise NotFoundError(f"workspace {workspace!r} not found", field="workspace_name")
        user_id = self.get_user(user).id if user else None
        return self.store.role_assignments.list(
            workspace_id=ws.id, user_id=user_id, limit=limit, page_token=page_token
        )

    def delete_role(self, caller: Caller, workspace: str, user: str, role: str) -> None:
        ws, owner, parsed = self._resolve_assignment(workspace, user, role)
        if not self.store.role_assignments.delete(workspace_id=ws, user_id=owner.id, role=parsed.value):
            raise NotFoundError(
                f"user {owner.name!r} holds no {parsed.value!r} role in workspace {workspace!r}", field="role"
            )
        self.auth.invalidate()
        self.store.audit.append(
            "role.delete",
            actor=caller.user_name,
            workspace=workspace,
            target=owner.name,
            client_ip=caller.client_ip,
            detail={"role": parsed.value},
        )

    def _resolve_assignment(self, workspace: str, user: str, role: str) -> tuple[str, UserRecord, Role]:
        try:
            parsed = Role.parse(role)
        except ValueError as exc:
            raise InvalidInputError(str(exc), field="role") from exc
        ws = self.store.workspaces.get(workspace)
        if ws is None:
            raise NotFoundError(f"workspace {workspace!r} not found", field="workspace_name")
        return ws.id, self.get_user(user), parsed
