"""Bad input gets a 4xx with the error shape and a field, never a 500 or a stack trace."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from stratus.config import Settings
from stratus.server.app import create_app
from stratus.server.state import bootstrap


def _error(response, status: int, code: str, field: str | None = "skip") -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    if field != "skip":
        assert error["field"] == field, error
    assert "Traceback" not in response.text
    return error


def test_malformed_json(admin: TestClient) -> None:
    r = admin.post("/api/v1/workspaces", content=b'{"name": ', headers={"Content-Type": "application/json"})
    _error(r, 422, "MALFORMED_JSON")


def test_unknown_missing_and_wrong_typed_fields(admin: TestClient) -> None:
    _error(admin.post("/api/v1/workspaces", json={"name": "abc", "bogus": 1}), 422, "UNKNOWN_FIELD", "bogus")
    _error(admin.post("/api/v1/workspaces", json={}), 422, "MISSING_FIELD", "name")
    _error(admin.post("/api/v1/workspaces", json={"name": "abc", "tags": "x"}), 422, "WRONG_TYPE", "tags")
    _error(
        admin.post("/api/v1/workspaces", json={"name": "abc", "tags": {"k": 1}}), 422, "WRONG_TYPE", "tags.k"
    )
    _error(admin.post("/api/v1/workspaces", json=["abc"]), 422, "WRONG_TYPE")
    _error(admin.get("/api/v1/workspaces", params={"top": "many"}), 422, "WRONG_TYPE", "top")
    _error(admin.get("/api/v1/workspaces", params={"top": 0}), 422, "INVALID_VALUE", "top")


@pytest.mark.parametrize("name", ["ab", "x" * 34, "has space", "dot.name", "../etc", "ünï"])
def test_invalid_workspace_names(admin: TestClient, name: str) -> None:
    error = _error(admin.post("/api/v1/workspaces", json={"name": name}), 422, "INVALID_NAME", "name")
    assert "3-33" in error["message"]


def test_valid_names_at_the_bounds(admin: TestClient) -> None:
    for name in ("abc", "A" * 33, "a_b-C9"):
        assert admin.post("/api/v1/workspaces", json={"name": name}).status_code == 201
    _error(admin.post("/api/v1/workspaces", json={"name": "abc"}), 409, "ALREADY_EXISTS", "name")


def test_default_workspace_cannot_be_deleted(admin: TestClient) -> None:
    _error(admin.delete("/api/v1/workspaces/default"), 400, "PROTECTED", "name")


def test_bad_page_token_and_unknown_things(admin: TestClient) -> None:
    _error(admin.get("/api/v1/workspaces", params={"skip_token": "%%%"}), 400, "BAD_REQUEST", "skip_token")
    _error(admin.get("/api/v1/workspaces/nope"), 404, "NOT_FOUND")
    _error(admin.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
    _error(admin.put("/api/v1/workspaces"), 405, "METHOD_NOT_ALLOWED")
    _error(admin.post("/api/v1/tokens", json={"expires_in": "soon"}), 422, "INVALID_INPUT", "expires_in")
    _error(
        admin.post("/api/v1/workspaces/default/role-assignments", json={"user": "admin", "role": "King"}),
        422,
        "INVALID_INPUT",
        "role",
    )


def test_oversize_body_is_refused_before_buffering(admin: TestClient) -> None:
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    _error(
        admin.post("/api/v1/workspaces", content=big, headers={"Content-Type": "application/json"}),
        413,
        "PAYLOAD_TOO_LARGE",
    )

    def chunks():  # no Content-Length: the limit applies while streaming
        for _ in range(40):
            yield b"x" * 65536

    _error(
        admin.post("/api/v1/workspaces", content=chunks(), headers={"Content-Type": "application/json"}),
        413,
        "PAYLOAD_TOO_LARGE",
    )


def test_configurable_body_limit(tmp_path) -> None:
    state = bootstrap(Settings(home=tmp_path / "h", max_json_bytes=100))
    try:
        with TestClient(create_app(state), base_url="http://127.0.0.1") as client:
            client.headers["Authorization"] = f"Bearer {state.new_admin_token}"
            r = client.post("/api/v1/workspaces", json={"name": "abc", "description": "y" * 200})
            assert r.status_code == 413
            assert client.post("/api/v1/workspaces", json={"name": "abc"}).status_code == 201
    finally:
        state.close()


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.nip.io", "localhost.evil", ""])
def test_foreign_host_headers_get_400(admin: TestClient, host: str) -> None:
    _error(admin.get("/health", headers={"Host": host}), 400, "BAD_HOST")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost:9999", "LOCALHOST"])
def test_allowed_hosts(admin: TestClient, host: str) -> None:
    assert admin.get("/health", headers={"Host": host}).status_code == 200


def test_allowed_hosts_from_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("STRATUS_ALLOWED_HOSTS", "ml.internal")
    state = bootstrap(Settings(home=tmp_path / "h", host="10.1.2.3"))
    try:
        with TestClient(create_app(state), base_url="http://ml.internal") as client:
            assert client.get("/health").status_code == 200
            assert client.get("/health", headers={"Host": "10.1.2.3:8765"}).status_code == 200
            assert client.get("/health", headers={"Host": "localhost"}).status_code == 400
    finally:
        state.close()


@pytest.mark.parametrize("token", ["eyJhIjoxfQ", "WzEsMl0", "bnVsbA", "dHJ1ZQ", "!!"])
def test_forged_page_tokens(admin: TestClient, token: str) -> None:
    for path in ("/api/v1/workspaces", "/api/v1/tokens", "/api/v1/audit", "/api/v1/users"):
        _error(admin.get(path, params={"skip_token": token}), 400, "BAD_REQUEST", "skip_token")


@pytest.mark.parametrize("duration", ["99999999999999999999d", "9999999w", "0d", "3651d"])
def test_out_of_range_durations(admin: TestClient, duration: str) -> None:
    _error(admin.post("/api/v1/tokens", json={"expires_in": duration}), 422, "INVALID_INPUT", "expires_in")


def test_bodies_json_cannot_parse_are_422(admin: TestClient) -> None:
    headers = {"Content-Type": "application/json"}
    _error(admin.post("/api/v1/users", content=b'{"name":"\xff"}', headers=headers), 422, "MALFORMED_JSON")
    _error(admin.post("/api/v1/users", content=b"[" * 100_000, headers=headers), 422, "MALFORMED_JSON")
    error = _error(admin.post("/api/v1/users"), 422, "MISSING_FIELD")
    assert error["message"] == "a JSON request body is required"


def test_duplicate_host_headers_and_nul_bytes(admin: TestClient) -> None:
    r = admin.get("/api/v1/workspaces", headers=[("Host", "evil.example:666"), ("Host", "127.0.0.1")])
    _error(r, 400, "BAD_HOST")
    _error(admin.get("/api/v1/audit", params={"action": "a\x00b"}), 400, "BAD_REQUEST")
    _error(admin.get("/api/v1/workspaces/a%00b"), 400, "BAD_REQUEST")


def test_errors_before_routing_keep_the_mlflow_shape_on_mlflow_paths(admin: TestClient) -> None:
    """The stock client parses {"error_code", "message"}; the guard answers MLflow paths in that shape."""
    nul = admin.get("/api/2.0/mlflow/experiments/get-by-name?experiment_name=a%00b")
    assert nul.status_code == 400 and nul.json()["error_code"] == "BAD_REQUEST", nul.text
    big = admin.post(
        "/api/2.0/mlflow/experiments/create",
        content=b'{"name": "' + b"x" * (1024 * 1024) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert big.status_code == 413 and big.json()["error_code"] == "INVALID_PARAMETER_VALUE", big.text
    assert admin.get("/api/v1/workspaces/a%00b").json()["error"]["code"] == "BAD_REQUEST"


def test_one_not_found_code_per_route_family(admin: TestClient) -> None:
    """``NOT_FOUND`` on /api/v1 and ``RESOURCE_DOES_NOT_EXIST`` on MLflow routes, for the same missing run."""
    missing = "0" * 32
    v1 = admin.get(f"/api/v1/workspaces/default/jobs/{missing}")
    assert (v1.status_code, v1.json()["error"]["code"]) == (404, "NOT_FOUND")
    mlflow = admin.get("/api/2.0/mlflow/runs/get", params={"run_id": missing})
    assert (mlflow.status_code, mlflow.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    model = admin.get("/api/v1/workspaces/default/models/nothing/versions/latest")
    assert (model.status_code, model.json()["error"]["code"]) == (404, "NOT_FOUND")
