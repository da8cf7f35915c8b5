"""A server killed (SIGKILL) in the middle of uploads leaves no visible partial artifact.

Two uploads are streaming when the server dies: a single PUT and a part of a multipart upload whose other
parts are already staged. After a restart on the same home nothing of either shows in get or list (the
leftovers are there, out of sight), and the multipart upload can still be finished with its URLs.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from mlflow import MlflowClient

from plugins.services import MotoS3Service
from plugins.stratus_server import LiveServer, start_server, wait_ready

MIB = 1 << 20
DECLARED = 64 * MIB  # what each in-flight upload announces
SENT = 10 * MIB  # what it sends before the kill: past one 8 MiB block, so object stores are mid-upload too
MPU = "/api/2.0/mlflow-artifacts/mpu"


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _start_streamed_put(server: LiveServer, url: str, headers: dict[str, str]) -> http.client.HTTPConnection:
    """A PUT that announces DECLARED bytes, sends SENT of them, and then just waits."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    connection.putrequest("PUT", target)
    for name, value in {**headers, "Content-Length": str(DECLARED)}.items():
        connection.putheader(name, value)
    connection.endheaders()
    connection.send(os.urandom(SENT))
    return connection


class _Uploads:
    """How to see, on each backend, that a write is under way in the store."""

    def __init__(self, backend: str, home: Path, moto: MotoS3Service | None, bucket: str | None) -> None:
        self.backend, self.home, self.moto, self.bucket = backend, home, moto, bucket

    def in_flight(self) -> int:
        if self.backend == "file":
            temps = self.home.joinpath("workspaces").rglob("~stratus-tmp-*")
            return sum(1 for t in temps if t.stat().st_size >= MIB)
        assert self.moto is not None
        client = self.moto._client()
        try:
            return len(client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []))
        finally:
            client.close()


@pytest.fixture(params=["file", pytest.param("s3", marks=pytest.mark.s3)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, dict[str, str], _Uploads]]:
    home = tmp_path / "home"
    if request.param == "file":
        yield "file", {}, _Uploads("file", home, None, None)
        return
    moto: MotoS3Service = request.getfixturevalue("moto_s3")
    bucket: str = request.getfixturevalue("s3_bucket")
    env = {"STRATUS_ARTIFACT_URI": f"s3://{bucket}/stratus", **moto.env}
    yield "s3", env, _Uploads("s3", home, moto, bucket)


def test_killed_server_leaves_no_partial_artifact(
    tmp_path: Path, backend: tuple[str, dict[str, str], _Uploads], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, env, uploads = backend
    home = tmp_path / "home"
    server = start_server(home, env=env)
    port, token = server.port, server.admin_token
    headers = {"Authorization": f"Bearer {token}"}
    connections: list[http.client.HTTPConnection] = []
    try:
        run = httpx.post(
            f"{server.url}/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}, headers=headers
        )
        run_id = run.json()["run"]["info"]["run_id"]
        folder = f"0/{run_id}/artifacts"
        created: dict[str, Any] = httpx.post(
            f"{server.url}{MPU}/create/{folder}", json={"path": "model.bin", "num_parts": 3}, headers=headers
        ).json()
        urls = [c["url"] for c in created["credentials"]]
        pieces = [os.urandom(MIB + i) for i in range(3)]
        etags = [httpx.put(urls[i], content=pieces[i]).headers["ETag"] for i in range(2)]

        artifact_url = f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{folder}/big.bin"
        connections.append(_start_streamed_put(server, artifact_url, headers))
        connections.append(_start_streamed_put(server, urls[2], {}))  # part 3: no token, its URL signs it
        _wait_for(lambda: uploads.in_flight() >= 2, "both uploads to be under way in the store")
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
        for connection in connections:
            connection.close()

        server = start_server(home, env=env, port=port, wait=False)
        wait_ready(server)
        for path in ("big.bin", "model.bin"):
            response = httpx.get(
                f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{folder}/{path}", headers=headers
            )
            assert response.status_code == 404, (path, response.status_code)
        listing = httpx.get(
            f"{server.url}/api/2.0/mlflow-artifacts/artifacts", params={"path": folder}, headers=headers
        )
        assert listing.json() == {}
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        client = MlflowClient(tracking_uri=f"{server.url}/workspaces/default")
        assert client.list_artifacts(run_id) == []
        assert uploads.in_flight() >= 2, "the leftovers of the killed writes should still be there"
        if name == "file":  # they are, and no listing shows them
            workspace = home / "workspaces" / "default"
            assert list((workspace / folder).glob("~stratus-tmp-*"))
            root = httpx.get(
                f"{server.url}/api/2.0/mlflow-artifacts/artifacts", params={"path": ""}, headers=headers
            ).json()
            assert [f["path"] for f in root["files"]] == ["0"], root

        # The multipart upload outlived the server: its URLs and staged parts still serve to finish it.
        etags.append(httpx.put(urls[2], content=pieces[2]).headers["ETag"])
        parts = [{"part_number": n, "etag": e} for n, e in enumerate(etags, 1)]
        complete = httpx.post(
            f"{server.url}{MPU}/complete/{folder}",
            json={"path": "model.bin", "upload_id": created["upload_id"], "parts": parts},
            headers=headers,
        )
        assert complete.status_code == 200, complete.text
        model = httpx.get(
            f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{folder}/model.bin", headers=headers
        )
        assert hashlib.sha256(model.content).digest() == hashlib.sha256(b"".join(pieces)).digest()
        assert [f.path for f in client.list_artifacts(run_id)] == ["model.bin"]
    finally:
        for connection in connections:
            connection.close()
        server.stop()
