"""The model registry with the stock client: register while logging, alias, load by alias; safe sources."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from plugins.stratus_server import LiveServer, start_server

SCRIPT = """
import mlflow, numpy as np
from mlflow import MlflowClient
from sklearn.linear_model import LinearRegression
X = np.arange(10, dtype=float).reshape(-1, 1)
# Requirements given, not inferred: inferring them loads the model in a subprocess (~20 s), MLflow's own
# feature and not what this test is about.
PINNED = {"pip_requirements": ["scikit-learn"]}
mlflow.set_experiment("registry")
with mlflow.start_run():
    mlflow.sklearn.log_model(
        LinearRegression().fit(X, 2 * X[:, 0]), name="model", registered_model_name="m", **PINNED
    )
with mlflow.start_run():
    mlflow.sklearn.log_model(
        LinearRegression().fit(X, 5 * X[:, 0]), name="model", registered_model_name="m", **PINNED
    )
client = MlflowClient()
client.set_registered_model_alias("m", "champion", "1")
champion = mlflow.pyfunc.load_model("models:/m@champion")
second = mlflow.pyfunc.load_model("models:/m/2")
print(float(champion.predict(np.array([[3.0]]))[0]), float(second.predict(np.array([[3.0]]))[0]))
print(client.get_model_version_by_alias("m", "champion").version)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("mlflow-registry") / "home")
    yield live
    live.stop()


def test_register_alias_and_load(server: LiveServer, tmp_path) -> None:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"{server.url}/workspaces/default",
        "MLFLOW_TRACKING_TOKEN": server.admin_token,
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-4000:]
    predictions, version = result.stdout.strip().splitlines()[-2:]
    assert [float(v) for v in predictions.split()] == pytest.approx([6.0, 15.0])
    assert version == "1"


@pytest.mark.parametrize(
    "source",
    [
        "/etc/passwd",
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data",
        "s3://someone-elses-bucket/model",
        "mlflow-artifacts:/../../etc",
        "mlflow-artifacts:/0/x?y=1",
        "mlflow-artifacts:/0/x#frag",
        "models:/m-doesnotexist",
        "runs:/0123456789abcdef0123456789abcdef/model",
        "runs:/../model",
    ],
)
def test_unsafe_or_foreign_sources_are_refused(server: LiveServer, source: str) -> None:
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    base = f"{server.url}/api/2.0/mlflow"
    httpx.post(f"{base}/registered-models/create", json={"name": "guarded"}, headers=headers)
    response = httpx.post(
        f"{base}/model-versions/create", json={"name": "guarded", "source": source}, headers=headers
    )
    assert response.status_code in (400, 404), (source, response.text)
    assert response.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")


def test_registry_errors(server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    base = f"{server.url}/api/2.0/mlflow"
    assert (
        httpx.post(f"{base}/registered-models/create", json={"name": "dup"}, headers=headers).status_code
        == 200
    )
    again = httpx.post(f"{base}/registered-models/create", json={"name": "dup"}, headers=headers)
    assert again.status_code == 400 and again.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    missing = httpx.get(f"{base}/registered-models/get", params={"name": "nope"}, headers=headers)
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    no_alias = httpx.get(
        f"{base}/registered-models/alias", params={"name": "dup", "alias": "x"}, headers=headers
    )
    assert no_alias.status_code == 400
    version = httpx.post(
        f"{base}/model-versions/create",
        json={"name": "dup", "source": "mlflow-artifacts:/0/some/model"},
        headers=headers,
    ).json()["model_version"]
    assert version["version"] == "1" and version["source"] == "mlflow-artifacts:/0/some/model"
    uri = httpx.get(
        f"{base}/model-versions/get-download-uri", params={"name": "dup", "version": "1"}, headers=headers
    ).json()
    assert uri == {"artifact_uri": "mlflow-artifacts:/0/some/model"}
    bad_alias = httpx.post(
        f"{base}/registered-models/alias",
        json={"name": "dup", "alias": "v1", "version": "1"},
        headers=headers,
    )
    assert bad_alias.status_code == 400


def test_registry_management_with_the_client(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server.admin_token)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    client = MlflowClient(tracking_uri=f"{server.url}/workspaces/default")
    for name in ("fraud-a", "fraud-b", "churn"):
        client.create_registered_model(name, tags={"team": "risk" if name.startswith("fraud") else "growth"})
        for _ in range(2):
            client.create_model_version(name, source=f"mlflow-artifacts:/0/{name}/model")
    names = lambda models: [m.name for m in models]  # noqa: E731
    assert names(client.search_registered_models("name LIKE 'fraud%'")) == ["fraud-a", "fraud-b"]
    assert names(client.search_registered_models("tags.team = 'growth'")) == ["churn"]
    with pytest.warns(FutureWarning, match="deprecated"):  # the client's own deprecation of stages
        assert [v.version for v in client.get_latest_versions("churn")] == ["2"]
    versions = client.search_model_versions("name = 'fraud-a'")
    assert sorted(v.version for v in versions) == ["1", "2"]
    assert [v.version for v in client.search_model_versions("name = 'churn' AND version_number > 1")] == ["2"]
    client.update_registered_model("churn", description="who leaves")
    client.set_registered_model_tag("churn", "owner", "dana")
    client.delete_registered_model_tag("churn", "team")
    model = client.get_registered_model("churn")
    assert (model.description, model.tags) == ("who leaves", {"owner": "dana"})
    client.update_model_version("churn", "1", description="first")
    client.set_model_version_tag("churn", "1", "validated", "yes")
    version = client.get_model_version("churn", "1")
    assert (version.description, version.tags) == ("first", {"validated": "yes"})
    client.delete_model_version_tag("churn", "1", "validated")
    client.rename_registered_model("churn", "attrition")
    assert client.get_model_version("attrition", "2").version == "2"
    client.set_registered_model_alias("attrition", "prod", "2")
    client.delete_model_version("attrition", "2")
    assert client.get_registered_model("attrition").aliases == {}
    client.delete_registered_model("attrition")
    assert "attrition" not in names(client.search_registered_models())


def test_source_under_the_workspace_store_uri_is_accepted(server: LiveServer) -> None:
    """A source spelled as the workspace's own artifact-store URI maps to mlflow-artifacts:/; a sibling
    workspace's folder or a traversal out of it does not."""
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    base = f"{server.url}/api/2.0/mlflow"
    httpx.post(f"{base}/registered-models/create", json={"name": "by-uri"}, headers=headers)
    root = (server.home / "workspaces").resolve().as_uri()
    created = httpx.post(
        f"{base}/model-versions/create",
        json={"name": "by-uri", "source": f"{root}/default/registry/abc/model"},
        headers=headers,
    )
    assert created.status_code == 200, created.text
    assert created.json()["model_version"]["source"] == "mlflow-artifacts:/registry/abc/model"
    for source in (f"{root}/other-ws/model", f"{root}/default/../other-ws/model", f"{root}/default/%2e%2e/x"):
        refused = httpx.post(
            f"{base}/model-versions/create", json={"name": "by-uri", "source": source}, headers=headers
        )
        assert refused.status_code == 400, (source, refused.text)
