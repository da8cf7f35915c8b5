"""An environment derived from a logged MLflow model: it pins what the model was saved with, builds, and
the pickled model loads and predicts inside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plugins.stratus_server import LiveServer, start_server
from stratus import MLClient
from stratus.cli.main import app
from stratus.environments import EnvironmentCache

# The model's own requirements (mlflow, scikit-learn, numpy...) are what it builds: real ones, from PyPI.
pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("model-env")
    live = start_server(root / "home", env={"STRATUS_ENV_CACHE": str(root / "cache")})
    yield live
    live.stop()


# The requirements MLflow would infer (it loads the model in a subprocess to find them, ~20 s), given.
LOG_MODEL = """
import cloudpickle, mlflow, sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

features, target = load_iris(return_X_y=True)
mlflow.set_experiment("model-env")
with mlflow.start_run():
    model = LogisticRegression(max_iter=300).fit(features, target)
    mlflow.sklearn.log_model(
        model,
        name="model",
        registered_model_name="iris-model",
        pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"cloudpickle=={cloudpickle.__version__}"],
    )
"""
PREDICT = """
import json, sys, mlflow.pyfunc, sklearn
model = mlflow.pyfunc.load_model(sys.argv[1])
prediction = model.predict(json.loads(sys.argv[2])).tolist()
print(json.dumps({"sklearn": sklearn.__version__, "pred": prediction}))
"""


def test_model_loads_in_its_own_environment(server: LiveServer, tmp_path: Path) -> None:
    import sklearn
    from sklearn.datasets import load_iris

    # A separate process in a folder outside this project: the stock client as a user runs it (MLflow
    # would otherwise read this repository's uv.lock to infer the model's requirements).
    env = {**os.environ, "MLFLOW_TRACKING_URI": server.url, "MLFLOW_TRACKING_TOKEN": server.admin_token}
    subprocess.run([sys.executable, "-c", LOG_MODEL], cwd=tmp_path, env=env, check=True, timeout=300)
    created = CliRunner().invoke(
        app,
        [
            "environment",
            "create",
            "-n",
            "iris-env",
            "--from-model",
            "azureml:iris-model@latest",
            "--url",
            server.url,
        ],
        env={"STRATUS_TOKEN": server.admin_token},
    )
    assert created.exit_code == 0, created.output
    with MLClient(server.admin_token, endpoint=server.url, show_progress=False) as ml:
        environment = ml.environments.get("iris-env", json.loads(created.stdout)["version"])
        assert environment.python == "3.11"
        assert f"scikit-learn=={sklearn.__version__}" in environment.pip
        assert environment.tags["stratus.from_model"] == "iris-model:1"
        built = ml.environments.build("iris-env", environment.version)
        assert built.status == "Succeeded"
        folder = ml.models.download("iris-model", 1, download_path=tmp_path / "model")
    python = EnvironmentCache(server.home.parent / "cache").get(built.spec_hash).python
    model_dir = next(p.parent for p in folder.rglob("MLmodel"))
    rows = load_iris(return_X_y=True)[0][:3].tolist()
    out = subprocess.run(
        [str(python), "-c", PREDICT, str(model_dir), json.dumps(rows)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        cwd=tmp_path,
    )
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert answer["sklearn"] == sklearn.__version__
    assert answer["pred"] == [0, 0, 0]
