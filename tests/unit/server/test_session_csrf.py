"""Browser sessions: an HttpOnly SameSite=Strict cookie; state changes need X-CSRF-Token and Origin."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def origin(server_state) -> dict[str, str]:
    return {"Origin": f"http://127.0.0.1:{server_state.settings.port}"}


@pytest.fixture
def browser(api: TestClient, admin_token: str) -> tuple[TestClient, str]:
    api.post(
        "/api/v1/workspaces", json={"name": "scratch"}, headers={"Authorization": f"Bearer {admin_token}"}
    )
    r = api.post("/api/v1/session", headers={"Authorization": f"Bearer {admin_token}"})
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    return api, r.json()["csrf_token"]


def test_cookie_reads_without_csrf(browser) -> None:
    client, _ = browser
    assert client.get("/api/v1/me").json()["user"] == "admin"


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_state_changes_need_csrf_and_origin(browser, origin, method: str) -> None:
    client, csrf = browser
    path = {
        "POST": "/api/v1/workspaces",
        "PATCH": "/api/v1/workspaces/default",
        "DELETE": "/api/v1/workspaces/scratch?dry_run=true",
    }[method]
    body = {"POST": {"name": "from-browser"}, "PATCH": {"description": "x"}, "DELETE": None}[method]
    assert client.request(method, path, json=body).status_code == 403
    assert client.request(method, path, json=body, headers=origin).status_code == 403
    wrong = {**origin, "X-CSRF-Token": "0" * 64}
    assert client.request(method, path, json=body, headers=wrong).status_code == 403
    for other in ("http://evil.example", "http://localhost:1", "ftp://127.0.0.1", "null"):
        foreign = {"Origin": other, "X-CSRF-Token": csrf}
        assert client.request(method, path, json=body, headers=foreign).status_code == 403, other
    ok = client.request(method, path, json=body, headers={**origin, "X-CSRF-Token": csrf})
    assert ok.status_code < 300, ok.text


def test_bearer_requests_need_no_csrf(api: TestClient, admin_token: str) -> None:
    r = api.post(
        "/api/v1/workspaces", json={"name": "by-bearer"}, headers={"Authorization": f"Bearer {admin_token}"}
    )
    assert r.status_code == 201


def test_closing_the_session_revokes_its_cookie(browser, origin) -> None:
    client, csrf = browser
    assert client.delete("/api/v1/session", headers={**origin, "X-CSRF-Token": csrf}).status_code == 204
    client.cookies.clear()
    assert client.get("/api/v1/me").status_code == 401
