"""Roles of DESIGN.md §6 enforced at the choke point; changes take effect at once."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from plugins.stratus_server import bearer

ROLES = ["Owner", "Contributor", "Data Scientist", "Compute Operator", "Reader"]


@pytest.fixture
def team(admin: TestClient) -> dict[str, str]:
    """A workspace 'team' with one user per role, plus 'outsider'; returns user -> token."""
    assert admin.post("/api/v1/workspaces", json={"name": "team"}).status_code == 201
    assert admin.post("/api/v1/workspaces", json={"name": "other"}).status_code == 201
    tokens = {}
    for role in [*ROLES, None]:
        user = (role or "outsider").lower().replace(" ", "-")
        assert admin.post("/api/v1/users", json={"name": user}).status_code == 201
        if role:
            r = admin.post("/api/v1/workspaces/team/role-assignments", json={"user": user, "role": role})
            assert r.status_code == 201, r.text
        r = admin.post("/api/v1/tokens", json={"user": user, "expires_in": "1d"})
        assert r.status_code == 201, r.text
        tokens[role or "outsider"] = r.json()["token"]
    return tokens


EXPECTED = {
    # (method, path, body): roles allowed
    ("GET", "/api/v1/workspaces/team", None): set(ROLES),
    ("GET", "/api/v1/workspaces/team/role-assignments", None): set(ROLES),
    ("PATCH", "/api/v1/workspaces/team", '{"description": "x"}'): {"Owner", "Contributor"},
    ("POST", "/api/v1/workspaces/team/role-assignments", '{"user": "outsider", "role": "Reader"}'): {"Owner"},
    ("DELETE", "/api/v1/workspaces/team?dry_run=true", None): {"Owner"},
    ("POST", "/api/v1/workspaces", '{"name": "new-ws"}'): set(),
    ("GET", "/api/v1/users", None): set(),
    ("GET", "/api/v1/audit", None): set(),
}


@pytest.mark.parametrize("role", [*ROLES, "outsider"])
def test_role_matrix(api: TestClient, team: dict[str, str], role: str) -> None:
    for (method, path, body), allowed in EXPECTED.items():
        response = api.request(
            method, path, content=body, headers={**bearer(team[role]), "Content-Type": "application/json"}
        )
        if role in allowed:
            assert response.status_code < 300, (role, method, path, response.text)
        else:
            assert response.status_code == 403, (role, method, path, response.status_code, response.text)
            assert response.json()["error"]["code"] == "PERMISSION_DENIED"


def test_a_refused_write_names_the_permission_in_words(api: TestClient, team: dict[str, str]) -> None:
    reader = {**bearer(team["Reader"]), "Content-Type": "application/json"}
    refused = api.post(
        "/workspaces/team/api/2.0/mlflow/experiments/create", content='{"name": "x"}', headers=reader
    )
    message = refused.json()["message"]
    assert refused.status_code == 403
    assert message.startswith("logging experiments and runs in workspace 'team'"), message
    assert "Contributor, Data Scientist, Owner" in message and "you hold: Reader" in message
    settings = api.patch("/api/v1/workspaces/team", content='{"description": "x"}', headers=reader)
    assert settings.json()["error"]["message"].startswith("changing workspace settings in workspace 'team'")


def test_every_permission_has_words() -> None:
    from stratus.entities.roles import Permission

    assert all(p.in_words and "." not in p.in_words for p in Permission)


def test_role_changes_and_revocation_take_effect_at_once(
    admin: TestClient, api: TestClient, team: dict[str, str]
) -> None:
    reader = bearer(team["Reader"])
    assert api.patch("/api/v1/workspaces/team", json={"description": "x"}, headers=reader).status_code == 403
    admin.post("/api/v1/workspaces/team/role-assignments", json={"user": "reader", "role": "Contributor"})
    assert api.patch("/api/v1/workspaces/team", json={"description": "x"}, headers=reader).status_code == 200
    r = admin.delete(
        "/api/v1/workspaces/team/role-assignments", params={"user": "reader", "role": "Contributor"}
    )
    assert r.status_code == 204
    assert api.patch("/api/v1/workspaces/team", json={"description": "x"}, headers=reader).status_code == 403
    token_id = api.get("/api/v1/me", headers=reader).json()["token_id"]
    assert admin.delete(f"/api/v1/tokens/{token_id}").status_code == 200
    assert api.get("/api/v1/me", headers=reader).status_code == 401


def test_workspace_scoped_token(admin: TestClient, api: TestClient, team: dict[str, str]) -> None:
    admin.post("/api/v1/workspaces/other/role-assignments", json={"user": "owner", "role": "Owner"})
    owner = bearer(team["Owner"])
    scoped = api.post("/api/v1/tokens", json={"workspace": "team", "expires_in": "1h"}, headers=owner).json()
    headers = bearer(scoped["token"])
    assert scoped["workspace"] == "team"
    assert api.get("/api/v1/workspaces/team", headers=headers).status_code == 200
    denied = api.get("/api/v1/workspaces/other", headers=headers)
    assert denied.status_code == 403 and "scoped to workspace 'team'" in denied.json()["error"]["message"]
    assert [w["name"] for w in api.get("/api/v1/workspaces", headers=headers).json()["value"]] == ["team"]
    assert sorted(w["name"] for w in api.get("/api/v1/workspaces", headers=owner).json()["value"]) == [
        "other",
        "team",
    ]


def test_tokens_of_others_need_owner(api: TestClient, team: dict[str, str]) -> None:
    owner, reader = bearer(team["Owner"]), bearer(team["Reader"])
    r = api.post("/api/v1/tokens", json={"user": "contributor", "workspace": "team"}, headers=reader)
    assert r.status_code == 403
    r = api.post("/api/v1/tokens", json={"user": "contributor"}, headers=owner)
    assert r.status_code == 403 and r.json()["error"]["field"] == "workspace"
    r = api.post("/api/v1/tokens", json={"user": "contributor", "workspace": "team"}, headers=owner)
    assert r.status_code == 201
    minted = r.json()
    assert api.get(f"/api/v1/tokens/{minted['id']}", headers=reader).status_code == 404
    # Others see only what they may manage: an empty list, whether the user exists or not.
    assert api.get("/api/v1/tokens", params={"user": "contributor"}, headers=reader).json()["value"] == []
    assert api.get("/api/v1/tokens", params={"user": "nobody"}, headers=reader).json()["value"] == []
    listed = api.get("/api/v1/tokens", params={"user": "contributor"}, headers=owner).json()["value"]
    assert [t["id"] for t in listed] == [minted["id"]]
    assert all(t["token"] is None for t in listed)
    assert api.delete(f"/api/v1/tokens/{minted['id']}", headers=owner).json()["revoked_at"]


def test_expired_token_is_refused(api: TestClient, team: dict[str, str], server_state) -> None:
    from datetime import UTC, datetime, timedelta

    from stratus.server.services.auth import hash_token

    user = server_state.store.users.get("reader")
    server_state.store.tokens.create(
        user_id=user.id, token_hash=hash_token("stratus_expired"), expires_at=datetime.now(UTC) - timedelta(1)
    )
    r = api.get("/api/v1/me", headers=bearer("stratus_expired"))
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]


def test_audit_records_token_and_role_changes(admin: TestClient, team: dict[str, str]) -> None:
    actions = [e["action"] for e in admin.get("/api/v1/audit", params={"top": 1000}).json()["value"]]
    assert actions.count("role.assign") == 5
    assert actions.count("token.create") >= 6
    assert admin.get("/api/v1/me", params={"login": "true"}).status_code == 200
    login = admin.get("/api/v1/audit", params={"action": "auth.login"}).json()["value"]
    assert login and login[0]["actor"] == "admin"


def test_owners_cannot_reach_the_admin_or_outsiders(
    admin: TestClient, api: TestClient, team: dict[str, str]
) -> None:
    owner = bearer(team["Owner"])
    r = api.post(
        "/api/v1/tokens", json={"user": "admin", "workspace": "team", "expires_in": "never"}, headers=owner
    )
    assert r.status_code == 403 and "server admin" in r.json()["error"]["message"]
    r = api.post("/api/v1/tokens", json={"user": "outsider", "workspace": "team"}, headers=owner)
    assert r.status_code == 403 and "assign one first" in r.json()["error"]["message"]
    assert api.get("/api/v1/tokens", params={"user": "admin"}, headers=owner).json()["value"] == []
    admin_token_id = admin.get("/api/v1/me").json()["token_id"]
    assert api.delete(f"/api/v1/tokens/{admin_token_id}", headers=owner).status_code == 404


def test_scoped_tokens_see_only_their_scope(api: TestClient, team: dict[str, str]) -> None:
    owner = bearer(team["Owner"])
    unscoped_id = api.get("/api/v1/me", headers=owner).json()["token_id"]
    scoped = api.post("/api/v1/tokens", json={"workspace": "team", "expires_in": "1h"}, headers=owner).json()
    as_scoped = bearer(scoped["token"])
    assert [t["id"] for t in api.get("/api/v1/tokens", headers=as_scoped).json()["value"]] == [scoped["id"]]
    assert api.delete(f"/api/v1/tokens/{unscoped_id}", headers=as_scoped).status_code == 404
    r = api.post("/api/v1/tokens", json={"expires_in": "never"}, headers=as_scoped)
    assert r.status_code == 403 and r.json()["error"]["field"] == "workspace"


def test_new_tokens_never_outlive_their_parent(api: TestClient, team: dict[str, str]) -> None:
    reader = bearer(team["Reader"])  # its token expires in 1 day
    parent_expiry = api.get("/api/v1/tokens", headers=reader).json()["value"][0]["expires_at"]
    child = api.post("/api/v1/tokens", json={"expires_in": "never"}, headers=reader).json()
    assert child["expires_at"] == parent_expiry


def test_the_last_admin_token_cannot_be_revoked(admin: TestClient) -> None:
    me = admin.get("/api/v1/me").json()
    r = admin.delete(f"/api/v1/tokens/{me['token_id']}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "LAST_ADMIN_TOKEN"
    spare = admin.post("/api/v1/tokens", json={"expires_in": "never"}).json()
    assert admin.delete(f"/api/v1/tokens/{me['token_id']}").status_code == 200
    assert admin.get("/api/v1/me").status_code == 401
    assert admin.get("/api/v1/me", headers=bearer(spare["token"])).status_code == 200
