"""A canary secret planted everywhere a secret can go (a user secret, an S3 datastore's secret key, a
package index's password used by an environment build, a launch-time resolution) must appear in no
response, no CLI output, no log and no file the server or its builds wrote."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from plugins.package_index import serve_index
from plugins.services import MotoS3Service, free_port
from plugins.stratus_server import LiveServer, start_server
from stratus import MLClient
from stratus.cli.main import app
from stratus.entities.assets import AccessKeyConfiguration, Data, Environment, S3Datastore
from stratus.errors import InvalidInputError
from stratus.secrets import KeyVault, master_key, resolve_for_launch
from stratus.server.services.auth import AuthService
from stratus.server.services.context import Caller
from stratus.store.sql import open_store

CANARY = "canary-7f00d2be94c1-secret"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("canary")


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[LiveServer]:
    # The default index is a closed port: the build's packages all come from the canary's index (below).
    closed = f"http://127.0.0.1:{free_port()}/simple"
    live = start_server(
        workdir / "home", env={"STRATUS_ENV_CACHE": str(workdir / "envs"), "UV_INDEX_URL": closed}
    )
    yield live
    live.stop()


def written_since(root: Path, since: float) -> list[Path]:
    """Regular files under ``root`` modified at or after ``since`` (files removed while walking skipped)."""
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue
            if stat.S_ISREG(info.st_mode) and info.st_mtime >= since:
                found.append(path)
    return found


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes() if path.stat().st_size < 100_000_000 else b""
    except FileNotFoundError:
        return b""


def uv_cache() -> Path:
    return Path(os.environ.get("UV_CACHE_DIR") or Path.home() / ".cache" / "uv")


@pytest.mark.s3
def test_canary_secret_never_leaks(
    server: LiveServer, workdir: Path, moto_s3: MotoS3Service, s3_bucket: str
) -> None:
    started = time.time()
    outputs: list[str] = []
    runner = CliRunner()
    env = {"STRATUS_URL": server.url, "STRATUS_TOKEN": server.admin_token}

    def cli(*args: str, input: str | None = None, code: int = 0) -> None:
        result = runner.invoke(app, list(args), input=input, env=env)
        outputs.extend([result.stdout, result.stderr])
        assert result.exit_code == code, (args, result.stdout, result.stderr)

    cli("secret", "set", "-n", "CANARY", input=CANARY + "\n")
    cli("secret", "list", "-o", "table")
    client = moto_s3._client()
    try:
        client.put_object(Bucket=s3_bucket, Key="d/t.csv", Body=b"a,b\n1,2\n")
    finally:
        client.close()
    with MLClient(server.admin_token, endpoint=server.url, show_progress=False) as ml:
        # moto accepts any key: the canary is the datastore's secret access key.
        ml.datastores.create_or_update(
            S3Datastore(
                name="canary_s3",
                bucket=s3_bucket,
                endpoint_url=moto_s3.endpoint_url,
                credentials=AccessKeyConfiguration(access_key_id="canary-id", secret_access_key=CANARY),
            )
        )
        with pytest.raises(InvalidInputError) as refused:  # an error path that names the datastore
            ml.datastores.create_or_update(
                S3Datastore(
                    name="canary_missing",
                    bucket=f"{s3_bucket}-missing",
                    endpoint_url=moto_s3.endpoint_url,
                    credentials=AccessKeyConfiguration(access_key_id="canary-id", secret_access_key=CANARY),
                )
            )
        outputs.append(str(refused.value))
        data = ml.data.create_or_update(
            Data(name="canary-data", path=f"s3://{s3_bucket}/d/t.csv", type="uri_file")
        )
        outputs.append(json.dumps(data.as_dict()))
        for index in serve_index(workdir / "index", password=CANARY):
            index.publish("0.1.0")
            index.publish("99.0.0", package="mlflow-skinny")  # a stand-in of what every plan adds: no PyPI
            ml.secrets.set("INDEX_PASSWORD", CANARY)
            spec = Environment(
                name="canary-env",
                python="3.11",
                pip=[
                    f"--extra-index-url {index.url_with('stratus:${{secrets.INDEX_PASSWORD}}')}",
                    "stratus-demo-pkg",
                ],
            )
            created = ml.environments.create_or_update(spec)
            built = ml.environments.build("canary-env", created.version)
            assert built.status == "Succeeded"
            assert any(ok for _, ok in index.requests)
            outputs.extend(ml.environments.build_log("canary-env", created.version))
            outputs.append(ml.environments.lock("canary-env", created.version))
    cli("datastore", "show", "-n", "canary_s3")
    cli("datastore", "list", "-o", "table")
    cli("data", "show", "-n", "canary-data", "-v", "1")
    cli("environment", "show", "-n", "canary-env", "-v", "1")
    cli("environment", "download", "-n", "canary-env", "-v", "1", "-p", str(workdir / "download"))
    cli("audit", "list")
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    spec = httpx.get(f"{server.url}/openapi.json", headers=headers).json()
    # Every GET route of the workspace API without other path parameters.
    for path, methods in spec["paths"].items():
        if "get" in methods and path.startswith("/api/v1/"):
            concrete = path.replace("{workspace_name}", "default")
            if "{" not in concrete:
                outputs.append(httpx.get(server.url + concrete, headers=headers).text)
    server.stop()  # flush logs and the database
    # Launch-time resolution, as the job launcher will do it: the value goes into one child's environment.
    store = open_store(f"sqlite:///{server.home / 'stratus.db'}")
    try:
        key = master_key.read(None, server.home / "master.key")
        assert key is not None
        admin = store.users.get("admin")
        caller = Caller(
            user_id=admin.id,
            user_name="admin",
            is_server_admin=True,
            token_id=None,
            token_workspace_id=None,
            token_workspace_name=None,
        )
        workspace = store.workspaces.get("default")
        env = resolve_for_launch(
            {"environment_variables": {"TOKEN": "${{secrets.CANARY}}"}},
            vault=KeyVault(store, key),
            workspace=workspace,
            caller=caller,
            authorize=AuthService(store, cache_seconds=0).authorize,
        )
        digest = workdir / "child-digest.txt"
        script = (
            "import hashlib, os, sys\n"
            "open(sys.argv[1], 'w').write(hashlib.sha256(os.environ['TOKEN'].encode()).hexdigest())"
        )
        subprocess.run([sys.executable, "-c", script, str(digest)], env={**os.environ, **env}, check=True)
        assert digest.read_text() == hashlib.sha256(CANARY.encode()).hexdigest()
        assert store.audit.list(action="secret.resolve").items[0].target == "CANARY"
    finally:
        store.close()
    leaks = [i for i, text in enumerate(outputs) if CANARY in text]
    assert not leaks, [outputs[i][:300] for i in leaks]
    roots = [server.home, workdir / "envs", workdir / "download", server.log_path]
    files = [p for root in roots for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file()]
    # The uv cache is shared with the developer and with the other test workers: only what was written
    # during this test is searched, and files that vanish meanwhile are passed over.
    files += written_since(uv_cache(), started)
    assert len(files) > 20
    needle = CANARY.encode()
    found = [str(p) for p in files if needle in _read(p)]
    assert not found
