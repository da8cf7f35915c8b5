"""MLflow 3 logged models with the stock client: log_model, load_model, search, tags."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import mlflow
import pytest
from mlflow import MlflowClient

from plugins.stratus_server import LiveServer, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("mlflow-models") / "home")
    yield live
    live.stop()


def test_sklearn_log_model_then_load_it_back(
    server: LiveServer, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The everyday flow, in its own process as a training script runs: fit, log_model, load, predict."""
    script = (
        "import mlflow, numpy as np\n"
        "from sklearn.linear_model import LinearRegression\n"
        "X = np.arange(20, dtype=float).reshape(-1, 1); y = 3 * X[:, 0] + 1\n"
        "mlflow.set_experiment('models')\n"
        "with mlflow.start_run() as run:\n"
        "    fitted = LinearRegression().fit(X, y)\n"
        # Requirements given: inferring them loads the model in a subprocess (~20 s), MLflow's own feature.
        "    info = mlflow.sklearn.log_model(fitted, name='model', input_example=X[:2],\n"
        "                                    pip_requirements=['scikit-learn'])\n"
        "loaded = mlflow.pyfunc.load_model(f'models:/{info.model_id}')\n"
        "print(info.model_id, run.info.run_id, float(loaded.predict(np.array([[10.0]]))[0]))\n"
    )
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"{server.url}/workspaces/default",
        "MLFLOW_TRACKING_TOKEN": server.admin_token,
    }
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-4000:]
    model_id, run_id, prediction = result.stdout.strip().splitlines()[-1].split()
    assert float(prediction) == pytest.approx(31.0)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.setenv(name, env[name])
    client = MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
    model = client.get_logged_model(model_id)
    assert model.status == "READY" and model.source_run_id == run_id and model.name == "model"
    assert model.artifact_location.endswith(f"/models/{model_id}/artifacts")
    found = client.search_logged_models(experiment_ids=[model.experiment_id], filter_string="name = 'model'")
    assert [m.model_id for m in found] == [model_id]
    client.set_logged_model_tags(model_id, {"stage": "candidate"})
    assert client.get_logged_model(model_id).tags["stage"] == "candidate"
    client.delete_logged_model_tag(model_id, "stage")
    assert "stage" not in client.get_logged_model(model_id).tags
    files = {f.path for f in mlflow.artifacts.list_artifacts(artifact_uri=model.artifact_location)}
    assert any(path.endswith("MLmodel") for path in files), files


def test_logged_model_rules(server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    base = f"{server.url}/api/2.0/mlflow/logged-models"
    bad = httpx.post(base, json={"experiment_id": "0", "name": "a/b"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    created = httpx.post(
        base, json={"experiment_id": "0", "name": "m1", "tags": [{"key": "k", "value": "v"}]}, headers=headers
    ).json()["model"]["info"]
    assert created["status"] == "LOGGED_MODEL_PENDING" and created["model_id"].startswith("m-")
    url = f"{base}/{created['model_id']}"
    assert httpx.patch(url, json={"status": "NOPE"}, headers=headers).status_code == 400
    assert (
        httpx.patch(url, json={"status": "LOGGED_MODEL_READY"}, headers=headers).json()["model"]["info"][
            "status"
        ]
        == "LOGGED_MODEL_READY"
    )
    search = httpx.post(
        f"{base}/search", json={"experiment_ids": ["0"], "filter": "status = 'READY'"}, headers=headers
    ).json()
    assert [m["info"]["name"] for m in search["models"]] == ["m1"]
    assert httpx.request("DELETE", url, headers=headers).status_code == 200
    missing = httpx.get(url, headers=headers)
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    # What MLflow answers too: the deleted model under its id, its status unchanged by the delete.
    deleted = httpx.get(url, params={"allow_deleted": "true"}, headers=headers)
    assert deleted.status_code == 200, deleted.text
    info = deleted.json()["model"]["info"]
    assert (info["model_id"], info["name"], info["status"]) == (
        created["model_id"],
        "m1",
        "LOGGED_MODEL_READY",
    )
    assert httpx.post(f"{base}/search", json={"experiment_ids": ["0"]}, headers=headers).json() == {}
