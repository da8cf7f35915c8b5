"""The route memo serves a repeated request by the route the router chose for it, never another one, and
never around the choke point."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from plugins.services import free_port
from plugins.stratus_server import bearer
from stratus.config import Settings
from stratus.server.app import create_app
from stratus.server.authz import SecuredRoute
from stratus.server.routing import RouteMemo
from stratus.server.state import bootstrap

LOG_METRIC = "/api/2.0/mlflow/runs/log-metric"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, FastAPI, str]]:
    port = free_port()
    state = bootstrap(Settings(home=tmp_path / "home", port=port))
    app = create_app(state)
    try:
        with TestClient(app, base_url=f"http://127.0.0.1:{port}") as c:
            assert state.new_admin_token
            c.headers.update(bearer(state.new_admin_token))
            yield c, app, state.new_admin_token
    finally:
        state.close()


def memo_of(app: FastAPI) -> RouteMemo:
    memo = app.router.middleware_stack
    assert isinstance(memo, RouteMemo)
    return memo


def remembered(app: FastAPI, method: str, path: str) -> APIRoute | None:
    return memo_of(app).routes.get((method, "", path))


Served = tuple[TestClient, FastAPI, str]


def test_a_repeated_request_is_served_by_the_remembered_route(served: Served) -> None:
    c, app, _ = served
    created = c.post("/api/2.0/mlflow/runs/create", json={"experiment_id": "0"})
    run_id = created.json()["run"]["info"]["run_id"]
    for step in range(3):
        point = {"run_id": run_id, "key": "loss", "value": 1.0 / (step + 1), "timestamp": 1, "step": step}
        assert c.post(LOG_METRIC, json=point).status_code == 200
    route = remembered(app, "POST", LOG_METRIC)
    assert isinstance(route, SecuredRoute) and route.path == LOG_METRIC
    assert route in app.routes  # the very route of the table the route-walking tests check
    history = c.get("/api/2.0/mlflow/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"})
    assert [p["step"] for p in history.json()["metrics"]] == [0, 1, 2]


def test_a_remembered_route_still_requires_a_token(served: Served) -> None:
    c, app, _ = served
    assert c.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": "0"}).status_code == 200
    assert remembered(app, "GET", "/api/2.0/mlflow/experiments/get") is not None
    anonymous = c.get(
        "/api/2.0/mlflow/experiments/get", params={"experiment_id": "0"}, headers={"Authorization": ""}
    )
    assert anonymous.status_code == 401, anonymous.text
    wrong = c.get(
        "/api/2.0/mlflow/experiments/get", params={"experiment_id": "0"}, headers=bearer("not-a-token")
    )
    assert wrong.status_code == 401, wrong.text


def test_path_parameters_come_from_each_request(served: Served) -> None:
    c, _app, _ = served
    assert c.post("/api/v1/workspaces", json={"name": "other"}).status_code in (200, 201)
    for name in ("default", "other", "default", "other"):
        path = f"/workspaces/{name}/api/2.0/mlflow/experiments/search"
        answer = c.post(path, json={"max_results": 10})
        assert answer.status_code == 200, answer.text
        names = {e["name"] for e in answer.json().get("experiments", [])}
        assert names == {"Default"}
    # the workspace came from the URL each time: an experiment made in one is not seen in the other
    made = c.post("/workspaces/other/api/2.0/mlflow/experiments/create", json={"name": "only-in-other"})
    assert made.status_code == 200, made.text
    default = c.post("/workspaces/default/api/2.0/mlflow/experiments/search", json={"max_results": 10})
    other = c.post("/workspaces/other/api/2.0/mlflow/experiments/search", json={"max_results": 10})
    assert "only-in-other" not in {e["name"] for e in default.json()["experiments"]}
    assert "only-in-other" in {e["name"] for e in other.json()["experiments"]}


def test_a_wrong_method_is_never_remembered(served: Served) -> None:
    c, app, _ = served
    answers = {c.get(LOG_METRIC).status_code for _ in range(2)}
    assert answers <= {404, 405} and len(answers) == 1  # a POST route's path matched only in part
    assert remembered(app, "GET", LOG_METRIC) is None
    assert c.get("/no/such/route").status_code == 404
    assert remembered(app, "GET", "/no/such/route") is None


def test_the_memo_keeps_at_most_its_size(served: Served) -> None:
    c, app, _ = served
    memo = memo_of(app)
    memo.size = 3
    paths = [f"/api/v1/workspaces/default/datastores/d{index}" for index in range(6)]
    for path in paths:
        assert c.get(path).status_code == 404  # a real route's 404: remembered all the same
    assert [key[2] for key in memo.routes] == paths[3:]
