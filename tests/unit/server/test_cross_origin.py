"""Writes from a foreign browser origin are refused on every route family, whatever credentials they carry
(as MLflow's server does since 3.5, after CVE-2025-14279); reads and non-browser clients are unaffected."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plugins.services import free_port
from plugins.stratus_server import bearer
from stratus.config import Settings
from stratus.server.app import create_app
from stratus.server.origins import OriginPolicy, normalise_origin
from stratus.server.state import bootstrap

LISTED = "https://studio.example.com"
FOREIGN = [
    "http://evil.example",
    "https://studio.example.com:8443",
    "http://127.0.0.1:1",
    "null",
    "file://",
    "ftp://127.0.0.1",
]


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, str, int]]:
    monkeypatch.setenv("STRATUS_ALLOWED_ORIGINS", f"{LISTED}/, http://tools.example:9000")
    port = free_port()
    state = bootstrap(Settings(home=tmp_path / "home", port=port))
    try:
        with TestClient(create_app(state), base_url=f"http://127.0.0.1:{port}") as c:
            assert state.new_admin_token
            c.headers.update(bearer(state.new_admin_token))
            yield c, state.new_admin_token, port
    finally:
        state.close()


def _refused(response: Any) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    message = (
        body["error"]["message"] if "error" in body and isinstance(body["error"], dict) else body["message"]
    )
    assert "cross-origin request refused" in message, body


def _families(c: TestClient) -> dict[str, Callable[[dict[str, str]], Any]]:
    """One write of each route family; each returns its response."""
    run = c.post("/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}).json()["run"]["info"]
    artifact = f"/api/2.0/mlflow-artifacts/artifacts/0/{run['run_id']}/artifacts/a.txt"
    created = c.post(
        f"/api/2.0/mlflow-artifacts/mpu/create/0/{run['run_id']}/artifacts",
        json={"path": "big.bin", "num_parts": 1},
    ).json()
    part_url = created["credentials"][0]["url"].replace(str(c.base_url), "")
    counter = iter(range(1000))
    return {
        "mlflow": lambda h: c.post(
            "/api/2.0/mlflow/experiments/create", json={"name": f"e{next(counter)}"}, headers=h
        ),
        "mlflow (workspace prefix)": lambda h: c.post(
            "/workspaces/default/api/2.0/mlflow/runs/log-metric",
            json={"run_id": run["run_id"], "key": "m", "value": 1, "timestamp": 1, "step": 0},
            headers=h,
        ),
        "mlflow ajax-api": lambda h: c.post(
            "/ajax-api/2.0/mlflow/runs/set-tag",
            json={"run_id": run["run_id"], "key": "k", "value": "v"},
            headers=h,
        ),
        "mlflow logged models": lambda h: c.post(
            "/api/2.0/mlflow/logged-models", json={"experiment_id": "0"}, headers=h
        ),
        "artifact PUT": lambda h: c.put(artifact, content=b"data", headers=h),
        "artifact DELETE": lambda h: c.delete(artifact, headers=h),
        "multipart part (signed URL)": lambda h: c.put(
            part_url, content=b"part", headers={**h, "Authorization": ""}
        ),
        "api/v1 POST": lambda h: c.post(
            "/api/v1/workspaces", json={"name": f"ws{next(counter):03d}"}, headers=h
        ),
        "api/v1 PATCH": lambda h: c.patch("/api/v1/workspaces/default", json={"description": "d"}, headers=h),
        "api/v1 PUT": lambda h: c.put(
            "/api/v1/workspaces/default/secrets/S1", json={"value": "v"}, headers=h
        ),
        "api/v1 DELETE": lambda h: c.delete("/api/v1/workspaces/default/secrets/S1", headers=h),
        "api/v1 session": lambda h: c.post("/api/v1/session", headers=h),
    }


def test_foreign_origins_are_refused_on_every_route_family_even_with_a_bearer_token(client) -> None:
    c, _, port = client
    for family, write in _families(c).items():
        for origin in FOREIGN:
            _refused(write({"Origin": origin}))
        allowed = write({"Origin": f"http://127.0.0.1:{port}"})
        assert allowed.status_code < 300, (family, allowed.text)
    assert (
        c.get("/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "e0"}).status_code == 404
    )


def test_listed_origins_and_clients_without_an_origin_may_write(client) -> None:
    c, _, _ = client
    families = _families(c)
    for headers in ({"Origin": LISTED}, {"Origin": "HTTP://Tools.Example:9000"}, {}):
        for family, write in families.items():
            response = write(headers)
            assert response.status_code < 300, (family, headers, response.text)


def test_the_origin_the_request_was_sent_to_is_its_own(client) -> None:
    """Same origin is judged against the Host the request came through (an allowed host on our port)."""
    c, _, port = client
    ok = c.post(
        "/api/v1/workspaces",
        json={"name": "via-localhost"},
        headers={"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"},
    )
    assert ok.status_code == 201, ok.text
    _refused(
        c.post(
            "/api/v1/workspaces",
            json={"name": "w-https"},
            headers={"Origin": f"https://127.0.0.1:{port + 1}"},
        )
    )


def test_reads_with_a_foreign_origin_are_served(client) -> None:
    """A cross-origin page cannot read the answer (no CORS headers are sent); the request is harmless."""
    c, _, _ = client
    response = c.get("/api/v1/workspaces", headers={"Origin": "http://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_two_origin_headers_are_refused(client) -> None:
    c, _, port = client
    response = c.post(
        "/api/v1/workspaces",
        json={"name": "twice"},
        headers=[("Origin", f"http://127.0.0.1:{port}"), ("Origin", "http://evil.example")],
    )
    assert response.status_code == 403, response.text


def test_a_session_cookie_with_a_foreign_origin_is_refused_before_its_csrf_check(client) -> None:
    c, _, port = client
    session = c.post("/api/v1/session")
    csrf = session.json()["csrf_token"]
    c.headers.pop("Authorization")
    _refused(
        c.post(
            "/api/v1/workspaces",
            json={"name": "from-cookie"},
            headers={"Origin": "http://evil.example", "X-CSRF-Token": csrf},
        )
    )
    ok = c.post(
        "/api/v1/workspaces",
        json={"name": "from-cookie"},
        headers={"Origin": f"http://127.0.0.1:{port}", "X-CSRF-Token": csrf},
    )
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("http://Example.COM", ("http", "example.com", 80)),
        ("https://example.com:443", ("https", "example.com", 443)),
        ("http://[::1]:8765", ("http", "::1", 8765)),
        ("http://example.com/", ("http", "example.com", 80)),
        ("http://example.com/path", None),
        ("http://user@example.com", None),
        ("http://example.com:99999", None),
        ("null", None),
        ("javascript:alert(1)", None),
        ("", None),
    ],
)
def test_normalise_origin(origin: str, expected: tuple[str, str, int] | None) -> None:
    assert normalise_origin(origin) == expected


def test_policy_from_settings() -> None:
    policy = OriginPolicy.from_settings(
        Settings(port=9000, allowed_origins="https://a.example, bogus, http://b.example:81")
    )
    assert policy.allows("https://a.example", None)
    assert policy.allows("http://b.example:81", None)
    assert not policy.allows("http://b.example", None)
    assert policy.allows("http://127.0.0.1:9000", None) and policy.allows("http://localhost:9000", None)
    assert not policy.allows("http://127.0.0.1:9001", None)
    assert policy.allows("http://10.0.0.5:8080", "10.0.0.5:8080")
