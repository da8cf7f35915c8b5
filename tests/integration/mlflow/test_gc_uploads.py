"""``stratus gc`` sweeps what a server killed mid-upload leaves, on every artifact store.

Two uploads are streaming when the server gets SIGKILL: a single artifact PUT and the last part of a
multipart upload whose other parts are stored. After a restart, gc with its default age keeps
everything (an upload could still be under way), ``--dry-run`` only counts, and gc with a short age
removes the multipart upload's staging folder with the store's upload behind it, and the unfinished
single write (a temporary file, or an S3 multipart upload of a streamed write). Azure's uncommitted
blocks cannot be deleted: they stay invisible until Azure drops them, and gc says nothing about them.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from plugins.services import AzuriteService, MotoS3Service
from plugins.stratus_server import LiveServer, cli_invoker, start_server, wait_ready

MIB = 1 << 20
DECLARED = 64 * MIB  # what each in-flight upload announces
SENT = 10 * MIB  # what it sends before the kill: past one 8 MiB block, so object stores are mid-upload
MPU = "/api/2.0/mlflow-artifacts/mpu"


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _start_streamed_put(server: LiveServer, url: str, headers: dict[str, str]) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    connection.putrequest("PUT", parts.path + (f"?{parts.query}" if parts.query else ""))
    for name, value in {**headers, "Content-Length": str(DECLARED)}.items():
        connection.putheader(name, value)
    connection.endheaders()
    connection.send(os.urandom(SENT))
    return connection


@dataclass
class Backend:
    """One artifact store, and how to see in it what an upload leaves."""

    name: str
    env: dict[str, str]
    home: Path
    azurite: AzuriteService | None = None
    container: str | None = None
    moto: MotoS3Service | None = None
    bucket: str | None = None

    def names(self) -> list[str]:
        """Every name in the store, hidden ones included (temporary files, staging folders)."""
        if self.name == "file":
            root = self.home / "workspaces"
            return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        if self.azurite is not None:
            with self.azurite._client() as service:
                return sorted(b.name for b in service.get_container_client(self.container).list_blobs())
        assert self.moto is not None
        client = self.moto._client()
        try:
            return sorted(o["Key"] for o in client.list_objects_v2(Bucket=self.bucket).get("Contents", []))
        finally:
            client.close()

    def s3_uploads(self) -> list[str]:
        if self.moto is None:
            return []
        client = self.moto._client()
        try:
            return sorted(
                u["Key"] for u in client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])
            )
        finally:
            client.close()

    def uncommitted_blocks(self, blob: str) -> int:
        assert self.azurite is not None
        with self.azurite._client() as service:
            client = service.get_container_client(self.container).get_blob_client(f"stratus/default/{blob}")
            try:
                return len(client.get_block_list("uncommitted")[1])
            except Exception:
                return 0

    def both_in_flight(self, folder: str) -> bool:
        """Whether the store shows both streamed uploads under way."""
        if self.name == "file":
            temps = self.home.joinpath("workspaces").rglob("~stratus-tmp-*")
            return sum(1 for t in temps if t.stat().st_size >= MIB) >= 2
        if self.name == "s3":  # the multipart upload's S3 upload, and s3fs's for the streamed PUT
            return len(self.s3_uploads()) >= 2
        return all(self.uncommitted_blocks(f"{folder}/{name}") for name in ("big.bin", "model.bin"))


@pytest.fixture(
    params=["file", pytest.param("az", marks=pytest.mark.azurite), pytest.param("s3", marks=pytest.mark.s3)]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    home = tmp_path / "home"
    if request.param == "file":
        yield Backend("file", {}, home)
    elif request.param == "az":
        azurite: AzuriteService = request.getfixturevalue("azurite")
        container: str = request.getfixturevalue("azure_container")
        env = {
            "STRATUS_ARTIFACT_URI": f"az://{container}/stratus",
            "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string,
        }
        yield Backend("az", env, home, azurite=azurite, container=container)
    else:
        moto: MotoS3Service = request.getfixturevalue("moto_s3")
        bucket: str = request.getfixturevalue("s3_bucket")
        yield Backend(
            "s3",
            {"STRATUS_ARTIFACT_URI": f"s3://{bucket}/stratus", **moto.env},
            home,
            moto=moto,
            bucket=bucket,
        )


def test_gc_sweeps_what_killed_uploads_left(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    server = start_server(backend.home, env=backend.env)
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    connections: list[http.client.HTTPConnection] = []
    try:
        run = httpx.post(
            f"{server.url}/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}, headers=headers
        )
        folder = f"0/{run.json()['run']['info']['run_id']}/artifacts"
        created: dict[str, Any] = httpx.post(
            f"{server.url}{MPU}/create/{folder}", json={"path": "model.bin", "num_parts": 3}, headers=headers
        ).json()
        urls = [c["url"] for c in created["credentials"]]
        for url in urls[:2]:  # 5 MiB: on S3 these go into the S3 multipart upload
            assert httpx.put(url, content=os.urandom(5 * MIB)).status_code == 200
        connections.append(
            _start_streamed_put(
                server, f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{folder}/big.bin", headers
            )
        )
        connections.append(_start_streamed_put(server, urls[2], {}))
        _wait_for(lambda: backend.both_in_flight(folder), "both uploads to be under way in the store")
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
        killed_at = time.time()
        for connection in connections:
            connection.close()

        server = start_server(backend.home, env=backend.env, port=server.port, wait=False)
        wait_ready(server)
        staging = f"~stratus-staging/{created['upload_id']}/"
        left = backend.names()
        assert [n for n in left if staging in n], "the multipart upload's staging folder is there"
        if backend.name == "file":
            assert [n for n in left if n.startswith(f"default/{folder}/~stratus-tmp-")], left
        if backend.name == "s3":
            assert backend.s3_uploads() == [f"stratus/default/{folder}/{n}" for n in ("big.bin", "model.bin")]

        invoke = cli_invoker(server, monkeypatch)

        def gc(*args: str) -> dict[str, int]:
            report = json.loads(invoke("gc", *args, "-o", "json").stdout)
            return dict(report["upload_leftovers"])

        interrupted = {"file": 1, "s3": 1, "az": 0}[backend.name]  # Azure: blocks it cannot delete
        # A day is the default age, so nothing is old enough yet; but moto dates every S3 upload
        # 2010-11-10, which makes the streamed write's S3 upload look old. The multipart upload's own S3
        # upload is still kept: its (young) staging folder names it.
        young = {"multipart_uploads": 0, "interrupted_writes": 1 if backend.name == "s3" else 0}
        assert gc("--dry-run") == young
        time.sleep(max(0.0, killed_at + 1.5 - time.time()))  # so that the leftovers are over 1s old
        expected = {"multipart_uploads": 1, "interrupted_writes": interrupted}
        assert gc("--dry-run", "--uploads-older-than", "1s") == expected
        assert backend.names() == left, "a dry run removes nothing"
        assert gc("--uploads-older-than", "1s") == expected

        remaining = backend.names()
        assert not [n for n in remaining if "~stratus-staging" in n or "~stratus-tmp-" in n], remaining
        assert backend.s3_uploads() == []
        assert gc("--uploads-older-than", "1s") == {"multipart_uploads": 0, "interrupted_writes": 0}
        listing = httpx.get(
            f"{server.url}/api/2.0/mlflow-artifacts/artifacts", params={"path": folder}, headers=headers
        )
        assert listing.json() == {}
    finally:
        for connection in connections:
            connection.close()
        server.stop()
