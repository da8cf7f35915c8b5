"""Hostile bodies and query strings get the route family's usual refusal, never a 5xx: MLflow routes
400 ``INVALID_PARAMETER_VALUE`` (413/414/415 where those apply), ``/api/v1`` 422 ``MALFORMED_JSON``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.types import Message

from stratus.parsing import MAX_DEPTH
from stratus.server.middleware import MAX_QUERY_BYTES, RequestGuardMiddleware
from stratus.server.origins import OriginPolicy

JSON = {"Content-Type": "application/json"}
MLFLOW_WRITES = [
    "/api/2.0/mlflow/experiments/create",
    "/api/2.0/mlflow/runs/log-batch",
    "/api/2.0/mlflow/runs/search",
    "/workspaces/default/api/2.0/mlflow/registered-models/create",
    "/ajax-api/2.0/mlflow/runs/create",
    "/api/2.0/mlflow-artifacts/mpu/create/0/run/artifacts",
    "/api/2.0/mlflow-artifacts/mpu/complete/0/run/artifacts",
]
V1_WRITES = [
    ("POST", "/api/v1/workspaces"),
    ("PATCH", "/api/v1/workspaces/default"),
    ("POST", "/api/v1/users"),
    ("POST", "/api/v1/tokens"),
    ("POST", "/api/v1/workspaces/default/role-assignments"),
    ("POST", "/api/v1/workspaces/default/models/m1/versions"),
    ("POST", "/api/v1/workspaces/default/gc"),
    ("PUT", "/api/v1/workspaces/default/secrets/S1"),
    ("PUT", "/api/v1/workspaces/default/datastores/store1"),
    ("POST", "/api/v1/workspaces/default/data/d1/versions"),
    ("PATCH", "/api/v1/workspaces/default/data/d1/versions/1"),
    ("POST", "/api/v1/workspaces/default/environments/e1/versions"),
]


def _deep(depth: int, opener: bytes = b"[") -> bytes:
    """A JSON object whose ``tags`` nest ``depth`` lists (or objects) deep."""
    inner = b"[" * depth + b"]" * depth if opener == b"[" else b'{"a":' * depth + b"1" + b"}" * depth
    return b'{"name": "x", "experiment_id": "0", "tags": ' + inner + b"}"


def _mlflow_refusal(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE", body
    return body


def _v1_refusal(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_100, 5_000, 100_000])
@pytest.mark.parametrize("opener", [b"[", b"{"])
def test_deeply_nested_json_on_mlflow_routes_is_400(admin: TestClient, depth: int, opener: bytes) -> None:
    """Past orjson's 1024 levels the ``json`` fallback raised RecursionError: a 500."""
    for path in MLFLOW_WRITES:
        body = _mlflow_refusal(admin.post(path, content=_deep(depth, opener), headers=JSON))
        assert "nested deeper than" in body["message"], (path, body)
    assert (
        admin.get("/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "x"}).status_code
        == 404
    )


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_100, 100_000])
def test_deeply_nested_json_on_api_v1_routes_is_422(admin: TestClient, depth: int) -> None:
    for method, path in V1_WRITES:
        response = admin.request(method, path, content=_deep(depth), headers=JSON)
        error = _v1_refusal(response, 422, "MALFORMED_JSON")
        assert "nested deeper than" in error["message"], (path, error)
    names = [w["name"] for w in admin.get("/api/v1/workspaces").json()["value"]]
    assert names == ["default"]


def test_json_within_the_bound_still_works(admin: TestClient) -> None:
    tags = {"k": "v"}
    created = admin.post("/api/v1/workspaces", json={"name": "fine", "tags": tags})
    assert created.status_code == 201, created.text
    nested = admin.post(
        "/api/2.0/mlflow/experiments/create",
        content=json.dumps({"name": "e", "tags": [{"key": "k", "value": "v"}], "x": [[[[1]]]]}),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert nested.status_code == 200, nested.text


BODY_TYPES = [
    "text/plain",
    "text/plain;charset=UTF-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "application/jsonx",
    "text/json",
]


@pytest.mark.parametrize("content_type", [*BODY_TYPES, None])
def test_json_routes_refuse_other_media_types_with_415(admin: TestClient, content_type: str | None) -> None:
    """The browser "simple request" trick: a cross-site form or fetch sends text/plain without a preflight."""
    body = json.dumps({"name": "simple-request", "experiment_id": "0"}).encode()
    headers = {} if content_type is None else {"Content-Type": content_type}
    for path in MLFLOW_WRITES:
        response = admin.post(path, content=body, headers=headers)
        refusal = _mlflow_refusal(response, 415)
        assert "Content-Type: application/json" in refusal["message"]
    for method, path in V1_WRITES:
        error = _v1_refusal(
            admin.request(method, path, content=body, headers=headers), 415, "UNSUPPORTED_MEDIA_TYPE"
        )
        assert error["field"] == "Content-Type"
    assert [w["name"] for w in admin.get("/api/v1/workspaces").json()["value"]] == ["default"]
    search = admin.post("/api/2.0/mlflow/experiments/search", json={"filter": "name = 'simple-request'"})
    assert search.json().get("experiments", []) == []


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/merge-patch+json",
    ],
)
def test_json_media_types_are_accepted(admin: TestClient, content_type: str) -> None:
    body = json.dumps({"name": "typed"}).encode()
    assert (
        admin.post("/api/v1/workspaces", content=body, headers={"Content-Type": content_type}).status_code
        == 201
    )
    admin.delete("/api/v1/workspaces/typed")
    made = admin.post(
        "/api/2.0/mlflow/experiments/create", content=body, headers={"Content-Type": content_type}
    )
    assert made.status_code == 200, made.text
    admin.post("/api/2.0/mlflow/experiments/delete", json={"experiment_id": made.json()["experiment_id"]})


def test_bodiless_writes_need_no_media_type(admin: TestClient) -> None:
    """The stock client sends GETs with query parameters and no body; an empty body is no JSON to type."""
    assert admin.post("/api/2.0/mlflow/experiments/create?name=from-query").status_code == 200
    assert (
        admin.get(
            "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "from-query"}
        ).status_code
        == 200
    )


JSON_BODIES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "experiment_id",
                    "run_id",
                    "tags",
                    "metrics",
                    "params",
                    "key",
                    "value",
                    "path",
                    "parts",
                    "num_parts",
                    "upload_id",
                    "filter",
                    "max_results",
                    "page_token",
                    "description",
                    "type",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@given(
    st.sampled_from(MLFLOW_WRITES + [p for _, p in V1_WRITES]),
    JSON_BODIES | st.binary(max_size=64),  # JSON values, or raw bytes that are rarely JSON at all
)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_fuzzed_json_bodies_never_make_a_5xx(admin: TestClient, path: str, body: Any) -> None:
    method = {p: m for m, p in V1_WRITES}.get(path, "POST")
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = admin.request(method, path, content=content, headers=JSON)
    assert response.status_code < 500, (path, content[:200], response.text[:300])
    assert "Traceback" not in response.text


@given(
    st.sampled_from(
        [
            "/api/2.0/mlflow/experiments/search",
            "/api/2.0/mlflow/runs/get",
            "/api/2.0/mlflow/metrics/get-history",
            "/api/2.0/mlflow/registered-models/search",
            "/api/2.0/mlflow-artifacts/artifacts",
            "/api/v1/workspaces",
            "/api/v1/audit",
            "/api/v1/workspaces/default/data",
        ]
    ),
    st.lists(st.tuples(st.text(max_size=12), st.text(max_size=40)), max_size=6),
)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_fuzzed_query_strings_never_make_a_5xx(
    admin: TestClient, path: str, query: list[tuple[str, str]]
) -> None:
    response = admin.get(path, params=query)
    assert response.status_code < 500, (path, query, response.text[:300])


MPU_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "path": st.text(max_size=20) | st.integers() | st.none(),
        "num_parts": st.integers(min_value=-5, max_value=20_000) | st.text(max_size=5) | st.none(),
        "upload_id": st.text(max_size=60) | st.integers(),
        "parts": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "part_number": st.integers(-2, 10_001) | st.text(max_size=4),
                    "etag": st.text(max_size=70) | st.none(),
                },
            ),
            max_size=4,
        )
        | st.text(max_size=5),
    },
)


@given(st.sampled_from(["create", "complete", "abort"]), MPU_FIELDS)
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_fuzzed_multipart_fields_never_make_a_5xx(
    admin: TestClient, verb: str, fields: dict[str, Any]
) -> None:
    response = admin.post(f"/api/2.0/mlflow-artifacts/mpu/{verb}/0/run/artifacts", json=fields)
    assert response.status_code < 500, (verb, fields, response.text[:300])


@given(
    st.dictionaries(
        st.sampled_from(["upload_id", "part_number", "expires", "signature", "x"]),
        st.text(max_size=70),
        max_size=5,
    )
)
@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_fuzzed_part_url_queries_never_make_a_5xx(api: TestClient, query: dict[str, str]) -> None:
    response = api.put(
        "/workspaces/default/api/2.0/mlflow-artifacts/mpu/part/0/run/artifacts/f.bin",
        params=query,
        content=b"part",
    )
    assert response.status_code < 500, (query, response.text[:300])
    assert response.status_code in (400, 401, 403, 404, 413), response.text


async def _guarded(scope_extra: dict[str, Any]) -> list[Message]:
    """Drive the request guard alone with a hand-made ASGI scope (clients cannot send every URL)."""
    reached: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(True)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    policy = OriginPolicy(frozenset({"127.0.0.1"}), 8765, frozenset())
    guard = RequestGuardMiddleware(app, allowed_hosts=["127.0.0.1"], origins=policy)
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/workspaces",
        "raw_path": b"/api/v1/workspaces",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8765")],
        **scope_extra,
    }
    await guard(scope, receive, send)
    return sent


@pytest.mark.parametrize("size", [MAX_QUERY_BYTES + 1, 10 * MAX_QUERY_BYTES])
def test_query_strings_past_the_bound_are_414(size: int) -> None:
    sent = asyncio.run(_guarded({"query_string": b"a=" + b"x" * size}))
    assert sent[0]["status"] == 414
    assert json.loads(sent[1]["body"])["error"]["code"] == "URI_TOO_LONG"
    mlflow_path = {"path": "/api/2.0/mlflow/runs/get", "query_string": b"run_id=" + b"x" * size}
    mlflow = asyncio.run(_guarded(mlflow_path))
    assert mlflow[0]["status"] == 414
    assert json.loads(mlflow[1]["body"])["error_code"] == "INVALID_PARAMETER_VALUE"
    fine = asyncio.run(_guarded({"query_string": b"a=" + b"x" * (MAX_QUERY_BYTES - 2)}))
    assert fine[0]["status"] == 204
