"""Proxied artifacts with the stock mlflow client: upload, list, download, delete; hashes recorded."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow
import pytest
from mlflow import MlflowClient

from plugins.stratus_server import LiveServer, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("mlflow-artifacts") / "home")
    yield live
    live.stop()


@pytest.fixture
def client(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server.admin_token)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"{server.url}/workspaces/default")
    return MlflowClient(tracking_uri=f"{server.url}/workspaces/default")


def test_log_list_download_delete(client: MlflowClient, server: LiveServer, tmp_path: Path) -> None:
    run_id = client.create_run("0").info.run_id
    big = os.urandom(3 * 1024 * 1024 + 17)
    (tmp_path / "model.bin").write_bytes(big)
    (tmp_path / "tree" / "inner").mkdir(parents=True)
    (tmp_path / "tree" / "a.txt").write_text("alpha")
    (tmp_path / "tree" / "inner" / "b.json").write_text('{"b": 1}')
    client.log_artifact(run_id, str(tmp_path / "model.bin"))
    client.log_artifacts(run_id, str(tmp_path / "tree"), artifact_path="tree")
    top = {(f.path, f.is_dir) for f in client.list_artifacts(run_id)}
    assert top == {("model.bin", False), ("tree", True)}
    # MLflow 3 consults logged models for run-level sub-paths; both ways must agree.
    assert {(f.path, f.is_dir) for f in client.list_artifacts(run_id, "tree")} == {
        ("tree/a.txt", False),
        ("tree/inner", True),
    }
    artifact_uri = client.get_run(run_id).info.artifact_uri
    inner = mlflow.artifacts.list_artifacts(artifact_uri=f"{artifact_uri}/tree")
    assert {(f.path, f.is_dir, f.file_size) for f in inner} == {
        ("tree/a.txt", False, 5),
        ("tree/inner", True, None),
    }
    out = Path(mlflow.artifacts.download_artifacts(artifact_uri=artifact_uri, dst_path=str(tmp_path / "out")))
    assert (out / "model.bin").read_bytes() == big
    assert (out / "tree" / "inner" / "b.json").read_text() == '{"b": 1}'
    # The server recorded what it stored.
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    url = f"{server.url}/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/model.bin"
    assert (
        hashlib.sha256(httpx.get(url, headers=headers).content).hexdigest() == hashlib.sha256(big).hexdigest()
    )
    from stratus.config import Settings
    from stratus.server.state import bootstrap

    state = bootstrap(Settings(home=server.home))
    try:
        ws = state.store.workspaces.get("default")
        record = state.artifact_objects.record(ws, f"0/{run_id}/artifacts/model.bin")
        assert (record.size, record.sha256) == (len(big), hashlib.sha256(big).hexdigest())
    finally:
        state.close()
    assert (
        httpx.delete(
            f"{server.url}/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/tree", headers=headers
        ).status_code
        == 200
    )
    assert {f.path for f in client.list_artifacts(run_id)} == {"model.bin"}


@pytest.mark.parametrize(
    "path",
    [
        "..%2f..%2fetc%2fpasswd",
        "%2e%2e/%2e%2e/x",
        "a/%252e%252e/%252e%252e/x",
        "a%5c..%5cb",
        "x%00y",
        "C:%5cwin",
    ],
)
def test_traversal_is_refused(server: LiveServer, path: str) -> None:
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    base = f"{server.url}/workspaces/default/api/2.0/mlflow-artifacts/artifacts/"
    for method in ("GET", "PUT", "DELETE"):
        response = httpx.request(
            method, base + path, headers=headers, content=b"x" if method == "PUT" else None
        )
        assert response.status_code in (400, 404), (method, path, response.status_code, response.text)
    listing = httpx.get(base.rstrip("/"), params={"path": "../../etc"}, headers=headers)
    assert listing.status_code == 400


def test_uploads_need_a_token_and_a_writer(server: LiveServer) -> None:
    url = f"{server.url}/api/2.0/mlflow-artifacts/artifacts/0/x/artifacts/f.txt"
    assert httpx.put(url, content=b"x").status_code == 401
    assert httpx.get(url).status_code == 401
