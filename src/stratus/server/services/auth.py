"""Authentication and the one authorization decision every route goes through."""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from stratus.entities.roles import Permission, Role, permissions_of
from stratus.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from stratus.server.services.context import Caller
from stratus.store.access import TokenRecord, UserRecord, WorkspaceRecord
from stratus.store.metadata import MetadataStore

K = TypeVar("K")
V = TypeVar("V")

TOKEN_PREFIX = "stratus_"  # noqa: S105 - a prefix, not a secret
# Writing last_used_at on every request would turn reads into writes; once a minute is enough.
_TOUCH_INTERVAL = timedelta(minutes=1)


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast unsalted hash is safe and keeps lookup O(1).
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(session_token: str) -> str:
    """The CSRF token paired with a session cookie: only the holder of the cookie value can compute it."""
    return hmac.new(session_token.encode(), b"stratus csrf v1", hashlib.sha256).hexdigest()


class FailureGate:
    """Bounds the audit rows one client's failed logins can write: ``limit`` a minute, then a count.

    Anonymous clients must not be able to fill the database; the first row after a quiet spell says how
    many failures were left out (``suppressed_before``).
    """

    def __init__(self, limit: int = 30, window: timedelta = timedelta(minutes=1)) -> None:
        self.limit = limit
        self.window = window
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[datetime, int, int]] = {}  # client -> (start, written, suppressed)

    def admit(self, client: str, now: datetime) -> int | None:
        """``None``: do not write this one; else write it, with the number suppressed before it."""
        with self._lock:
            start, written, suppressed = self._windows.get(client, (now, 0, 0))
            if now - start >= self.window:
                start, written = now, 0
            if written >= self.limit:
                self._windows[client] = (start, written, suppressed + 1)
                return None
            self._windows[client] = (start, written + 1, 0)
            if len(self._windows) > 10_000:  # forget quiet clients; keeps memory bounded under a spray
                self._windows = {c: w for c, w in self._windows.items() if now - w[0] < self.window}
            return suppressed


class TtlCache(Generic[K, V]):
    """A small thread-safe map whose entries live ``ttl`` seconds (0 turns it off)."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, load: Callable[[], V]) -> V:
        if self.ttl <= 0:
            return load()
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class CacheMissError(Exception):
    """Raised inside ``AuthService.check_cached`` where the answer needs the database."""


_DATABASE_ALLOWED: contextvars.ContextVar[bool] = contextvars.ContextVar("auth_database", default=True)


def _needs_database() -> None:
    if not _DATABASE_ALLOWED.get():
        raise CacheMissError


class AuthService:
    """Who is calling and what they may do. Token, user, workspace and role lookups are cached for
    ``cache_seconds``: every request pays for them otherwise. Changes made through this server clear the
    cache at once (``invalidate``); another server sharing the database sees them within that time."""

    def __init__(self, store: MetadataStore, *, cache_seconds: float = 2.0) -> None:
        self.store = store
        self._failure_gate = FailureGate()
        self._tokens: TtlCache[str, tuple[TokenRecord | None, UserRecord | None]] = TtlCache(cache_seconds)
        self._workspaces: TtlCache[str, WorkspaceRecord | None] = TtlCache(cache_seconds)
        self._roles: TtlCache[tuple[str, str], frozenset[Role]] = TtlCache(cache_seconds)
        self._touched: dict[str, datetime] = {}

    def _workspace(self, name: str) -> WorkspaceRecord | None:
        _needs_database()
        return self.store.workspaces.get(name)

    def invalidate(self) -> None:
        """Forget cached tokens, users, workspaces and roles (after any change to them)."""
        for cache in (self._tokens, self._workspaces, self._roles):
            cache.clear()

    def _token_and_user(self, token_hash: str) -> tuple[TokenRecord | None, UserRecord | None]:
        _needs_database()
        record = self.store.tokens.find_by_hash(token_hash)
        user = self.store.users.get(record.user_name) if record is not None else None
        return record, user

    def check(
        self, token: str | None, permission: Permission, workspace_name: str | None, *, client_ip: str | None
    ) -> tuple[Caller, WorkspaceRecord | None]:
        """Authenticate and authorize in one call (one trip to a worker thread per request)."""
        caller = self.authenticate(token, client_ip=client_ip)
        return caller, self.authorize(caller, permission, workspace_name)

    def check_cached(
        self, token: str | None, permission: Permission, workspace_name: str | None, *, client_ip: str | None
    ) -> tuple[Caller, WorkspaceRecord | None] | None:
        """``check`` from the cache alone, safe on the event loop; None when it would need the database
        (a miss, a failure to audit, a last-used time to write): then call ``check`` in a worker thread."""
        reset = _DATABASE_ALLOWED.set(False)
        try:
            return self.check(token, permission, workspace_name, client_ip=client_ip)
        except CacheMissError:
            return None
        finally:
            _DATABASE_ALLOWED.reset(reset)

    def authenticate(self, token: str | None, *, client_ip: str | None) -> Caller:
        if not token:
            raise AuthenticationError("a bearer token is required: send 'Authorization: Bearer <token>'")
        token_hash = hash_token(token)
        record, user = self._tokens.get(token_hash, lambda: self._token_and_user(token_hash))
        now = datetime.now(UTC)
        reason = None
        if record is None:
            reason = "unknown token"
        elif record.revoked_at is not None:
            reason = "token revoked"
        elif record.expires_at is not None and record.expires_at <= now:
            reason = "token expired"
        if reason is not None or record is None:
            _needs_database()
            suppressed = self._failure_gate.admit(client_ip or "", now)
            if suppressed is not None:
                self.store.audit.append(
                    "auth.failed",
                    outcome="failure",
                    actor=record.user_name if record else None,
                    target=record.id if record else None,
                    client_ip=client_ip,
                    detail={"reason": reason, "suppressed_before": suppressed},
                )
            raise AuthenticationError(f"{reason}; create a new one with 'stratus token create'")
        if user is None:  # the user was removed after the token was read
            raise AuthenticationError("unknown token; create a new one with 'stratus token create'")
        last_used = max(filter(None, (record.last_used_at, self._touched.get(record.id))), default=None)
        if last_used is None or now - last_used > _TOUCH_INTERVAL:
            _needs_database()
            self._touched[record.id] = now
            self.store.tokens.touch(record.id, now)
        return Caller(
            user_id=user.id,
            user_name=user.name,
            is_server_admin=user.is_server_admin,
            token_id=record.id,
            token_workspace_id=record.workspace_id,
            token_workspace_name=record.workspace_name,
            client_ip=client_ip,
            token_expires_at=record.expires_at,
        )

    def roles_in(self, caller: Caller, workspace: WorkspaceRecord) -> set[Role]:
        def load() -> frozenset[Role]:
            _needs_database()
            held = self.store.role_assignments.roles_of(user_id=caller.user_id, workspace_id=workspace.id)
            return frozenset(Role(r) for r in held)

        return set(self._roles.get((caller.user_id, workspace.id), load))

    def authorize(
        self, caller: Caller, permission: Permission, workspace_name: str | None
    ) -> WorkspaceRecord | None:
        """Allow or raise. Deny by default: every branch that does not return raises."""
        if permission in (Permission.ANONYMOUS, Permission.AUTHENTICATED):
            return None
        if permission is Permission.SERVER_ADMIN:
            if caller.is_unscoped_admin:
                return None
            raise PermissionDeniedError(
                "only the server admin may do this (with a token not scoped to a workspace)"
            )
        if not permission.is_workspace_scoped or workspace_name is None:
            raise PermissionDeniedError(f"permission {permission.value!r} needs a workspace in the URL")
        workspace = self._workspaces.get(workspace_name, lambda: self._workspace(workspace_name))
        if workspace is None:
            raise NotFoundError(f"workspace {workspace_name!r} not found", field="workspace_name")
        if caller.token_workspace_id is not None and caller.token_workspace_id != workspace.id:
            raise PermissionDeniedError(
                f"this token is scoped to workspace {caller.token_workspace_name!r}, not {workspace_name!r}"
            )
        if caller.is_server_admin:
            return workspace
        roles = self.roles_in(caller, workspace)
        if permission in permissions_of(roles):
            return workspace
        granting = sorted(r.value for r in Role if permission in permissions_of({r}))
        held = ", ".join(sorted(r.value for r in roles)) or "none"
        raise PermissionDeniedError(
            f"{permission.in_words} in workspace {workspace_name!r} (permission {permission.value}) needs "
            f"one of the roles {', '.join(granting)}; you hold: {held}"
        )

    def can(self, caller: Caller, permission: Permission, workspace_name: str) -> bool:
        try:
            self.authorize(caller, permission, workspace_name)
        except (PermissionDeniedError, NotFoundError):
            return False
        return True
