"""Every MLflow route answers malformed input with a 4xx in MLflow's error shape, never a 500."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.routing import APIRoute

from plugins.stratus_server import LiveServer, start_server
from stratus.server.app import api_routes

WEIRD_VALUES = [None, "", "x", -1, 10**30, 1.5, True, [], ["a"], {}, {"k": "v"}, "../../etc", "\u202e", "NaN"]
FIELDS = [
    "experiment_id",
    "experiment_ids",
    "name",
    "new_name",
    "run_id",
    "key",
    "value",
    "metrics",
    "params",
    "tags",
    "filter",
    "max_results",
    "order_by",
    "page_token",
    "status",
    "version",
    "source",
    "alias",
    "models",
    "start_time",
    "end_time",
    "timestamp",
    "step",
    "metric_key",
    "view_type",
    "run_view_type",
    "artifact_location",
    "description",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("mlflow-bad-input") / "home")
    yield live
    live.stop()


def _mlflow_routes() -> list[tuple[str, str]]:
    import tempfile

    from stratus.config import Settings
    from stratus.server.app import create_app
    from stratus.server.state import bootstrap

    with tempfile.TemporaryDirectory() as home:
        state = bootstrap(Settings(home=home))
        try:
            routes: list[APIRoute] = api_routes(create_app(state))
        finally:
            state.close()
    found = []
    for route in routes:
        if route.path.startswith("/workspaces/{workspace_name}/api/") and "mlflow" in route.path:
            for method in sorted(route.methods or ()):
                found.append((method, route.path))
    return found


def test_no_route_breaks_on_weird_fields(server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    failures: list[str] = []
    calls = 0
    combos = itertools.cycle(itertools.product(FIELDS, WEIRD_VALUES))
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        for method, path in _mlflow_routes():
            url = re.sub(r"\{workspace_name\}", "default", path)
            url = re.sub(r"\{[^}]+\}", "m-0123", url)
            for _ in range(40):
                field, value = next(combos)
                other_field, other_value = next(combos)
                body = {field: value, other_field: other_value}
                if method == "GET":
                    params = {k: str(v) for k, v in body.items() if v is not None}
                    response = client.request(method, url, params=params)
                elif method == "PUT":
                    response = client.request(method, url, content=str(body).encode())
                else:
                    response = client.request(method, url, json=body)
                calls += 1
                if response.status_code >= 500 or "Traceback" in response.text:
                    failures.append(
                        f"{method} {url} {body!r} -> {response.status_code} {response.text[:200]}"
                    )
                elif (
                    response.status_code >= 400 and response.headers.get("content-type") == "application/json"
                ):
                    assert "error_code" in response.json(), (method, url, response.text)
    assert calls > 1000
    assert failures == [], "\n".join(failures[:20])


def test_out_of_range_numbers_on_a_real_run(server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    base = f"{server.url}/api/2.0/mlflow"
    run_id = httpx.post(f"{base}/runs/create", json={"experiment_id": "0"}, headers=headers).json()["run"][
        "info"
    ]["run_id"]
    for field in ("timestamp", "step"):
        for value in (10**30, -(10**30), 2**63):
            body = {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": 0, field: value}
            response = httpx.post(f"{base}/runs/log-metric", json=body, headers=headers)
            assert response.status_code == 400, (field, value, response.text)
    for field, value in (("start_time", 10**30), ("end_time", 10**30)):
        path = "runs/create" if field == "start_time" else "runs/update"
        body = {"experiment_id": "0", "run_id": run_id, field: value}
        assert httpx.post(f"{base}/{path}", json=body, headers=headers).status_code == 400, field
    raw = '{"run_id": "' + run_id + '", "key": "m", "value": 1e400, "timestamp": 1}'
    huge = httpx.post(
        f"{base}/runs/log-metric", content=raw, headers={**headers, "Content-Type": "application/json"}
    )
    assert huge.status_code in (200, 400), huge.text
