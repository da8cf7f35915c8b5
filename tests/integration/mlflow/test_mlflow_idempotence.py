"""Retried and racing writes through the MLflow routes of a real Stratus server.

A retry is the same request sent twice, as a client does when the first response was lost (the stock
client retries DELETE, PATCH and PUT always, and in 3.17 every POST, on 5xx and read errors). Where MLflow
makes the retry harmless, so does Stratus: no duplicate rows, no error on the second call. Where MLflow
does not (``runs/create``, ``logged-models``, ``model-versions/create`` make a second entity), Stratus
does what MLflow does, and these tests pin that down. Racing clients creating one name get one entity and
``RESOURCE_ALREADY_EXISTS`` for the rest, never a 500.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from plugins.stratus_server import LiveServer, start_server

RACERS = 12


class Api:
    """Raw MLflow REST calls against one workspace of a live server."""

    def __init__(self, server: LiveServer, workspace: str = "default") -> None:
        self.server = server
        self.base = f"{server.url}/workspaces/{workspace}/api/2.0/mlflow"
        self.artifacts = f"{server.url}/workspaces/{workspace}/api/2.0/mlflow-artifacts/artifacts"
        self.headers = {"Authorization": f"Bearer {server.admin_token}"}

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = path if path.startswith("http") else self.base + path
        response = httpx.request(method, url, headers=self.headers, timeout=60, **kwargs)
        assert response.status_code < 500, f"{method} {path} -> {response.status_code} {response.text}"
        return response

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self(method, path, **kwargs)
        assert response.status_code == 200, f"{method} {path} -> {response.status_code} {response.text}"
        return response.json()

    def twice(self, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, httpx.Response]:
        """The same request sent twice: the first one's response "lost", the retry's the one seen."""
        return self(method, path, **kwargs), self(method, path, **kwargs)

    def new_run(self, experiment_id: str = "0") -> str:
        run = self.ok("POST", "/runs/create", json={"experiment_id": experiment_id})
        return str(run["run"]["info"]["run_id"])


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, str(response.json().get("error_code"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("mlflow-idempotence") / "home")
    yield live
    live.stop()


@pytest.fixture
def api(server: LiveServer) -> Api:
    return Api(server)


def test_retried_create_experiment_makes_one_experiment(api: Api) -> None:
    body = {"name": "retried-experiment", "tags": [{"key": "team", "value": "a"}]}
    first, retry = api.twice("POST", "/experiments/create", json=body)
    assert first.status_code == 200
    assert _error(retry) == (400, "RESOURCE_ALREADY_EXISTS")
    found = api.ok("POST", "/experiments/search", json={"filter": "name = 'retried-experiment'"})
    assert [e["experiment_id"] for e in found["experiments"]] == [first.json()["experiment_id"]]


def test_retried_create_registered_model_makes_one_model(api: Api) -> None:
    first, retry = api.twice("POST", "/registered-models/create", json={"name": "retried-model"})
    assert first.status_code == 200
    assert _error(retry) == (400, "RESOURCE_ALREADY_EXISTS")
    found = api.ok("GET", "/registered-models/search", params={"filter": "name = 'retried-model'"})
    assert [m["name"] for m in found["registered_models"]] == ["retried-model"]


def test_retried_run_writes_store_nothing_twice(api: Api) -> None:
    run_id = api.new_run()
    point = {"run_id": run_id, "key": "loss", "value": 0.5, "timestamp": 1_700_000_000_000, "step": 3}
    batch = {
        "run_id": run_id,
        "metrics": [
            {"key": "acc", "value": 0.9, "timestamp": 1_700_000_000_001, "step": 1},
            {"key": "acc", "value": 0.95, "timestamp": 1_700_000_000_002, "step": 2},
        ],
        "params": [{"key": "depth", "value": "4"}],
        "tags": [{"key": "stage", "value": "dev"}],
    }
    for path, body in (
        ("/runs/log-metric", point),
        ("/runs/log-batch", batch),
        ("/runs/log-parameter", {"run_id": run_id, "key": "alpha", "value": "0.1"}),
        ("/runs/set-tag", {"run_id": run_id, "key": "team", "value": "a"}),
        ("/experiments/set-experiment-tag", {"experiment_id": "0", "key": "owner", "value": "x"}),
        ("/runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": 1_700_000_000_500}),
    ):
        first, retry = api.twice("POST", path, json=body)
        assert (first.status_code, retry.status_code) == (200, 200), (path, retry.text)

    def history(key: str) -> list[tuple[float, int]]:
        points = api.ok("GET", "/metrics/get-history", params={"run_id": run_id, "metric_key": key})
        return [(m["value"], m["step"]) for m in points["metrics"]]

    assert history("loss") == [(0.5, 3)]
    assert sorted(history("acc")) == [(0.9, 1), (0.95, 2)]
    run = api.ok("GET", "/runs/get", params={"run_id": run_id})["run"]
    assert sorted((p["key"], p["value"]) for p in run["data"]["params"]) == [("alpha", "0.1"), ("depth", "4")]
    tags = [(t["key"], t["value"]) for t in run["data"]["tags"] if not t["key"].startswith("mlflow.")]
    assert sorted(tags) == [("stage", "dev"), ("team", "a")]
    assert (run["info"]["status"], run["info"]["end_time"]) == ("FINISHED", 1_700_000_000_500)
    # Soft delete and restore are idempotent in MLflow too; the run ends in the stage the last call set.
    for path, stage in (("/runs/delete", "deleted"), ("/runs/restore", "active")):
        first, retry = api.twice("POST", path, json={"run_id": run_id})
        assert (first.status_code, retry.status_code) == (200, 200), (path, retry.text)
        info = api.ok("GET", "/runs/get", params={"run_id": run_id})["run"]["info"]
        assert info["lifecycle_stage"] == stage, path
    # An artifact PUT overwrites: the retry leaves one object with the same bytes.
    url = f"{api.artifacts}/0/{run_id}/artifacts/retried.bin"
    first, retry = api.twice("PUT", url, content=b"\x00retried\xff")
    assert (first.status_code, retry.status_code) == (200, 200)
    listing = api.ok("GET", api.artifacts, params={"path": f"0/{run_id}/artifacts"})
    assert listing["files"] == [{"path": "retried.bin", "is_dir": False, "file_size": 9}]
    assert api("GET", url).content == b"\x00retried\xff"


def test_retried_experiment_delete_and_restore_are_idempotent(api: Api) -> None:
    experiment_id = api.ok("POST", "/experiments/create", json={"name": "retried-delete"})["experiment_id"]
    for path, stage in (("/experiments/delete", "deleted"), ("/experiments/restore", "active")):
        first, retry = api.twice("POST", path, json={"experiment_id": experiment_id})
        assert (first.status_code, retry.status_code) == (200, 200), (path, retry.text)
        found = api.ok("GET", "/experiments/get", params={"experiment_id": experiment_id})["experiment"]
        assert found["lifecycle_stage"] == stage, path


def test_retried_registry_and_logged_model_updates_are_idempotent(api: Api) -> None:
    api.ok("POST", "/registered-models/create", json={"name": "retried-updates"})
    run_id = api.new_run()
    source = f"mlflow-artifacts:/0/{run_id}/artifacts/model"
    api.ok("POST", "/model-versions/create", json={"name": "retried-updates", "source": source})
    model_id = api.ok("POST", "/logged-models", json={"experiment_id": "0", "name": "retried"})["model"][
        "info"
    ]["model_id"]
    for method, path, body in (
        ("POST", "/registered-models/set-tag", {"name": "retried-updates", "key": "k", "value": "v"}),
        (
            "POST",
            "/model-versions/set-tag",
            {"name": "retried-updates", "version": "1", "key": "k", "value": "v"},
        ),
        ("POST", "/registered-models/alias", {"name": "retried-updates", "alias": "prod", "version": "1"}),
        ("PATCH", "/registered-models/update", {"name": "retried-updates", "description": "d"}),
        ("PATCH", "/model-versions/update", {"name": "retried-updates", "version": "1", "description": "d"}),
        ("PATCH", f"/logged-models/{model_id}", {"model_id": model_id, "status": "LOGGED_MODEL_READY"}),
        ("PATCH", f"/logged-models/{model_id}/tags", {"tags": [{"key": "k", "value": "v"}]}),
    ):
        first, retry = api.twice(method, path, json=body)
        assert (first.status_code, retry.status_code) == (200, 200), (path, retry.text)
    model = api.ok("GET", "/registered-models/get", params={"name": "retried-updates"})["registered_model"]
    assert model["tags"] == [{"key": "k", "value": "v"}]
    assert model["aliases"] == [{"alias": "prod", "version": "1"}]
    logged = api.ok("GET", f"/logged-models/{model_id}")["model"]
    assert logged["info"]["status"] == "LOGGED_MODEL_READY"
    assert [t for t in logged["info"].get("tags", []) if t["key"] == "k"] == [{"key": "k", "value": "v"}]


def test_retried_deletes_succeed_where_mlflow_ignores_what_is_gone(api: Api) -> None:
    """MLflow's store answers 200 to deleting an alias or a registered-model / model-version tag that is
    already gone, and to deleting an already-deleted logged model (it is soft-deleted, still found). The
    stock client retries every DELETE, so a retried delete whose first response was lost must not fail."""
    api.ok("POST", "/registered-models/create", json={"name": "retried-deletes"})
    run_id = api.new_run()
    source = f"mlflow-artifacts:/0/{run_id}/artifacts/model"
    api.ok("POST", "/model-versions/create", json={"name": "retried-deletes", "source": source})
    api.ok(
        "POST", "/registered-models/alias", json={"name": "retried-deletes", "alias": "prod", "version": "1"}
    )
    api.ok("POST", "/registered-models/set-tag", json={"name": "retried-deletes", "key": "k", "value": "v"})
    tag = {"name": "retried-deletes", "version": "1", "key": "k", "value": "v"}
    api.ok("POST", "/model-versions/set-tag", json=tag)
    model_id = api.ok("POST", "/logged-models", json={"experiment_id": "0", "name": "gone"})["model"]["info"][
        "model_id"
    ]
    failures = []
    for path, body in (
        ("/registered-models/alias", {"name": "retried-deletes", "alias": "prod"}),
        ("/registered-models/delete-tag", {"name": "retried-deletes", "key": "k"}),
        ("/model-versions/delete-tag", {"name": "retried-deletes", "version": "1", "key": "k"}),
        (f"/logged-models/{model_id}", None),
    ):
        first, retry = api.twice("DELETE", path, json=body)
        if (first.status_code, retry.status_code) != (200, 200):
            failures.append(
                f"DELETE {path}: {first.status_code}, then {retry.status_code} {retry.text[:150]}"
            )
    assert failures == [], "\n".join(failures)
    model = api.ok("GET", "/registered-models/get", params={"name": "retried-deletes"})["registered_model"]
    assert (model["aliases"], model["tags"]) == ([], [])
    version = api.ok("GET", "/model-versions/get", params={"name": "retried-deletes", "version": "1"})
    assert version["model_version"].get("tags", []) == []
    # As in MLflow, a deleted logged model is hidden from GET and search but still found with
    # allow_deleted, under its id and with the status it had (deleting does not change the status).
    gone = api("GET", f"/logged-models/{model_id}")
    assert _error(gone) == (404, "RESOURCE_DOES_NOT_EXIST")
    info = api.ok("GET", f"/logged-models/{model_id}", params={"allow_deleted": "true"})["model"]["info"]
    assert (info["model_id"], info["status"]) == (model_id, "LOGGED_MODEL_PENDING")
    listed = api.ok("POST", "/logged-models/search", json={"experiment_ids": ["0"]}).get("models", [])
    assert model_id not in [m["info"]["model_id"] for m in listed]
    # What never existed is still an error, as in MLflow: the model itself must be there.
    missing = api("DELETE", "/registered-models/alias", json={"name": "no-such-model", "alias": "prod"})
    assert _error(missing) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_retried_registered_model_delete_answers_what_mlflow_answers(api: Api) -> None:
    """MLflow deletes registered models and versions for good, so its retry finds nothing: 404
    ``RESOURCE_DOES_NOT_EXIST``. What counts is that the first call's delete happened: the versions and
    the model are gone, and the name can be registered afresh."""
    api.ok("POST", "/registered-models/create", json={"name": "retried-model-delete"})
    run_id = api.new_run()
    source = f"mlflow-artifacts:/0/{run_id}/artifacts/model"
    for _ in range(2):
        api.ok("POST", "/model-versions/create", json={"name": "retried-model-delete", "source": source})
    version = {"name": "retried-model-delete", "version": "2"}
    first, retry = api.twice("DELETE", "/model-versions/delete", json=version)
    assert (first.status_code, _error(retry)) == (200, (404, "RESOURCE_DOES_NOT_EXIST")), retry.text
    assert _error(api("GET", "/model-versions/get", params=version)) == (404, "RESOURCE_DOES_NOT_EXIST")
    found = api.ok("GET", "/model-versions/search", params={"filter": "name = 'retried-model-delete'"})
    assert [v["version"] for v in found["model_versions"]] == ["1"]

    first, retry = api.twice("DELETE", "/registered-models/delete", json={"name": "retried-model-delete"})
    assert (first.status_code, _error(retry)) == (200, (404, "RESOURCE_DOES_NOT_EXIST")), retry.text
    missing = api("GET", "/registered-models/get", params={"name": "retried-model-delete"})
    assert _error(missing) == (404, "RESOURCE_DOES_NOT_EXIST")
    found = api.ok("GET", "/model-versions/search", params={"filter": "name = 'retried-model-delete'"})
    assert found.get("model_versions", []) == []
    api.ok("POST", "/registered-models/create", json={"name": "retried-model-delete"})


def test_retried_creates_that_mlflow_duplicates_are_duplicated_here_too(api: Api) -> None:
    """``model-versions/create``, ``runs/create`` and ``logged-models`` carry no client key, so MLflow's
    server makes a second version / run / model for a retry (and the 3.18 client no longer retries them
    on 5xx). Stratus does the same: both versions exist, numbered in order, both usable."""
    api.ok("POST", "/registered-models/create", json={"name": "retried-versions"})
    run_id = api.new_run()
    body = {"name": "retried-versions", "source": f"mlflow-artifacts:/0/{run_id}/artifacts/model"}
    first, retry = api.twice("POST", "/model-versions/create", json=body)
    versions = [r.json()["model_version"] for r in (first, retry)]
    assert [(v["version"], v["status"], v["source"]) for v in versions] == [
        ("1", "READY", body["source"]),
        ("2", "READY", body["source"]),
    ]
    found = api.ok("GET", "/model-versions/search", params={"filter": "name = 'retried-versions'"})
    assert sorted(v["version"] for v in found["model_versions"]) == ["1", "2"]
    runs = {api.new_run() for _ in range(2)}
    assert len(runs) == 2
    models = {
        api.ok("POST", "/logged-models", json={"experiment_id": "0", "name": "twice"})["model"]["info"][
            "model_id"
        ]
        for _ in range(2)
    }
    assert len(models) == 2


def _race(api: Api, path: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """POST each body from its own thread and connection, all released at once by a barrier."""
    barrier = threading.Barrier(len(bodies))
    results: list[httpx.Response | BaseException] = [RuntimeError("not run")] * len(bodies)

    def racer(index: int) -> None:
        with httpx.Client(timeout=120, headers=api.headers) as client:
            barrier.wait()
            try:
                results[index] = client.post(api.base + path, json=bodies[index])
            except BaseException as exc:  # reported below with the others
                results[index] = exc

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    return [r for r in results if isinstance(r, httpx.Response)]


def _all_ok(responses: list[httpx.Response]) -> None:
    failed = [(r.status_code, r.text[:150]) for r in responses if r.status_code != 200]
    assert failed == [], failed


def _assert_one_winner(responses: list[httpx.Response]) -> dict[str, Any]:
    outcomes = sorted(
        (r.status_code, "" if r.status_code == 200 else str(r.json().get("error_code"))) for r in responses
    )
    assert outcomes == [(200, "")] + [(400, "RESOURCE_ALREADY_EXISTS")] * (len(responses) - 1), [
        (r.status_code, r.text[:150]) for r in responses if r.status_code != 400
    ]
    winner: dict[str, Any] = next(r.json() for r in responses if r.status_code == 200)
    return winner


@pytest.fixture(scope="module")
def pg_server(postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own on a fresh PostgreSQL database, shared by this module's race tests."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    database = f"stratus_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    url = make_url(postgres_server_url).set(database=database).render_as_string(hide_password=False)
    live = start_server(
        tmp_path_factory.mktemp("mlflow-idempotence-pg") / "home", env={"STRATUS_DATABASE_URL": url}
    )
    try:
        yield live
    finally:
        live.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def racing(request: pytest.FixtureRequest, server: LiveServer) -> Api:
    """The module's SQLite server, or the PostgreSQL one."""
    return Api(server if request.param == "sqlite" else request.getfixturevalue("pg_server"))


def test_concurrent_clients_creating_one_experiment_get_one(racing: Api) -> None:
    for round_ in range(3):
        name = f"raced-{round_}-{time.monotonic_ns()}"
        responses = _race(racing, "/experiments/create", [{"name": name}] * RACERS)
        winner = _assert_one_winner(responses)
        found = racing.ok("POST", "/experiments/search", json={"filter": f"name = '{name}'"})
        assert [e["experiment_id"] for e in found["experiments"]] == [winner["experiment_id"]]


def test_concurrent_clients_creating_one_registered_model_get_one(racing: Api) -> None:
    name = f"raced-model-{time.monotonic_ns()}"
    responses = _race(racing, "/registered-models/create", [{"name": name}] * RACERS)
    _assert_one_winner(responses)


def test_concurrent_creates_of_different_names_all_succeed(racing: Api) -> None:
    """Experiment ids are allocated per workspace: racing creators must each get their own, not a 409."""
    stamp = time.monotonic_ns()
    responses = _race(
        racing, "/experiments/create", [{"name": f"distinct-{stamp}-{i}"} for i in range(RACERS)]
    )
    _all_ok(responses)
    assert len({r.json()["experiment_id"] for r in responses}) == RACERS


def test_concurrent_model_versions_get_distinct_numbers(racing: Api) -> None:
    name = f"raced-versions-{time.monotonic_ns()}"
    racing.ok("POST", "/registered-models/create", json={"name": name})
    run_id = racing.new_run()
    source = f"mlflow-artifacts:/0/{run_id}/artifacts/model"
    responses = _race(racing, "/model-versions/create", [{"name": name, "source": source}] * RACERS)
    _all_ok(responses)
    numbers = sorted(int(r.json()["model_version"]["version"]) for r in responses)
    assert numbers == list(range(1, RACERS + 1))


def test_concurrent_retries_of_one_metric_store_one_point(racing: Api) -> None:
    run_id = racing.new_run()
    point = {"run_id": run_id, "key": "raced", "value": 1.5, "timestamp": 1_700_000_000_000, "step": 7}
    _all_ok(_race(racing, "/runs/log-metric", [point] * RACERS))
    history = racing.ok("GET", "/metrics/get-history", params={"run_id": run_id, "metric_key": "raced"})
    assert [(m["value"], m["step"]) for m in history["metrics"]] == [(1.5, 7)]


SCRIPTS = 3
# Each script imports mlflow (the slow part), says so, and waits for the go line on stdin: then all of
# them call set_experiment at once.
SET_EXPERIMENT = """
import sys, mlflow
print("ready", flush=True)
sys.stdin.readline()
experiment = mlflow.set_experiment(sys.argv[1])
print(experiment.experiment_id)
"""


def test_stock_clients_racing_set_experiment_agree_on_one(server: LiveServer) -> None:
    """Several training scripts starting at once with ``mlflow.set_experiment(name)``: the client looks
    the name up, creates it, and on ``RESOURCE_ALREADY_EXISTS`` looks it up again, so every script ends up
    in the one experiment."""
    name = f"scripts-{time.monotonic_ns()}"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"{server.url}/workspaces/default",
        "MLFLOW_TRACKING_TOKEN": server.admin_token,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    }
    scripts = [
        subprocess.Popen(
            [sys.executable, "-c", SET_EXPERIMENT, name],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(SCRIPTS)
    ]
    try:
        for script in scripts:
            assert script.stdout is not None and script.stdout.readline().strip() == "ready"
        outputs = [script.communicate("go\n", timeout=300) for script in scripts]
    finally:
        for script in scripts:
            if script.poll() is None:
                script.kill()
    assert [s.returncode for s in scripts] == [0] * SCRIPTS, [err[-2000:] for _, err in outputs]
    ids = {out.strip().splitlines()[-1] for out, _ in outputs}
    assert len(ids) == 1
    found = Api(server).ok("POST", "/experiments/search", json={"filter": f"name = '{name}'"})
    assert [e["experiment_id"] for e in found["experiments"]] == list(ids)
