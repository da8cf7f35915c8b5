"""``stratus gc``: soft-deleted runs and experiments are purged with their files; model files stay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from typer.testing import CliRunner

from plugins.stratus_server import LiveServer, start_server
from stratus.cli.main import app


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("gc") / "home")
    yield live
    live.stop()


def test_gc_purges_deleted_runs_and_experiments_but_not_model_files(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server.admin_token)
    monkeypatch.setenv("STRATUS_URL", server.url)
    monkeypatch.setenv("STRATUS_TOKEN", server.admin_token)
    client = MlflowClient(tracking_uri=server.url)
    (tmp_path / "f.txt").write_text("data")
    kept_exp = client.create_experiment("kept")
    doomed_exp = client.create_experiment("doomed")

    def run_with_file(experiment: str) -> str:
        run_id = client.create_run(experiment).info.run_id
        client.log_metric(run_id, "m", 1.0)
        client.log_artifact(run_id, str(tmp_path / "f.txt"), "model")
        return run_id

    deleted, active, registered = (run_with_file(kept_exp) for _ in range(3))
    in_doomed = run_with_file(doomed_exp)
    client.create_registered_model("reg")
    client.create_model_version("reg", f"runs:/{registered}/model", run_id=registered)
    for run_id in (deleted, registered):
        client.delete_run(run_id)
    client.delete_experiment(doomed_exp)

    runner = CliRunner()

    def gc(*args: str) -> dict[str, object]:
        result = runner.invoke(app, ["gc", *args, "-o", "json"])
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return json.loads(result.stdout)

    assert gc("--older-than", "1h") == {
        "workspace": "default",
        "dry_run": False,
        "runs": [],
        "experiments": [],
        "kept": [],
        "artifact_objects": 0,
        "upload_leftovers": {"multipart_uploads": 0, "interrupted_writes": 0},
    }, "nothing was deleted an hour ago"
    preview = gc("--dry-run")
    assert preview["runs"] == [deleted] and preview["experiments"] == [doomed_exp]
    assert preview["kept"] == [{"run_id": registered, "reason": "a registered model version uses its files"}]
    assert client.get_run(deleted).info.lifecycle_stage == "deleted", "a dry run purges nothing"

    report = gc()
    assert report["runs"] == [deleted] and report["experiments"] == [doomed_exp]
    assert report["artifact_objects"] == 2, "the purged runs' files (one each)"
    for run_id in (deleted, in_doomed):
        with pytest.raises(MlflowException, match="not found"):
            client.get_run(run_id)
    with pytest.raises(MlflowException):
        client.get_experiment(doomed_exp)
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    files = f"{server.url}/api/2.0/mlflow-artifacts/artifacts"
    gone = httpx.get(f"{files}/{kept_exp}/{deleted}/artifacts/model/f.txt", headers=headers)
    assert gone.status_code == 404
    assert httpx.get(f"{files}/{kept_exp}/{active}/artifacts/model/f.txt", headers=headers).text == "data"
    assert httpx.get(f"{files}/{kept_exp}/{registered}/artifacts/model/f.txt", headers=headers).text == "data"
    assert client.get_run(active).data.metrics == {"m": 1.0}
    assert client.get_run(registered).info.lifecycle_stage == "deleted", "kept, still restorable"
    # A second collection finds nothing new; bad durations are input errors naming the field.
    assert gc()["runs"] == []
    bad = runner.invoke(app, ["gc", "--older-than", "soon"])
    assert bad.exit_code == 2 and "older_than" in bad.stderr
