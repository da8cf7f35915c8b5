"""The stock mlflow client against a real Stratus server: runs, metrics, params, tags, search."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException, RestException

from plugins.stratus_server import LiveServer, start_server


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


def test_dataset_inputs_logged_and_searched(
    server: LiveServer, client: MlflowClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mlflow.log_input as a training script calls it; the run shows the inputs; datasets.* search them."""
    import pandas as pd

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"{server.url}/workspaces/runs-ws")
    mlflow.set_experiment("datasets")
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    train = mlflow.data.from_pandas(frame, name="toy", targets="y")
    holdout = mlflow.data.from_pandas(frame.head(2), name="toy-holdout", targets="y")
    with mlflow.start_run(run_name="with-data") as run:
        mlflow.log_input(train, context="training")
        mlflow.log_input(holdout, context="validation")
        mlflow.log_input(train, context="training")  # the same input again is stored once
    with mlflow.start_run(run_name="without-data"):
        pass
    fetched = client.get_run(run.info.run_id)
    inputs = sorted(fetched.inputs.dataset_inputs, key=lambda i: i.dataset.name)
    assert [i.dataset.name for i in inputs] == ["toy", "toy-holdout"]
    assert {t.key: t.value for t in inputs[0].tags}["mlflow.data.context"] == "training"
    sent = train._to_mlflow_entity()
    assert inputs[0].dataset.to_dictionary() == sent.to_dictionary(), "every field round-trips"
    experiment = fetched.info.experiment_id

    def names(filter_string: str) -> set[str]:
        return {r.info.run_name for r in client.search_runs([experiment], filter_string)}

    assert names("datasets.name = 'toy'") == {"with-data"}
    assert names(f"datasets.digest IN ('{holdout.digest}')") == {"with-data"}
    assert names("datasets.context = 'validation'") == {"with-data"}
    assert names("datasets.name ILIKE 'TOY%' and attributes.run_name = 'with-data'") == {"with-data"}
    assert names("datasets.context = 'testing'") == set()
    with pytest.raises(RestException) as error:
        client.search_runs([experiment], "datasets.size = '3'")
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"


def test_metric_history_bulk_routes_of_the_ui(server: LiveServer, client: MlflowClient) -> None:
    """The charts' routes (the client never calls them): sampled steps per run, first and last kept."""
    exp = client.create_experiment("bulk")
    runs = [client.create_run(exp).info.run_id for _ in range(2)]
    for index, run_id in enumerate(runs):
        points = [Metric("m", float(s * (index + 1)), 1000 + s, s) for s in range(50)]
        client.log_batch(run_id, metrics=points)
    client.log_batch(runs[0], metrics=[Metric("m", -1.0, 5000, 49)])  # a second point at the last step
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    base = f"{server.url}/workspaces/runs-ws/ajax-api/2.0/mlflow/metrics"
    response = httpx.get(
        f"{base}/get-history-bulk-interval",
        params={"run_ids": runs, "metric_key": "m", "max_results": 5, "start_step": 10, "end_step": 49},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    points = response.json()["metrics"]
    first = [(p["step"], p["value"]) for p in points if p["run_id"] == runs[0]]
    assert [step for step, _ in first] == [10, 20, 30, 39, 49, 49]
    assert first[-2:] == [(49, 49.0), (49, -1.0)], "every value at a chosen step, by timestamp"
    second = [p["step"] for p in points if p["run_id"] == runs[1]]
    assert second == [10, 20, 30, 39, 49]
    whole = httpx.get(
        f"{base}/get-history-bulk", params={"run_id": runs, "metric_key": "m"}, headers=headers
    ).json()["metrics"]
    assert len(whole) == 101 and {p["run_id"] for p in whole} == set(runs)
    for bad in (
        {"run_ids": runs, "metric_key": "m", "start_step": 3},
        {"run_ids": runs, "metric_key": "m", "start_step": 9, "end_step": 2},
        {"run_ids": runs, "metric_key": "m", "max_results": 2501},
        {"metric_key": "m"},
        {"run_ids": ["0" * 32], "metric_key": "m"},
    ):
        answer = httpx.get(f"{base}/get-history-bulk-interval", params=bad, headers=headers)
        assert answer.status_code in (400, 404) and answer.json()["error_code"], bad
    assert httpx.get(f"{base}/get-history-bulk-interval", params={"run_ids": runs}).status_code == 401


def test_system_metrics_of_a_run(server: LiveServer, client: MlflowClient) -> None:
    """mlflow's system-metrics monitor (psutil) logs system/* metrics with steps while the run is open."""
    script = (
        "import time, mlflow\n"
        "mlflow.set_experiment('system-metrics')\n"
        "with mlflow.start_run(log_system_metrics=True) as run:\n"
        "    time.sleep(4)\n"
        "print(run.info.run_id)\n"
    )
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"{server.url}/workspaces/runs-ws",
        "MLFLOW_TRACKING_TOKEN": server.admin_token,
        "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL": "0.5",
        "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = client.get_run(result.stdout.strip().splitlines()[-1])
    system = {key for key in run.data.metrics if key.startswith("system/")}
    assert {"system/cpu_utilization_percentage", "system/system_memory_usage_megabytes"} <= system
    history = client.get_metric_history(run.info.run_id, "system/cpu_utilization_percentage")
    assert len(history) >= 2 and [p.step for p in history] == sorted(p.step for p in history)
