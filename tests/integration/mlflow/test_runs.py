"""The stock mlflow client against a real Stratus server: runs, metrics, params, tags, search."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from plugins.stratus_server import LiveServer, start_server

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param, RunTag, ViewType  # noqa: E402
from mlflow.exceptions import MlflowException, RestException  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("mlflow-runs") / "home")
    headers = {"Authorization": f"Bearer {live.admin_token}"}
    assert (
        httpx.post(f"{live.url}/api/v1/workspaces", json={"name": "runs-ws"}, headers=headers).status_code
        == 201
    )
    yield live
    live.stop()


@pytest.fixture
def client(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server.admin_token)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    return MlflowClient(tracking_uri=f"{server.url}/workspaces/runs-ws")


def test_fluent_run_lifecycle(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a training script does: start a run, log, end it; in a separate process, as users run it."""
    script = (
        "import mlflow\n"
        "mlflow.set_experiment('fluent-runs')\n"
        "with mlflow.start_run(run_name='first') as run:\n"
        "    mlflow.log_param('alpha', 0.5)\n"
        "    mlflow.log_params({'depth': 3, 'model': 'lgbm'})\n"
        "    for step in range(5):\n"
        "        mlflow.log_metric('loss', 1.0 / (step + 1), step=step)\n"
        "    mlflow.log_metrics({'acc': 0.9, 'f1': 0.8})\n"
        "    mlflow.set_tag('team', 'a')\n"
        "print(run.info.run_id)\n"
    )
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"{server.url}/workspaces/runs-ws",
        "MLFLOW_TRACKING_TOKEN": server.admin_token,
    }
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run_id = result.stdout.strip().splitlines()[-1]
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server.admin_token)
    run = MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"]).get_run(run_id)
    assert run.info.run_name == "first" and run.info.status == "FINISHED" and run.info.end_time
    assert run.data.params == {"alpha": "0.5", "depth": "3", "model": "lgbm"}
    assert run.data.metrics == {"loss": pytest.approx(0.2), "acc": 0.9, "f1": 0.8}
    assert run.data.tags["team"] == "a" and run.data.tags["mlflow.runName"] == "first"
    assert run.info.artifact_uri.endswith(f"/{run_id}/artifacts")


def test_metrics_history_nan_and_batches(client: MlflowClient) -> None:
    exp = client.create_experiment("history")
    run = client.create_run(exp, run_name="h")
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric("m", float(i), now + i, i) for i in range(1000)],
        params=[Param(f"p{i}", str(i)) for i in range(100)],
        tags=[RunTag("t", "v")],
    )
    client.log_metric(run_id, "odd", math.nan, step=1)
    client.log_metric(run_id, "odd", math.inf, step=2)
    history = client.get_metric_history(run_id, "m")
    assert [m.step for m in history] == list(range(1000))
    # A retried batch stores nothing twice.
    client.log_batch(run_id, metrics=[Metric("m", 5.0, now + 5, 5)])
    assert len(client.get_metric_history(run_id, "m")) == 1000
    odd = client.get_metric_history(run_id, "odd")
    assert math.isnan(odd[0].value) and odd[1].value == math.inf
    fetched = client.get_run(run_id)
    assert fetched.data.metrics["m"] == 999.0 and len(fetched.data.params) == 100
    with pytest.raises(MlflowException, match="cannot change"):
        client.log_param(run_id, "p1", "different")
    client.log_param(run_id, "p1", "1")  # the same value again is fine
    # The client splits big batches itself; the server still holds MLflow's limit.
    too_many = [{"key": "m", "value": 1.0, "timestamp": now, "step": i} for i in range(1001)]
    response = httpx.post(
        f"{client.tracking_uri}/api/2.0/mlflow/runs/log-batch",
        json={"run_id": run_id, "metrics": too_many},
        headers={"Authorization": f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"},
    )
    assert response.status_code == 400 and response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException):
        client.log_metric(run_id, "../escape", 1.0)


def test_update_delete_restore_and_tags(client: MlflowClient) -> None:
    exp = client.create_experiment("lifecycle")
    run_id = client.create_run(exp, tags={"k": "v"}).info.run_id
    assert client.get_run(run_id).info.run_name  # a generated name when none was given
    client.set_terminated(run_id, "FAILED")
    client.update_run(run_id, name="renamed")
    run = client.get_run(run_id)
    assert (run.info.status, run.info.run_name, run.data.tags["mlflow.runName"]) == (
        "FAILED",
        "renamed",
        "renamed",
    )
    client.delete_tag(run_id, "k")
    assert "k" not in client.get_run(run_id).data.tags
    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs([exp]) == []
    assert len(client.search_runs([exp], run_view_type=ViewType.DELETED_ONLY)) == 1
    client.restore_run(run_id)
    assert len(client.search_runs([exp])) == 1
    with pytest.raises(RestException) as info:
        client.get_run("0" * 32)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_runs_grammar_order_and_pages(client: MlflowClient) -> None:
    exp = client.create_experiment("search-runs")
    for i in range(9):
        run = client.create_run(exp, run_name=f"r{i}", tags={"family": "tree" if i % 3 == 0 else "linear"})
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("rmse", 1.0 - i / 10, 0, 0)],
            params=[Param("model", "lgbm" if i % 2 == 0 else "ridge")],
        )
    names = lambda runs: [r.info.run_name for r in runs]  # noqa: E731
    assert names(client.search_runs([exp], "metrics.rmse < 0.5", order_by=["metrics.rmse ASC"])) == [
        "r8",
        "r7",
        "r6",
    ]
    found = client.search_runs([exp], "params.model = 'lgbm' AND tags.family = 'tree'", order_by=["run_name"])
    assert names(found) == ["r0", "r6"]
    assert names(
        client.search_runs([exp], "attributes.run_name IN ('r1', 'r2')", order_by=["run_name DESC"])
    ) == [
        "r2",
        "r1",
    ]
    assert len(client.search_runs([exp], "attributes.status = 'RUNNING' AND params.model LIKE 'r%'")) == 4
    assert len(client.search_runs([exp], "tags.family ILIKE 'TREE'")) == 3
    pages, token = [], None
    while True:
        page = client.search_runs(
            [exp], order_by=["params.model ASC", "run_name ASC"], max_results=4, page_token=token
        )
        pages.append(names(page))
        token = page.token
        if not token:
            break
    assert [len(p) for p in pages] == [4, 4, 1] and pages[0][:2] == ["r0", "r2"]
    for bad in ("metrics.rmse < 'x'", "nonsense", "attributes.bogus = 'x'", "metrics.rmse ~ 1"):
        with pytest.raises(MlflowException):
            client.search_runs([exp], bad)
