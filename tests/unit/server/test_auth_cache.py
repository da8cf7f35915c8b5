"""Token, user, workspace and role lookups are cached briefly; changes made here apply at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stratus.config import Settings
from stratus.entities.roles import Permission
from stratus.errors import AuthenticationError, PermissionDeniedError
from stratus.server.services import auth as auth_module
from stratus.server.services.auth import TtlCache
from stratus.server.state import ServerState, bootstrap


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(auth_module.time, "monotonic", fake)
    return fake


@pytest.fixture
def state(tmp_path) -> ServerState:
    s = bootstrap(Settings(home=tmp_path / "home", auth_cache_seconds=30))
    yield s
    s.close()


def test_ttl_cache_expires_and_can_be_off(clock: Clock) -> None:
    loads = []
    cache: TtlCache[str, int] = TtlCache(10)
    assert cache.get("k", lambda: loads.append(1) or 1) == 1
    assert cache.get("k", lambda: loads.append(2) or 2) == 1 and loads == [1]
    clock.now += 11
    assert cache.get("k", lambda: loads.append(3) or 3) == 3
    off: TtlCache[str, int] = TtlCache(0)
    assert off.get("k", lambda: 1) == 1 and off.get("k", lambda: 2) == 2


def test_changes_through_this_server_apply_at_once(state: ServerState, clock: Clock) -> None:
    admin = state.auth.authenticate(state.new_admin_token, client_ip=None)
    state.users.create_user(admin, "alice")
    record, secret = state.users.create_token(admin, user="alice")
    alice = state.auth.authenticate(secret, client_ip=None)
    with pytest.raises(PermissionDeniedError):
        state.auth.authorize(alice, Permission.LOG_RUNS, "default")
    state.users.assign_role(admin, "default", "alice", "Data Scientist")
    assert state.auth.authorize(alice, Permission.LOG_RUNS, "default") is not None
    state.users.revoke_token(admin, record.id)
    with pytest.raises(AuthenticationError, match="revoked"):
        state.auth.authenticate(secret, client_ip=None)


def test_changes_by_another_server_apply_within_the_cache_time(state: ServerState, clock: Clock) -> None:
    admin = state.auth.authenticate(state.new_admin_token, client_ip=None)
    state.users.create_user(admin, "bob")
    record, secret = state.users.create_token(admin, user="bob")
    state.auth.authenticate(secret, client_ip=None)
    state.store.tokens.revoke(record.id, datetime.now(UTC))  # as a second server sharing the database would
    state.auth.authenticate(secret, client_ip=None)  # still cached
    clock.now += 31
    with pytest.raises(AuthenticationError, match="revoked"):
        state.auth.authenticate(secret, client_ip=None)


def test_cached_check_never_touches_the_database(state: ServerState, clock: Clock) -> None:
    """On the event loop only cache hits answer; a miss, an audit or a last-used write goes to a thread."""
    token = state.new_admin_token
    assert state.auth.check_cached(token, Permission.READ, "default", client_ip=None) is None, "cold cache"
    caller, workspace = state.auth.check(token, Permission.READ, "default", client_ip=None)
    cached = state.auth.check_cached(token, Permission.READ, "default", client_ip=None)
    assert cached is not None and cached[0] == caller and cached[1] == workspace
    assert state.auth.check_cached("stratus_unknown", Permission.READ, "default", client_ip=None) is None
    state.users.create_user(caller, "carol")
    _, secret = state.users.create_token(caller, user="carol")
    with pytest.raises(PermissionDeniedError):
        state.auth.check(secret, Permission.LOG_RUNS, "default", client_ip=None)
    with pytest.raises(PermissionDeniedError):  # decided from cached facts, still enforced
        state.auth.check_cached(secret, Permission.LOG_RUNS, "default", client_ip=None)
