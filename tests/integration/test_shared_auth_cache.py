"""Two real servers on one database: a role change or token revocation made through one applies on the
other once ``STRATUS_AUTH_CACHE_SECONDS`` has passed (the other server's cached lookups expire), and at once
on the server that made it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from plugins.stratus_server import LiveServer, start_server

CACHE_SECONDS = 3
# How long past the cache time a change may take to show on a busy machine before the test gives up.
MARGIN_SECONDS = 30


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    """A and B: one home, so one SQLite database and master key, and each its own process and caches."""
    env = {"STRATUS_AUTH_CACHE_SECONDS": str(CACHE_SECONDS)}
    first = start_server(tmp_path / "home", env=env)
    try:
        second = start_server(tmp_path / "home", env=env)
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        second.stop()
        first.stop()


def _eventually(check: Callable[[], int], expected: int, what: str) -> None:
    """Poll until ``check()`` answers ``expected``; fail if it has not after the cache time and margin."""
    deadline = time.monotonic() + CACHE_SECONDS + MARGIN_SECONDS
    seen = check()
    while seen != expected:
        if time.monotonic() > deadline:
            pytest.fail(
                f"{what}: still {seen}, not {expected}, {CACHE_SECONDS + MARGIN_SECONDS} s after the change"
            )
        time.sleep(0.2)
        seen = check()


def test_a_role_change_through_one_server_applies_on_the_other(
    servers: tuple[LiveServer, LiveServer],
) -> None:
    a, b = servers
    admin = {"Authorization": f"Bearer {a.admin_token}"}
    roles = f"{a.url}/api/v1/workspaces/default/role-assignments"

    def ok(response: httpx.Response, status: int = 200) -> httpx.Response:
        assert response.status_code == status, (response.request.url, response.status_code, response.text)
        return response

    ok(httpx.post(f"{a.url}/api/v1/users", json={"name": "alice"}, headers=admin), 201)
    ok(httpx.post(roles, json={"user": "alice", "role": "Data Scientist"}, headers=admin), 201)
    ok(httpx.post(roles, json={"user": "alice", "role": "Reader"}, headers=admin), 201)
    token = ok(
        httpx.post(f"{a.url}/api/v1/tokens", json={"user": "alice", "workspace": "default"}, headers=admin),
        201,
    ).json()
    alice = {"Authorization": f"Bearer {token['token']}"}

    def create_run(server: LiveServer) -> int:
        """A write Data Scientist may make and Reader may not (alice keeps Reader, so she still reads)."""
        url = f"{server.url}/api/2.0/mlflow/runs/create"
        return httpx.post(url, json={"experiment_id": "0"}, headers=alice, timeout=30).status_code

    def read_runs(server: LiveServer) -> int:
        url = f"{server.url}/api/2.0/mlflow/runs/search"
        return httpx.post(url, json={"experiment_ids": ["0"]}, headers=alice, timeout=30).status_code

    # Both servers have now looked alice's token and roles up (and cached them).
    assert (create_run(a), create_run(b)) == (200, 200)

    ok(httpx.delete(roles, params={"user": "alice", "role": "Data Scientist"}, headers=admin), 204)
    assert create_run(a) == 403, "the server that made the change applies it at once"
    _eventually(lambda: create_run(b), 403, "B after the role was removed on A")
    assert read_runs(b) == 200, "only the removed role's rights went"

    ok(httpx.post(roles, json={"user": "alice", "role": "Contributor"}, headers=admin), 201)
    assert create_run(a) == 200
    _eventually(lambda: create_run(b), 200, "B after a role was assigned on A")

    ok(httpx.delete(f"{a.url}/api/v1/tokens/{token['id']}", headers=admin))
    assert read_runs(a) == 401
    _eventually(lambda: read_runs(b), 401, "B after the token was revoked on A")
