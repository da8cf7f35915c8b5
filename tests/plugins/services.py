"""Real storage emulators for tests: Azurite (Azure Blob) and moto's standalone S3 server.

Each is started once per session on a free 127.0.0.1 port and stopped at the end. When one cannot
start, its tests fail under ``CI=true`` and are skipped (with the reason) everywhere else.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    from stratus.artifacts import ArtifactStore

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_BIN = REPO_ROOT / "tools" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
STARTUP_TIMEOUT = float(os.environ.get("STRATUS_TEST_SERVICE_TIMEOUT", "60"))
START_ATTEMPTS = 3  # a free port can be taken between choosing it and the server binding it

# Azurite's fixed development account (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def service_unavailable(reason: str) -> NoReturn:
    """Fail under CI (service tests must run there), otherwise skip with a visible reason."""
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: service tests may not be skipped)", pytrace=False)
    pytest.skip(reason)


def unique_name(prefix: str = "t") -> str:
    """A fresh lowercase name valid as an Azure container and an S3 bucket."""
    return f"{prefix}{uuid.uuid4().hex[:20]}"


# Ports for servers that tests start, one block per pytest-xdist worker and below the kernel's ephemeral
# range: a port one worker frees (a server it killed and will restart on that port) is never handed to
# another worker, nor taken by an outgoing connection.
PORT_BLOCK = 1000
PORT_BASE = 19000
_EPHEMERAL_START = 32768


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ...; unset without xdist
    return int(worker[2:]) + 1 if worker.startswith("gw") and worker[2:].isdigit() else 0


def free_port() -> int:
    """A port that nothing listens on, from this worker's block."""
    blocks = (_EPHEMERAL_START - PORT_BASE) // PORT_BLOCK
    start = PORT_BASE + (_worker_index() % blocks) * PORT_BLOCK
    for port in random.sample(range(start, start + PORT_BLOCK), 200):
        with socket.socket() as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}-{start + PORT_BLOCK - 1}")


class _ServiceProcess:
    """A started server process with its output captured to a file (a pipe could fill and block it)."""

    def __init__(self, name: str, argv: list[str], workdir: Path) -> None:
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        try:
            self.process = subprocess.Popen(  # fixed argv, no shell
                argv,
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
        except BaseException:
            self._log.close()
            raise

    def output_tail(self, limit: int = 2000) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").strip()
        return text[-limit:] if text else "(no output)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                # Azurite waits for idle keep-alive connections to close; the data is in memory anyway.
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


def _wait_http(service: _ServiceProcess, port: int, path: str) -> str | None:
    """Poll until the server answers HTTP (any status) on ``path``; None when ready, else why not."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            return f"exited with code {service.process.returncode}: {service.output_tail()}"
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            conn.request("GET", path)
            conn.getresponse().read()
            return None
        except OSError:
            time.sleep(0.1)
        finally:
            conn.close()
    return f"not answering on {HOST}:{port} after {STARTUP_TIMEOUT:.0f}s: {service.output_tail()}"


def _start(
    name: str, argv_for_port: Callable[[int], list[str]], ready_path: str, workdir: Path
) -> tuple[_ServiceProcess, int]:
    problem = ""
    for _ in range(START_ATTEMPTS):
        port = free_port()
        try:
            service = _ServiceProcess(name, argv_for_port(port), workdir)
        except OSError as exc:
            service_unavailable(f"{name} could not be started: {exc}")
        try:
            problem = _wait_http(service, port, ready_path) or ""
        except BaseException:
            service.stop()
            raise
        if not problem:
            return service, port
        service.stop()
    service_unavailable(f"{name} did not start: {problem}")


@dataclass(frozen=True)
class AzuriteService:
    """A running Azurite blob endpoint with its well-known development account."""

    blob_endpoint: str
    account_name: str = AZURITE_ACCOUNT
    account_key: str = AZURITE_KEY

    @property
    def connection_string(self) -> str:
        return (
            "DefaultEndpointsProtocol=http;"
            f"AccountName={self.account_name};AccountKey={self.account_key};"
            f"BlobEndpoint={self.blob_endpoint};"
        )

    @property
    def storage_options(self) -> dict[str, Any]:
        """What ``open_artifact_store("az://...", storage_options=...)`` needs."""
        return {"connection_string": self.connection_string}

    def _client(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)

    def create_container(self, name: str | None = None) -> str:
        name = name or unique_name()
        with self._client() as client:
            client.create_container(name)
        return name

    def delete_container(self, name: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        with self._client() as client, contextlib.suppress(ResourceNotFoundError):
            client.delete_container(name)


@dataclass(frozen=True)
class MotoS3Service:
    """A running moto S3 server; any credentials are accepted, these are the conventional ones."""

    endpoint_url: str
    access_key_id: str = "testing"
    secret_access_key: str = "testing"  # moto accepts anything
    region: str = "us-east-1"

    @property
    def storage_options(self) -> dict[str, Any]:
        """What ``open_artifact_store("s3://...", storage_options=...)`` needs."""
        return {
            "endpoint_url": self.endpoint_url,
            "key": self.access_key_id,
            "secret": self.secret_access_key,
            "client_kwargs": {"region_name": self.region},
        }

    @property
    def env(self) -> dict[str, str]:
        """The same, as the environment variables the s3 backend reads."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
        }

    def _client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )

    def create_bucket(self, name: str | None = None) -> str:
        name = name or unique_name()
        client = self._client()
        try:
            client.create_bucket(Bucket=name)  # us-east-1: no location constraint
        finally:
            client.close()
        return name

    def delete_bucket(self, name: str) -> None:
        client = self._client()
        try:
            paginator = client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=name):
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    client.delete_objects(Bucket=name, Delete={"Objects": keys})
            uploads = client.list_multipart_uploads(Bucket=name).get("Uploads", [])
            for upload in uploads:
                client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
            client.delete_bucket(Bucket=name)
        except client.exceptions.NoSuchBucket:
            pass
        finally:
            client.close()


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteService]:
    """Azurite's blob service, in memory, on a free port, for the whole session."""
    if not AZURITE_BIN.exists():
        service_unavailable(
            f"Azurite is not installed at {AZURITE_BIN.relative_to(REPO_ROOT)}: "
            "run `npm ci --prefix tools/azurite` (make test does)"
        )
    if shutil.which("node") is None:
        service_unavailable("Azurite needs Node.js, and `node` is not on PATH")
    # --inMemoryPersistence refuses --location, so the working directory is a fresh temporary one
    # in case Azurite writes anything at all.
    with tempfile.TemporaryDirectory(prefix="stratus-azurite-") as workdir:
        service, port = _start(
            "azurite",
            lambda port: [
                str(AZURITE_BIN),
                "--blobHost",
                HOST,
                "--blobPort",
                str(port),
                "--skipApiVersionCheck",
                "--loose",
                "--inMemoryPersistence",
                "--silent",
            ],
            f"/{AZURITE_ACCOUNT}?comp=list",
            Path(workdir),
        )
        try:
            yield AzuriteService(blob_endpoint=f"http://{HOST}:{port}/{AZURITE_ACCOUNT}")
        finally:
            service.stop()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3Service]:
    """moto's standalone S3 server on a free port, for the whole session."""
    script = Path(sys.executable).with_name("moto_server")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "moto.server"]
    with tempfile.TemporaryDirectory(prefix="stratus-moto-") as workdir:
        service, port = _start(
            "moto_server",
            lambda port: [*command, "-H", HOST, "-p", str(port)],
            "/",
            Path(workdir),
        )
        try:
            yield MotoS3Service(endpoint_url=f"http://{HOST}:{port}")
        finally:
            service.stop()


@pytest.fixture
def azure_container(azurite: AzuriteService) -> Iterator[str]:
    """A fresh, empty container, deleted after the test."""
    name = azurite.create_container()
    try:
        yield name
    finally:
        azurite.delete_container(name)


@pytest.fixture
def s3_bucket(moto_s3: MotoS3Service) -> Iterator[str]:
    """A fresh, empty bucket, deleted after the test."""
    name = moto_s3.create_bucket()
    try:
        yield name
    finally:
        moto_s3.delete_bucket(name)


def open_backend_store(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, prefix: str
) -> ArtifactStore:
    """An empty artifact store on ``backend`` (file, az or s3) below ``prefix``, in a fresh container."""
    from stratus.artifacts import open_artifact_store

    if backend == "file":
        return open_artifact_store(str(tmp_path / "artifacts" / prefix))
    if backend == "az":
        azurite: AzuriteService = request.getfixturevalue("azurite")
        container: str = request.getfixturevalue("azure_container")
        return open_artifact_store(f"az://{container}/{prefix}", storage_options=azurite.storage_options)
    moto: MotoS3Service = request.getfixturevalue("moto_s3")
    bucket: str = request.getfixturevalue("s3_bucket")
    return open_artifact_store(f"s3://{bucket}/{prefix}", storage_options=moto.storage_options)
