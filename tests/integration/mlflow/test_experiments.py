"""The stock mlflow client against a real Stratus server: experiments."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException, RestException

from plugins.stratus_server import LiveServer, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("mlflow") / "home")
    headers = {"Authorization": f"Bearer {live.admin_token}"}
    for name in ("team-a", "team-b"):
        assert (
            httpx.post(f"{live.url}/api/v1/workspaces", json={"name": name}, headers=headers).status_code
            == 201
        )
    yield live
    live.stop()


@pytest.fixture
def client(server: LiveServer, monkeypatch: pytest.MonkeyPatch):
    """An MlflowClient on workspace team-a; the token travels as MLflow sends it."""
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server.admin_token)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    return MlflowClient(tracking_uri=f"{server.url}/workspaces/team-a")


def test_default_experiment_exists_in_every_workspace(server: LiveServer, client: MlflowClient) -> None:
    default = client.get_experiment("0")
    assert (default.name, default.lifecycle_stage) == ("Default", "active")
    assert client.get_experiment_by_name("Default").experiment_id == "0"
    with pytest.raises(MlflowException, match="cannot be deleted"):
        client.delete_experiment("0")


def test_create_get_and_ids_per_workspace(server: LiveServer, client: MlflowClient, monkeypatch) -> None:
    exp_id = client.create_experiment("churn", tags={"team": "a"})
    assert exp_id == "1"
    experiment = client.get_experiment(exp_id)
    assert experiment.name == "churn" and experiment.tags == {"team": "a"}
    assert experiment.artifact_location == "mlflow-artifacts:/1"
    other = MlflowClient(tracking_uri=f"{server.url}/workspaces/team-b")
    assert other.create_experiment("churn") == "1", "experiment ids are allocated per workspace"
    assert other.get_experiment_by_name("churn").experiment_id == "1"
    with pytest.raises(RestException) as info:
        client.create_experiment("churn")
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"
    assert client.get_experiment_by_name("nope") is None  # MLflow answers 404 and the client returns None
    with pytest.raises(RestException) as info:
        client.get_experiment("999")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_rename_tags_delete_restore(client: MlflowClient) -> None:
    exp_id = client.create_experiment("to-rename")
    client.rename_experiment(exp_id, "renamed")
    client.set_experiment_tag(exp_id, "owner", "carol")
    client.set_experiment_tag(exp_id, "owner", "dave")
    client.set_experiment_tag(exp_id, "stage", "dev")
    client.delete_experiment_tag(exp_id, "stage")
    experiment = client.get_experiment(exp_id)
    assert (experiment.name, experiment.tags) == ("renamed", {"owner": "dave"})
    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    with pytest.raises(RestException) as info:
        client.create_experiment("renamed")
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"
    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "active"


def test_search_filter_order_and_pages(client: MlflowClient) -> None:
    for i in range(7):
        client.create_experiment(f"search-{i}", tags={"parity": "even" if i % 2 == 0 else "odd"})
    names = lambda experiments: [e.name for e in experiments]  # noqa: E731
    found = client.search_experiments(
        filter_string="name LIKE 'search-%' AND tags.parity = 'odd'", order_by=["name"]
    )
    assert names(found) == ["search-1", "search-3", "search-5"]
    found = client.search_experiments(filter_string="name ILIKE 'SEARCH-%'", order_by=["name DESC"])
    assert names(found)[:2] == ["search-6", "search-5"]
    pages, token = [], None
    while True:
        page = client.search_experiments(
            filter_string="name LIKE 'search-%'", order_by=["name ASC"], max_results=3, page_token=token
        )
        pages.append(names(page))
        token = page.token
        if not token:
            break
    assert pages == [["search-0", "search-1", "search-2"], ["search-3", "search-4", "search-5"], ["search-6"]]
    deleted = client.create_experiment("search-deleted")
    client.delete_experiment(deleted)
    assert "search-deleted" not in names(client.search_experiments(filter_string="name LIKE 'search-%'"))
    only_deleted = client.search_experiments(
        view_type=ViewType.DELETED_ONLY, filter_string="name LIKE 'search-%'"
    )
    assert names(only_deleted) == ["search-deleted"]
    recent = client.search_experiments(filter_string="creation_time > 0 AND name = 'search-0'")
    assert names(recent) == ["search-0"]
    with pytest.raises(MlflowException):
        client.search_experiments(filter_string="metrics.x > 1")
    with pytest.raises(MlflowException):
        client.search_experiments(order_by=["nonsense"])


def test_fluent_api_and_tracking_uri_without_prefix(server: LiveServer) -> None:
    """`mlflow.set_experiment` through the default workspace alias (no /workspaces/ prefix)."""
    code = (
        "import mlflow\n"
        f"mlflow.set_tracking_uri({server.url!r})\n"
        "exp = mlflow.set_experiment('fluent')\n"
        "again = mlflow.set_experiment('fluent')\n"
        "assert exp.experiment_id == again.experiment_id, (exp, again)\n"
        "print(exp.experiment_id)\n"
    )
    env = {**os.environ, "MLFLOW_TRACKING_TOKEN": server.admin_token}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    body = httpx.get(
        f"{server.url}/workspaces/default/api/2.0/mlflow/experiments/get-by-name",
        params={"experiment_name": "fluent"},
        headers=headers,
    ).json()
    assert body["experiment"]["experiment_id"] == result.stdout.strip()


def test_errors_in_mlflow_shape(server: LiveServer) -> None:
    base = f"{server.url}/workspaces/team-a/api/2.0/mlflow"
    anonymous = httpx.get(f"{base}/experiments/get", params={"experiment_id": "0"})
    assert anonymous.status_code == 401 and anonymous.json()["error_code"] == "UNAUTHENTICATED"
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    missing = httpx.get(f"{base}/experiments/get", headers=headers)
    assert missing.status_code == 400 and missing.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    unknown = httpx.post(f"{base}/experiments/create", json={"name": "x1", "surprise": 1}, headers=headers)
    assert unknown.status_code == 200, "MLflow ignores unknown fields"
    wrong_ws = httpx.get(
        f"{base}/experiments/get",
        params={"experiment_id": "0"},
        headers={**headers, "X-MLFLOW-WORKSPACE": "team-b"},
    )
    assert wrong_ws.status_code == 400
    nowhere = httpx.get(
        f"{server.url}/workspaces/nope/api/2.0/mlflow/experiments/get?experiment_id=0", headers=headers
    )
    assert nowhere.status_code == 404 and nowhere.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    no_such = httpx.get(f"{base}/experiments/frobnicate", headers=headers)
    assert no_such.status_code == 404 and no_such.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    for location in (
        "file:///etc",
        "/etc/passwd",
        "s3://elsewhere/x",
        "mlflow-artifacts:/../../etc",
        "http://169.254.169.254/",
    ):
        r = httpx.post(
            f"{base}/experiments/create",
            json={"name": f"loc-{location}", "artifact_location": location},
            headers=headers,
        )
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", location


def test_reader_cannot_create(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    httpx.post(f"{server.url}/api/v1/users", json={"name": "mlflow-reader"}, headers=headers)
    httpx.post(
        f"{server.url}/api/v1/workspaces/team-a/role-assignments",
        json={"user": "mlflow-reader", "role": "Reader"},
        headers=headers,
    )
    token = httpx.post(
        f"{server.url}/api/v1/tokens", json={"user": "mlflow-reader", "expires_in": "1h"}, headers=headers
    ).json()["token"]
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    reader = MlflowClient(tracking_uri=f"{server.url}/workspaces/team-a")
    assert reader.get_experiment("0").name == "Default"
    with pytest.raises(RestException) as info:
        reader.create_experiment("not-allowed")
    assert info.value.error_code == "PERMISSION_DENIED"


def test_server_info(server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    for prefix in ("/workspaces/team-a", ""):
        for tree in ("api", "ajax-api"):
            info = httpx.get(f"{server.url}{prefix}/{tree}/3.0/mlflow/server-info", headers=headers)
            assert info.status_code == 200 and info.json()["workspaces_enabled"] is False
    assert httpx.get(f"{server.url}/api/3.0/mlflow/server-info").status_code == 401
