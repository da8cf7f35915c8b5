"""``stratus mlflow import`` from a real ``mlflow server`` into a real Stratus server, as a user runs it.

One MLflow server (the slow part to start) is filled once by a training-style script; each test imports it
into its own workspace with the CLI in a subprocess, and reads both sides back with the stock client.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType
from typer.testing import CliRunner

from plugins.services import free_port
from plugins.stratus_server import LiveServer, start_server
from stratus.cli.main import app

STRATUS = str(Path(sys.executable).with_name("stratus"))
MLFLOW = str(Path(sys.executable).with_name("mlflow"))
IMPORT_TAG = "stratus.import."
QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}

POPULATE = r"""
import json, os, sys
import mlflow, numpy as np, pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Metric
from sklearn.linear_model import LinearRegression

uri = sys.argv[1]
mlflow.set_tracking_uri(uri)
client = MlflowClient(uri)
base = 1_700_000_000_000

# The earliest run, small: the importer copies it first.
first = client.create_run("0", base, {"mlflow.user": "ann", "kind": "smoke"}, run_name="first")
client.log_param(first.info.run_id, "seed", "7")
client.log_metric(first.info.run_id, "m", 1.0, timestamp=base, step=0)
client.set_terminated(first.info.run_id, end_time=base + 10)
client.set_experiment_tag("0", "default-tag", "d")

exp_a = client.create_experiment("exp-a", tags={"team": "a", "purpose": "import test"})
exp_b = client.create_experiment("exp-b", tags={"team": "b"})
gone = client.create_experiment("gone")
X = np.arange(20, dtype=float).reshape(-1, 1)
# Pinned requirements: inferring them imports the model in a subprocess, the slowest part here.
LEAN = {"pip_requirements": ["scikit-learn"]}

os.makedirs("art/sub/deeper")
with open("art/readme.txt", "w") as f:
    f.write("hello\n")
with open("art/sub/deeper/values.csv", "w") as f:
    f.write("a,b\n1,2\n")
with open("art/sub/big.bin", "wb") as f:
    f.write(os.urandom(2 * 1024 * 1024 + 17))

mlflow.set_experiment("exp-a")
with mlflow.start_run(run_name="parent") as parent:
    mlflow.log_params({"lr": 0.1, "depth": 3, **{f"p{i:03d}": i for i in range(150)}})
    for step in range(5):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step, timestamp=base + 1000 * step)
    mlflow.log_metric("acc", 0.5, step=1, timestamp=base)
    mlflow.log_metric("acc", 0.6, step=1, timestamp=base + 1)
    client.log_batch(parent.info.run_id, metrics=[Metric("long", i * 0.5, base + i, i) for i in range(2500)])
    mlflow.set_tags({"stage": "dev", "note": "unicode \u00fc"})
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]})
    train = mlflow.data.from_pandas(frame, source="s3://bucket/train.csv", name="train", targets="y")
    mlflow.log_input(train, context="training")
    mlflow.log_artifacts("art")
    mlflow.log_artifacts("art/sub/deeper", artifact_path="copies")
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_param("fold", 1)
        mlflow.log_metric("acc", 0.7, step=0, timestamp=base + 5)
    fitted = LinearRegression().fit(X, 3 * X[:, 0] + 1)
    mlflow.sklearn.log_model(fitted, name="model", registered_model_name="sk-model", **LEAN)

mlflow.set_experiment("exp-b")
os.makedirs("odd")
with open("odd/odd:name.txt", "w") as f:  # a name Stratus refuses (':')
    f.write("refused")
with open("odd/fine.txt", "w") as f:
    f.write("kept")
with mlflow.start_run(run_name="second") as second:
    mlflow.log_artifacts("odd")
    fitted = LinearRegression().fit(X, 2 * X[:, 0] - 5)
    mlflow.sklearn.log_model(fitted, name="model", registered_model_name="sk-model", **LEAN)
failed = client.create_run(exp_b, run_name="failed", tags={"mlflow.user": "bob"})
client.log_metric(failed.info.run_id, "loss", float("nan"), timestamp=base, step=3)
client.set_terminated(failed.info.run_id, "FAILED", end_time=base + 99)
# Version 3 comes from a run deleted afterwards: without --include-deleted its files travel on their own.
deleted = client.create_run(exp_b, run_name="deleted")
client.log_param(deleted.info.run_id, "p", "x")
mlflow.sklearn.save_model(LinearRegression().fit(X, X[:, 0]), "third", **LEAN)
client.log_artifacts(deleted.info.run_id, "third", "model")
client.set_terminated(deleted.info.run_id)
client.create_model_version("sk-model", f"runs:/{deleted.info.run_id}/model", run_id=deleted.info.run_id)
client.delete_run(deleted.info.run_id)
in_gone = client.create_run(gone, run_name="in-gone")
client.set_terminated(in_gone.info.run_id)
client.delete_experiment(gone)

client.update_registered_model("sk-model", description="linear models")
client.set_registered_model_tag("sk-model", "owner", "ml-team")
client.update_model_version("sk-model", "1", description="first fit")
client.set_model_version_tag("sk-model", "1", "validated", "yes")
client.set_registered_model_alias("sk-model", "champion", "1")
client.set_registered_model_alias("sk-model", "newest", "3")
print(json.dumps({"deleted_run": deleted.info.run_id, "in_gone": in_gone.info.run_id}))
"""

PREDICT = r"""
import json, sys
import mlflow, numpy as np
out = []
for uri in sys.argv[1:]:
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    model = mlflow.pyfunc.load_model("models:/sk-model@champion")
    out.append(model.predict(np.array([[1.0], [5.0]])).tolist())
print(json.dumps(out))
"""


@dataclass
class Source:
    url: str
    deleted_run: str
    in_gone: str


@pytest.fixture(scope="module")
def stratus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("mlflow-import") / "home")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    root = tmp_path_factory.mktemp("mlflow-source")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **QUIET, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # no job runner process
    env.pop("MLFLOW_TRACKING_TOKEN", None)
    with (root / "server.out").open("w") as out:
        process = subprocess.Popen(
            [
                MLFLOW,
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--backend-store-uri",
                f"sqlite:///{root / 'mlflow.db'}",
                "--artifacts-destination",
                str(root / "artifacts"),
                "--workers",
                "1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=root,
        )
    try:
        deadline = time.monotonic() + 240
        while not _healthy(url):
            assert process.poll() is None, (root / "server.out").read_text()[-3000:]
            assert time.monotonic() < deadline, "mlflow server did not start"
            time.sleep(0.3)
        (root / "work").mkdir()
        filled = subprocess.run(
            [sys.executable, "-c", POPULATE, url],
            capture_output=True,
            text=True,
            env=env,
            cwd=root / "work",
            timeout=300,
        )
        assert filled.returncode == 0, filled.stderr[-4000:]
        ids = json.loads(filled.stdout.strip().splitlines()[-1])
        yield Source(url, ids["deleted_run"], ids["in_gone"])
    finally:
        process.terminate()
        process.wait(30)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(autouse=True)
def stratus_token(stratus: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stock client in this process reads Stratus with the admin token (the source ignores it)."""
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", stratus.admin_token)
    for name, value in QUIET.items():
        monkeypatch.setenv(name, value)


def new_workspace(stratus: LiveServer, name: str) -> str:
    response = httpx.post(
        f"{stratus.url}/api/v1/workspaces",
        json={"name": name},
        headers={"Authorization": f"Bearer {stratus.admin_token}"},
    )
    assert response.status_code == 201, response.text
    return f"{stratus.url}/workspaces/{name}"


def cli(*args: str) -> list[str]:
    return [STRATUS, "mlflow", "import", *args]


def cli_env(stratus: LiveServer) -> dict[str, str]:
    return {**os.environ, "STRATUS_URL": stratus.url, "STRATUS_TOKEN": stratus.admin_token}


def run_import(stratus: LiveServer, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cli(*args), capture_output=True, text=True, env=cli_env(stratus), timeout=300)
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr[-4000:])
    return result


def target_runs(stratus: LiveServer, workspace: str) -> list[dict[str, Any]]:
    """Every run of the workspace over plain HTTP, the way a watcher would poll it."""
    headers = {"Authorization": f"Bearer {stratus.admin_token}"}
    base = f"{stratus.url}/workspaces/{workspace}/api/2.0/mlflow"
    experiments = httpx.post(
        f"{base}/experiments/search", json={"max_results": 1000, "view_type": "ALL"}, headers=headers
    ).json()["experiments"]
    body = {"experiment_ids": [e["experiment_id"] for e in experiments], "run_view_type": "ALL"}
    runs: list[dict[str, Any]] = (
        httpx.post(f"{base}/runs/search", json=body, headers=headers).json().get("runs", [])
    )
    return runs


def tags_of(run: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["data"].get("tags", [])}


def tree(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def own_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if not k.startswith(IMPORT_TAG)}


def datasets(run: Any) -> list[tuple[Any, ...]]:
    return [
        (
            d.dataset.name,
            d.dataset.digest,
            d.dataset.source,
            d.dataset.schema,
            d.dataset.profile,
            *sorted((t.key, t.value) for t in d.tags),
        )
        for d in run.inputs.dataset_inputs
    ]


def run_files(client: MlflowClient, run_id: str, folder: Path) -> dict[str, str]:
    return tree(Path(client.download_artifacts(run_id, "", str(folder))))


def files_at(location: str, tracking_uri: str, folder: Path) -> dict[str, str]:
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=location, dst_path=str(folder), tracking_uri=tracking_uri
    )
    return tree(Path(local))


def history(client: MlflowClient, run_id: str, key: str) -> list[tuple[str, str, int, int]]:
    return sorted((m.key, repr(m.value), m.timestamp, m.step) for m in client.get_metric_history(run_id, key))


def test_import_killed_midway_resumes_and_copies_everything_exactly(
    source: Source, stratus: LiveServer, tmp_path: Path
) -> None:
    target_uri = new_workspace(stratus, "imported")
    # First attempt: killed (SIGKILL, no chance to clean up) once the first run is complete.
    attempt = subprocess.Popen(
        cli("--from", source.url, "-w", "imported", "-o", "json"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=cli_env(stratus),
    )
    try:
        while attempt.poll() is None and not any(
            tags_of(r).get("stratus.import.complete") == "true" for r in target_runs(stratus, "imported")
        ):
            time.sleep(0.05)
        attempt.kill()
    finally:
        attempt.wait(30)
    assert attempt.returncode == -signal.SIGKILL, "the import ended before it could be interrupted"
    after_kill = target_runs(stratus, "imported")
    complete_at_kill = [r for r in after_kill if tags_of(r).get("stratus.import.complete") == "true"]
    incomplete_at_kill = [r for r in after_kill if r not in complete_at_kill]
    assert 1 <= len(complete_at_kill) < 5

    resumed = json.loads(run_import(stratus, "--from", source.url, "-w", "imported", "-o", "json").stdout)
    assert resumed["runs_skipped"] == len(complete_at_kill)
    assert resumed["runs_resumed"] == len(incomplete_at_kill)
    assert resumed["runs"] + resumed["runs_skipped"] == 5  # the deleted run and experiment stay out
    assert resumed["experiments"] == 3 and resumed["aliases"] == 2
    assert all("'odd:name.txt' not copied" in w for w in resumed["warnings"]), resumed["warnings"]

    again = json.loads(run_import(stratus, "--from", source.url, "-w", "imported", "-o", "json").stdout)
    assert (again["runs"], again["runs_skipped"], again["metric_points"], again["artifact_files"]) == (
        0,
        5,
        0,
        0,
    )
    assert (again["logged_models"], again["logged_models_skipped"]) == (0, 2)
    assert (again["model_versions"], again["model_versions_skipped"], again["registered_models_created"]) == (
        0,
        3,
        0,
    )

    src = MlflowClient(source.url)
    dst = MlflowClient(target_uri)
    # Experiments by name with their tags; Default is the workspace's own experiment 0.
    src_experiments = {e.name: e for e in src.search_experiments()}
    dst_experiments = {e.name: e for e in dst.search_experiments(view_type=ViewType.ALL)}
    assert set(dst_experiments) == {"Default", "exp-a", "exp-b"}
    assert dst_experiments["Default"].experiment_id == "0"
    for name, experiment in src_experiments.items():
        assert own_tags(dst_experiments[name].tags) == experiment.tags, name

    # Runs: one copy each (deleted spares included), everything equal, parent remapped.
    src_runs = {
        r.info.run_id: r
        for r in src.search_runs(
            [e.experiment_id for e in src_experiments.values()], run_view_type=ViewType.ALL
        )
    }
    dst_runs = dst.search_runs(
        [e.experiment_id for e in dst_experiments.values()], run_view_type=ViewType.ALL
    )
    copies = [r.data.tags["stratus.import.source_run_id"] for r in dst_runs]
    assert sorted(copies) == sorted(set(src_runs) - {source.deleted_run, source.in_gone})
    new_id = {r.data.tags["stratus.import.source_run_id"]: r.info.run_id for r in dst_runs}
    for copy in dst_runs:
        original = src_runs[copy.data.tags["stratus.import.source_run_id"]]
        name = original.info.run_name
        for attribute in ("run_name", "status", "start_time", "end_time", "user_id", "lifecycle_stage"):
            assert getattr(copy.info, attribute) == getattr(original.info, attribute), (name, attribute)
        assert dst_experiments[src.get_experiment(original.info.experiment_id).name].experiment_id == (
            copy.info.experiment_id
        )
        assert copy.data.params == original.data.params, name
        expected_tags = dict(original.data.tags)
        if "mlflow.parentRunId" in expected_tags:
            expected_tags["mlflow.parentRunId"] = new_id[expected_tags["mlflow.parentRunId"]]
        assert own_tags(copy.data.tags) == expected_tags, name
        assert copy.data.tags["stratus.import.source_uri"] == source.url
        assert set(copy.data.metrics) == set(original.data.metrics), name
        for key in original.data.metrics:
            assert history(dst, copy.info.run_id, key) == history(src, original.info.run_id, key), (name, key)
        assert datasets(copy) == datasets(original), name
        expected = run_files(src, original.info.run_id, tmp_path / original.info.run_id)
        expected.pop("odd:name.txt", None)  # refused by Stratus's path rules, reported as a warning
        assert run_files(dst, copy.info.run_id, tmp_path / copy.info.run_id) == expected, name
    parent = next(r for r in dst_runs if r.info.run_name == "parent")
    assert len(history(dst, parent.info.run_id, "long")) == 2500 and len(parent.data.params) == 152
    assert [d[0] for d in datasets(parent)] == ["train"]
    parent_files = run_files(dst, parent.info.run_id, tmp_path / "parent-again")
    assert {"readme.txt", "sub/big.bin", "sub/deeper/values.csv", "copies/values.csv"} <= set(parent_files)

    # Logged models: recreated on the target, linked to the new runs, files byte-exact.
    for run_name in ("parent", "second"):
        original = next(r for r in src_runs.values() if r.info.run_name == run_name)
        copy = next(r for r in dst_runs if r.info.run_name == run_name)
        [src_model] = src.search_logged_models([original.info.experiment_id])
        [dst_model] = dst.search_logged_models([copy.info.experiment_id])
        assert [o.model_id for o in copy.outputs.model_outputs] == [dst_model.model_id]
        assert (dst_model.source_run_id, dst_model.name, dst_model.status) == (
            copy.info.run_id,
            src_model.name,
            src_model.status,
        )
        assert dst_model.params == src_model.params
        assert dst_model.tags["stratus.import.source_model_id"] == src_model.model_id
        assert json.loads(dst_model.tags["mlflow.modelVersions"]) == [
            {"name": "sk-model", "version": "1" if run_name == "parent" else "2"}
        ]
        files = files_at(src_model.artifact_location, source.url, tmp_path / src_model.model_id)
        assert files_at(dst_model.artifact_location, target_uri, tmp_path / dst_model.model_id) == files
        assert "MLmodel" in files

    # Registry: description, tags, versions in order with remapped sources, aliases.
    src_model = src.get_registered_model("sk-model")
    dst_model = dst.get_registered_model("sk-model")
    assert dst_model.description == "linear models" and own_tags(dst_model.tags) == {"owner": "ml-team"}
    assert dst_model.aliases == {"champion": "1", "newest": "3"} == src_model.aliases
    new_model_id = {  # the source's logged model, or for version 3 (its run not copied) the version
        m.tags.get("stratus.import.source_model_id")
        or m.tags["stratus.import.source_model_version"]: m.model_id
        for m in dst.search_logged_models([e.experiment_id for e in dst_experiments.values()])
    }
    for number in ("1", "2", "3"):
        original = src.get_model_version("sk-model", number)
        version = dst.get_model_version("sk-model", number)
        if number == "3":
            assert original.source == f"runs:/{source.deleted_run}/model"
            assert version.source == f"models:/{new_model_id['sk-model/3']}" and not version.run_id
        else:
            assert version.run_id == new_id[original.run_id]
            assert version.source == f"models:/{new_model_id[original.source.removeprefix('models:/')]}"
        assert (version.description or "") == (original.description or "")
        assert own_tags(version.tags) == original.tags
        assert version.tags["stratus.import.source_version"] == number
        files = files_at(
            src.get_model_version_download_uri("sk-model", number), source.url, tmp_path / f"s{number}"
        )
        location = dst.get_model_version_download_uri("sk-model", number)
        assert files_at(location, target_uri, tmp_path / f"d{number}") == files and "MLmodel" in files, number

    predicted = subprocess.run(
        [sys.executable, "-c", PREDICT, source.url, target_uri],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert predicted.returncode == 0, predicted.stderr[-4000:]
    from_source, from_stratus = json.loads(predicted.stdout.strip().splitlines()[-1])
    assert from_stratus == from_source == pytest.approx([4.0, 16.0])


def test_include_deleted_copies_deleted_runs_and_experiments_as_deleted(
    source: Source, stratus: LiveServer
) -> None:
    target_uri = new_workspace(stratus, "with-deleted")
    result = run_import(stratus, "--from", source.url, "-w", "with-deleted", "--include-deleted")
    assert "runs copied" in result.stdout and "sk-model" not in result.stdout  # the table, not JSON
    assert "warning artifact 'odd:name.txt' not copied" in " ".join(result.stderr.split())
    dst = MlflowClient(target_uri)
    gone = dst.get_experiment_by_name("gone")
    assert gone is not None and gone.lifecycle_stage == "deleted"
    runs = dst.search_runs(
        [e.experiment_id for e in dst.search_experiments(view_type=ViewType.ALL)], run_view_type=ViewType.ALL
    )
    by_source = {r.data.tags["stratus.import.source_run_id"]: r for r in runs}
    assert len(by_source) == len(runs) == 7
    for source_id in (source.deleted_run, source.in_gone):
        assert by_source[source_id].info.lifecycle_stage == "deleted"
        assert by_source[source_id].data.tags["stratus.import.complete"] == "true"
    assert by_source[source.deleted_run].data.params == {"p": "x"}
    third = dst.get_model_version("sk-model", "3")  # its run came along this time
    assert third.source == f"runs:/{by_source[source.deleted_run].info.run_id}/model"
    assert sum(r.info.lifecycle_stage == "active" for r in runs) == 5

    again = json.loads(
        run_import(
            stratus, "--from", source.url, "-w", "with-deleted", "--include-deleted", "-o", "json"
        ).stdout
    )
    assert (again["runs"], again["runs_skipped"]) == (0, 7)
    assert dst.get_experiment_by_name("gone").lifecycle_stage == "deleted"
    assert dst.get_run(by_source[source.deleted_run].info.run_id).info.lifecycle_stage == "deleted"


def invoke(stratus: LiveServer, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    """The CLI in this process, for the cases that end before copying anything."""
    monkeypatch.setenv("STRATUS_URL", stratus.url)
    monkeypatch.setenv("STRATUS_TOKEN", stratus.admin_token)
    return CliRunner().invoke(app, ["mlflow", "import", *args])


def test_unreachable_source_names_from_and_fails(
    stratus: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = invoke(stratus, monkeypatch, "--from", f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 1, result.output
    assert "--from" in result.stderr and "SOURCE_UNAVAILABLE" in result.stderr and result.stdout == ""
    assert os.environ["MLFLOW_TRACKING_TOKEN"] == stratus.admin_token  # the swapped variables are back


def test_a_wrong_workspace_is_refused_before_anything_is_read(
    source: Source, stratus: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = invoke(stratus, monkeypatch, "--from", source.url, "-w", "no-such-workspace")
    assert result.exit_code == 1, result.output
    assert "no-such-workspace" in result.stderr and "TARGET_UNAVAILABLE" in result.stderr


def test_a_data_scientist_may_not_import(
    source: Source, stratus: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DESIGN §6 gives mlflow import to Owners and Contributors only; nothing is written otherwise."""
    workspace = "import-by-ds"
    new_workspace(stratus, workspace)
    admin = {"Authorization": f"Bearer {stratus.admin_token}"}
    api = f"{stratus.url}/api/v1"
    assert httpx.post(f"{api}/users", json={"name": "importer-ds"}, headers=admin).status_code == 201
    assign = {"user": "importer-ds", "role": "Data Scientist"}
    created = httpx.post(f"{api}/workspaces/{workspace}/role-assignments", json=assign, headers=admin)
    assert created.status_code == 201, created.text
    minted = httpx.post(f"{api}/tokens", json={"user": "importer-ds", "workspace": workspace}, headers=admin)
    monkeypatch.setenv("STRATUS_URL", stratus.url)
    monkeypatch.setenv("STRATUS_TOKEN", minted.json()["token"])
    result = CliRunner().invoke(app, ["mlflow", "import", "--from", source.url, "-w", workspace])
    assert result.exit_code == 1, result.output
    assert "Owner or Contributor" in result.stderr and "Data Scientist" in result.stderr
    assert target_runs(stratus, workspace) == []
