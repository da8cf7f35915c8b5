"""What a user's training script does with the stock client: ``mlflow.sklearn.autolog()`` and
artifacts of a few MB, against a real Stratus server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus

from plugins.stratus_server import LiveServer, start_server

AUTOLOG_SCRIPT = """
import json, mlflow
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor

mlflow.set_experiment("autolog")
mlflow.sklearn.autolog()
X, y = load_diabetes(return_X_y=True, as_frame=True)
with mlflow.start_run() as run:
    model = RandomForestRegressor(n_estimators=12, max_depth=4, random_state=0).fit(X, y)
print(json.dumps({"run_id": run.info.run_id, "predictions": model.predict(X.head(5)).tolist()}))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("mlflow-autolog") / "home")
    yield live
    live.stop()


@pytest.fixture
def client(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    uri = f"{server.url}/workspaces/default"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server.admin_token)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    return MlflowClient(tracking_uri=uri)


def test_sklearn_autolog_logs_params_metrics_and_a_loadable_model(
    server: LiveServer, client: MlflowClient, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"{server.url}/workspaces/default",
        "MLFLOW_TRACKING_TOKEN": server.admin_token,
    }
    result = subprocess.run(
        [sys.executable, "-c", AUTOLOG_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    trained = json.loads(result.stdout.strip().splitlines()[-1])
    run = client.get_run(trained["run_id"])
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert (params["n_estimators"], params["max_depth"], params["random_state"]) == ("12", "4", "0")
    assert {"training_r2_score", "training_mean_squared_error", "training_score"} <= set(run.data.metrics)
    assert 0 < run.data.metrics["training_r2_score"] <= 1
    assert run.data.tags["estimator_name"] == "RandomForestRegressor"
    assert run.data.tags["estimator_class"] == "sklearn.ensemble._forest.RandomForestRegressor"

    # The model is an MLflow 3 logged model of the run, finalized, with its files in the store.
    models = client.search_logged_models(
        experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'"
    )
    assert [(m.name, m.status) for m in models] == [("model", LoggedModelStatus.READY)]
    model = models[0]
    listed = mlflow.artifacts.list_artifacts(artifact_uri=model.artifact_location)
    files = {f.path.rsplit("/", 1)[-1] for f in listed}  # the client prefixes the URI's last segment
    assert {"MLmodel", "requirements.txt", "python_env.yaml"} <= files
    assert model.params["n_estimators"] == "12"

    from sklearn.datasets import load_diabetes

    features = load_diabetes(return_X_y=True, as_frame=True)[0].head(5)
    for uri in (f"models:/{model.model_id}", f"runs:/{run.info.run_id}/model"):
        with warnings.catch_warnings():  # mlflow's notice about type hints in its own modules, on import
            warnings.filterwarnings("ignore", ".*Any type hint is inferred as AnyType", UserWarning)
            destination = tmp_path / uri.split(":")[0]
            destination.mkdir()
            loaded = mlflow.pyfunc.load_model(uri, dst_path=str(destination))
        assert loaded.predict(features).tolist() == pytest.approx(trained["predictions"]), uri


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_artifacts_of_a_few_megabytes_round_trip_byte_exact(client: MlflowClient, tmp_path: Path) -> None:
    """Several files in nested folders, about 6 MB together: uploaded with ``log_artifacts`` (one PUT per
    file), listed with their sizes, downloaded with ``download_artifacts``: the same bytes come back."""
    local = tmp_path / "outputs"
    contents = {
        "weights/model.bin": os.urandom(4 * 1024 * 1024 + 3),
        "weights/shards/shard-0.bin": os.urandom(1024 * 1024),
        "weights/shards/shard-1.bin": os.urandom(512 * 1024 + 1),
        "reports/deep/er/still/report.json": json.dumps({"rmse": 0.25, "rows": list(range(1000))}).encode(),
        "reports/notes with spaces.txt": b"a file name with spaces\n",
        "reports/résumé-ünïcode.txt": "non-ASCII name and text: ü é 中文\n".encode(),
        "empty.txt": b"",
    }
    for name, data in contents.items():
        (local / name).parent.mkdir(parents=True, exist_ok=True)
        (local / name).write_bytes(data)
    run_id = client.create_run("0").info.run_id
    client.log_artifacts(run_id, str(local), artifact_path="outputs")

    listed = {(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id, "outputs/weights")}
    assert listed == {
        ("outputs/weights/model.bin", False, 4 * 1024 * 1024 + 3),
        ("outputs/weights/shards", True, None),
    }
    downloaded = Path(
        mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="outputs", dst_path=str(tmp_path / "downloaded")
        )
    )
    assert _tree(downloaded) == contents
    # One file alone, by its URI, as a serving job would fetch it.
    artifact_uri = client.get_run(run_id).info.artifact_uri
    single = mlflow.artifacts.download_artifacts(
        artifact_uri=f"{artifact_uri}/outputs/weights/shards/shard-1.bin", dst_path=str(tmp_path / "single")
    )
    assert Path(single).read_bytes() == contents["weights/shards/shard-1.bin"]
