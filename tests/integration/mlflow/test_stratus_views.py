"""One set of rows, two shapes: MLflow runs, experiments and model versions through Stratus's own SDK and
CLI (jobs, experiments, Azure ML model YAML), against a real server and the stock mlflow client."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from plugins.stratus_server import LiveServer, start_server
from stratus import MLClient, Model, load_model
from stratus.cli.main import app
from stratus.errors import ConflictError, InvalidInputError, NotFoundError

WORKSPACE = "views-ws"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("views") / "home")
    with MLClient(live.admin_token, endpoint=live.url) as admin:
        from stratus import Workspace

        admin.workspaces.begin_create(Workspace(name=WORKSPACE)).result()
    yield live
    live.stop()


@pytest.fixture
def ml(server: LiveServer) -> Iterator[MLClient]:
    with MLClient(
        server.admin_token, workspace_name=WORKSPACE, endpoint=server.url, show_progress=False
    ) as c:
        yield c


@pytest.fixture
def mlflow_client(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server.admin_token)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"{server.url}/workspaces/{WORKSPACE}")
    return MlflowClient()


@pytest.fixture
def cli(server: LiveServer, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STRATUS_URL", server.url)
    monkeypatch.setenv("STRATUS_TOKEN", server.admin_token)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(app, [*args, "-w", WORKSPACE])
        assert result.exit_code == code, (args, result.exit_code, result.stdout, result.stderr)
        return result

    return invoke


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_runs_are_jobs_and_experiments(
    ml: MLClient, mlflow_client: MlflowClient, cli, tmp_path: Path
) -> None:
    source = tmp_path / "out"
    (source / "plots").mkdir(parents=True)
    (source / "plots" / "roc.bin").write_bytes(os.urandom(300_000))
    (source / "notes.txt").write_text("hello")
    experiment = mlflow_client.create_experiment("views", tags={"team": "a"})
    run = mlflow_client.create_run(experiment, run_name="trained")
    run_id = run.info.run_id
    mlflow_client.log_param(run_id, "alpha", "0.5")
    mlflow_client.log_metric(run_id, "loss", 0.25)
    mlflow_client.log_artifacts(run_id, str(source))
    mlflow_client.set_terminated(run_id)
    failed = mlflow_client.create_run(experiment, run_name="broken").info.run_id
    mlflow_client.set_terminated(failed, "FAILED")

    names = [e.name for e in ml.experiments.list()]
    assert names == sorted(names) and {"Default", "views"} <= set(names)
    shown = ml.experiments.get("views")
    assert shown.experiment_id == experiment and shown.tags == {"team": "a"}
    jobs = {j.name: j for j in ml.jobs.list(experiment_name="views")}
    assert set(jobs) == {run_id, failed}
    job = ml.jobs.get(run_id)
    assert (job.display_name, job.status, job.experiment_name) == ("trained", "Completed", "views")
    assert job.params == {"alpha": "0.5"} and job.metrics == {"loss": 0.25}
    assert [j.name for j in ml.jobs.list(status="Failed")] == [failed]
    target = ml.jobs.download(run_id, download_path=tmp_path / "dl")
    assert _tree(target) == _tree(source), "every artifact, byte-exact, at its relative path"

    listed = json.loads(cli("job", "list", "--experiment-name", "views", "-o", "json").stdout)
    assert {j["name"] for j in listed} == {run_id, failed}
    assert json.loads(cli("job", "show", "-n", run_id).stdout)["status"] == "Completed"
    cli("job", "download", "-n", run_id, "--download-path", str(tmp_path / "cli-dl"))
    assert _tree(tmp_path / "cli-dl" / "artifacts") == _tree(source)
    # A job that logged no artifacts downloads as an empty folder, and says so.
    empty = cli("job", "download", "-n", failed, "--download-path", str(tmp_path / "none"))
    assert json.loads(empty.stdout)["files"] == [] and (tmp_path / "none" / "artifacts").is_dir()
    assert "logged no artifacts" in " ".join(empty.stderr.split())
    assert json.loads(cli("experiment", "show", "-n", "views").stdout)["experiment_id"] == experiment
    assert "views" in cli("experiment", "list", "-o", "table").stdout
    assert "not found" in cli("job", "show", "-n", "0" * 32, code=3).stderr
    assert "status must be one of" in cli("job", "list", "--status", "Sleeping", code=2).stderr
    mlflow_client.delete_run(failed)
    assert [j.name for j in ml.jobs.list(experiment_name="views")] == [run_id]
    assert {j.name for j in ml.jobs.list(experiment_name="views", include_archived=True)} == {run_id, failed}


# mlflow warns about its own type-hint inference while logging a scikit-learn model in-process.
@pytest.mark.filterwarnings("ignore:.*Any type hint is inferred:UserWarning")
def test_model_yaml_and_mlflow_share_one_registry(
    ml: MLClient, mlflow_client: MlflowClient, cli, tmp_path: Path
) -> None:
    from sklearn.linear_model import LinearRegression

    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "model.bin").write_bytes(os.urandom(50_000))
    spec = tmp_path / "model.yml"
    spec.write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/model.schema.json\n"
        "name: shared\n"
        "path: ./weights\n"
        "type: custom_model\n"
        "description: from yaml\n"
        "tags: {team: a}\n"
        "properties: {framework: numpy}\n"
    )
    created = json.loads(cli("model", "create", "--file", str(spec)).stdout)
    assert (created["version"], created["type"], created["tags"]) == ("1", "custom_model", {"team": "a"})
    assert created["properties"] == {"framework": "numpy"}
    versions = mlflow_client.search_model_versions("name = 'shared'")
    assert [v.version for v in versions] == ["1"] and versions[0].tags["stratus.type"] == "custom_model"

    model = LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 2.0, 4.0])
    # The fluent API remembers the last experiment set in this process (perhaps on another server).
    mlflow.set_experiment("views-models")
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            model,
            name="m",
            registered_model_name="shared",
            input_example=[[1.0]],
            pip_requirements=["scikit-learn"],  # not inferred: that loads the model in a subprocess (~20 s)
        )
    mlflow_client.set_registered_model_alias("shared", "champion", "2")
    listed = json.loads(cli("model", "list", "-n", "shared").stdout)
    assert [(m["version"], m["type"]) for m in listed] == [("2", "mlflow_model"), ("1", "custom_model")]
    assert ml.models.get("shared", label="champion").version == "2"
    # Aliases of any length MLflow takes resolve as labels; an unknown one is "not found" (exit 3).
    mlflow_client.set_registered_model_alias("shared", "release-candidate-for-the-q3-launch", "1")
    assert ml.models.get("shared", label="release-candidate-for-the-q3-launch").version == "1"
    shown = cli("model", "show", "-n", "shared", "-l", "release-candidate-for-the-q3-launch")
    assert json.loads(shown.stdout)["version"] == "1"
    missing = cli("model", "show", "-n", "shared", "-l", "no-such-alias", code=3)
    assert "no alias 'no-such-alias'" in " ".join(missing.stderr.split())
    assert ml.models.get("shared", label="latest").version == "2"
    cli("model", "archive", "-n", "shared", "-v", "2")
    assert ml.models.get("shared", label="latest").version == "1", "archived versions are not latest"
    assert [m.version for m in ml.models.list("shared")] == ["1"]
    assert mlflow_client.get_model_version("shared", "2").tags["stratus.archived"] == "true"
    assert not ml.models.restore("shared", 2).is_archived
    assert [m.name for m in ml.models.list()] == ["shared"], "one entry per model: its newest version"

    cli("model", "download", "-n", "shared", "-v", "1", "--download-path", str(tmp_path / "dl"))
    assert _tree(tmp_path / "dl" / "shared") == _tree(weights)
    # An MLflow model folder registered from YAML loads with the stock client by version.
    saved = tmp_path / "saved"
    mlflow.sklearn.save_model(model, saved, input_example=[[1.0]])
    third = ml.models.create_or_update(Model(name="shared", path=str(saved), type="mlflow_model"))
    assert third.version == "3"
    loaded = mlflow.pyfunc.load_model("models:/shared/3")
    assert loaded.predict([[3.0]])[0] == pytest.approx(6.0)


def test_model_errors_name_the_field(server: LiveServer, ml: MLClient, cli, tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(b"x")
    bad = tmp_path / "bad.yml"
    bad.write_text("name: errs\npath: ./w.bin\nframework: torch\n")
    assert "'framework'" in cli("model", "create", "--file", str(bad), code=2).stderr
    bad.write_text("$schema: https://x/latest/data.schema.json\nname: errs\npath: ./w.bin\n")
    assert "$schema" in cli("model", "create", "--file", str(bad), code=2).stderr
    bad.write_text("name: errs\npath: ./missing\n")
    assert "does not exist" in cli("model", "create", "--file", str(bad), code=2).stderr
    with pytest.raises(InvalidInputError, match="MLmodel"):
        ml.models.create_or_update(Model(name="errs", path=str(tmp_path), type="mlflow_model"))
    ml.models.create_or_update(load_model(_yaml(tmp_path, "name: errs\npath: w.bin\n")))
    with pytest.raises(ConflictError):
        ml.models.create_or_update(load_model(_yaml(tmp_path, "name: errs\nversion: 1\npath: w.bin\n")))
    with pytest.raises(InvalidInputError, match="next version is 2"):
        ml.models.create_or_update(load_model(_yaml(tmp_path, "name: errs\nversion: 5\npath: w.bin\n")))
    with pytest.raises(InvalidInputError, match="does not exist"):
        ml.models.create_or_update(Model(name="errs", path="s3://bucket/x"))  # not a URI Stratus reads
    # The server takes only sources of this workspace; it never opens a path the client names.
    url = f"{server.url}/api/v1/workspaces/{WORKSPACE}/models/errs/versions"
    for source in ("file:///etc/passwd", "/etc/passwd", "s3://bucket/x", "mlflow-artifacts:/../../etc"):
        answer = httpx.post(
            url, json={"path": source}, headers={"Authorization": f"Bearer {server.admin_token}"}
        )
        assert answer.status_code == 400 and answer.json()["error"]["field"] == "path", source
    with pytest.raises(NotFoundError):
        ml.models.get("errs", version=9)


def _yaml(folder: Path, text: str) -> Path:
    path = folder / "m.yml"
    path.write_text(text)
    return path
