"""The route table: every route declares a permission, and every non-anonymous one refuses anonymity."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from stratus.entities.roles import Permission
from stratus.server.app import ANONYMOUS_MOUNTS, api_routes, create_app
from stratus.server.authz import SecuredRoute, declared_permission, declared_signed_url
from stratus.server.state import ServerState

# DESIGN.md §5: the only anonymous paths.
ANONYMOUS_PATHS = {"/", "/health", "/ready", "/docs"}
# The one exception to "every MLflow route needs a token": the part PUTs of multipart uploads, which the
# stock client sends without one. They are authorised by the signed URL that mpu/create minted, alone.
SIGNED_URL_ROUTES = {
    ("PUT", "/workspaces/{workspace_name}/api/2.0/mlflow-artifacts/mpu/part/{artifact_path:path}")
}


def test_every_route_is_secured_and_declares_a_permission(server_state: ServerState) -> None:
    app = create_app(server_state)
    for route in app.routes:
        if isinstance(route, Mount):
            assert route.path in ANONYMOUS_MOUNTS, f"unexpected mount {route.path}"
            continue
        assert isinstance(route, SecuredRoute), f"{route.path} bypasses the choke point"
        assert declared_permission(route) is not None, f"{route.path} declares no permission"
    anonymous = {r.path for r in api_routes(app) if declared_permission(r) is Permission.ANONYMOUS}
    assert anonymous == ANONYMOUS_PATHS
    signed = {(m, r.path) for r in api_routes(app) if declared_signed_url(r) for m in r.methods or ()}
    assert signed == SIGNED_URL_ROUTES


def test_signed_url_routes_take_no_token_instead_of_the_signature(api: TestClient, admin_token: str) -> None:
    for method, path in SIGNED_URL_ROUTES:
        for headers in ({}, {"Authorization": f"Bearer {admin_token}"}):
            response = api.request(method, _fill(path), content=b"x", headers=headers)
            assert response.status_code == 401, (path, headers, response.text)
            assert "signed URL" in response.json()["message"]
        forged = api.request(
            method,
            _fill(path),
            params={"upload_id": "u", "part_number": "1", "expires": "9999999999", "signature": "x"},
            content=b"x",
            headers={"Authorization": f"Bearer {admin_token}"},
        )
        assert forged.status_code == 403, forged.text


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "default", path)


def test_every_protected_route_answers_401_anonymously(api: TestClient) -> None:
    checked = 0
    for route in api_routes(api.app):  # type: ignore[arg-type]
        permission = declared_permission(route)
        for method in sorted(route.methods or ()):
            response = api.request(method, _fill(route.path), json={})
            if permission is Permission.ANONYMOUS:
                assert response.status_code < 400, (method, route.path, response.text)
                continue
            checked += 1
            assert response.status_code == 401, (method, route.path, response.status_code, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            body = response.json()
            code = body["error_code"] if "/mlflow" in route.path else body["error"]["code"]
            assert code == "UNAUTHENTICATED", (route.path, body)
    assert checked >= 15


def test_route_without_permission_is_denied_even_with_a_token(
    server_state: ServerState, admin_token: str
) -> None:
    app = create_app(server_state)
    app.router.route_class = SecuredRoute

    @app.get("/api/v1/forgotten")
    async def forgotten() -> dict[str, str]:
        return {"leak": "yes"}

    route = next(r for r in app.routes if isinstance(r, APIRoute) and r.path == "/api/v1/forgotten")
    assert isinstance(route, SecuredRoute) and declared_permission(route) is None
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.get("/api/v1/forgotten", headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code == 403
    assert "declares no permission" in response.json()["error"]["message"]


def test_bad_tokens_are_refused_and_audited(api: TestClient, server_state: ServerState) -> None:
    for header in ("Bearer nope", "Basic abc", "Bearer ", "Bearer stratus_" + "x" * 43):
        response = api.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401, header
    failures = server_state.store.audit.list(action="auth.failed").items
    assert len(failures) == 2  # malformed headers are refused before any lookup
    assert all(f.outcome == "failure" and f.client_ip for f in failures)


def test_metrics_need_a_token_and_count_requests(api: TestClient, admin_token: str) -> None:
    api.get("/health")
    assert api.get("/metrics").status_code == 401
    text = api.get("/metrics", headers={"Authorization": f"Bearer {admin_token}"}).text
    assert 'stratus_http_requests_total{method="GET",route="/health",status="200"}' in text


def test_failed_logins_cannot_flood_the_audit_log(api: TestClient, server_state: ServerState) -> None:
    for _ in range(45):
        assert api.get("/api/v1/me", headers={"Authorization": "Bearer stratus_nope"}).status_code == 401
    assert len(server_state.store.audit.list(action="auth.failed", limit=1000).items) == 30


def test_failure_gate_reports_what_it_left_out() -> None:
    from datetime import UTC, datetime, timedelta

    from stratus.server.services.auth import FailureGate

    gate, t0 = FailureGate(limit=2), datetime.now(UTC)
    assert [gate.admit("ip", t0) for _ in range(5)] == [0, 0, None, None, None]
    assert gate.admit("other", t0) == 0
    assert gate.admit("ip", t0 + timedelta(minutes=2)) == 3
