"""The stock client's everyday flow on every backend: PostgreSQL with Azurite, and with S3 (moto server)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from plugins.services import AzuriteService, MotoS3Service
from plugins.stratus_server import start_server

SCRIPT = """
import os, tempfile, mlflow, numpy as np
from mlflow import MlflowClient
from sklearn.linear_model import LinearRegression
mlflow.set_experiment("smoke")
with mlflow.start_run() as run:
    mlflow.log_param("alpha", 1)
    for step in range(3):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    folder = tempfile.mkdtemp()
    with open(os.path.join(folder, "notes.txt"), "w") as handle:
        handle.write("hello artifacts")
    mlflow.log_artifact(os.path.join(folder, "notes.txt"))
    X = np.arange(10, dtype=float).reshape(-1, 1)
    info = mlflow.sklearn.log_model(
        LinearRegression().fit(X, 2 * X[:, 0]),
        name="model",
        registered_model_name="smoke-model",
        pip_requirements=["scikit-learn"],  # not inferred: that loads the model in a subprocess (~20 s)
    )
client = MlflowClient()
fetched = client.get_run(run.info.run_id)
assert fetched.data.params == {"alpha": "1"}, fetched.data.params
assert [m.value for m in client.get_metric_history(run.info.run_id, "loss")] == [1.0, 0.5, 1.0 / 3]
path = client.download_artifacts(run.info.run_id, "notes.txt", tempfile.mkdtemp())
assert open(path).read() == "hello artifacts"
assert client.search_runs([run.info.experiment_id], "metrics.loss < 0.5")[0].info.run_id == run.info.run_id
client.set_registered_model_alias("smoke-model", "champion", "1")
for uri in (f"models:/{info.model_id}", "models:/smoke-model@champion"):
    loaded = mlflow.pyfunc.load_model(uri)
    assert abs(float(loaded.predict(np.array([[4.0]]))[0]) - 8.0) < 1e-6
print("ok")
"""


def _smoke(tmp_path: Path, env: dict[str, str]) -> None:
    server = start_server(tmp_path / "home", env=env)
    try:
        client_env = {
            **os.environ,
            **env,
            "MLFLOW_TRACKING_URI": f"{server.url}/workspaces/default",
            "MLFLOW_TRACKING_TOKEN": server.admin_token,
        }
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            capture_output=True,
            text=True,
            env=client_env,
            timeout=300,
            cwd=tmp_path,
        )
        assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-4000:]
    finally:
        server.stop()


@pytest.mark.postgres
@pytest.mark.azurite
def test_postgresql_with_azurite(
    tmp_path: Path, postgres_url: str, azurite: AzuriteService, azure_container: str
) -> None:
    _smoke(
        tmp_path,
        {
            "STRATUS_DATABASE_URL": postgres_url,
            "STRATUS_ARTIFACT_URI": f"az://{azure_container}/stratus",
            "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string,
        },
    )


@pytest.mark.postgres
@pytest.mark.s3
def test_postgresql_with_s3(
    tmp_path: Path, postgres_url: str, moto_s3: MotoS3Service, s3_bucket: str
) -> None:
    _smoke(
        tmp_path,
        {
            "STRATUS_DATABASE_URL": postgres_url,
            "STRATUS_ARTIFACT_URI": f"s3://{s3_bucket}/stratus",
            **moto_s3.env,
        },
    )
