"""A Docker build-context environment on a server where a docker CLI answers. No Docker engine runs on the
machines these tests use, so a stand-in ``docker`` script on the server's PATH answers ``docker info`` and
``docker build`` (checking it was given the uploaded context and Dockerfile): this tests Stratus's part —
upload, registration, status, log and refusal — not Docker. Without any docker, the same spec is
``NotBuildable`` (tested in test_environments.py)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.stratus_server import LiveServer, start_server
from stratus import MLClient
from stratus.entities.assets import BuildContext, Environment
from stratus.environments import EnvironmentBuildError

DOCKER = """#!/bin/sh
case "$1" in
  info) echo "Server Version: stand-in"; exit 0 ;;
  build)
    # docker build --file <dockerfile> --tag <tag> <context>
    dockerfile="$3"; tag="$5"; context="$6"
    test -f "$context/app/main.py" || { echo "context is missing app/main.py"; exit 1; }
    if grep -q FAIL "$dockerfile"; then echo "Step 2/2 : RUN false"; echo "error: exit code 1"; exit 1; fi
    echo "Step 1/2 : $(head -n 1 "$dockerfile")"
    echo "Successfully tagged $tag"
    exit 0 ;;
esac
exit 2
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("docker")
    bin_dir = root / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(DOCKER)
    docker.chmod(docker.stat().st_mode | stat.S_IXUSR)
    live = start_server(
        root / "home",
        env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "STRATUS_ENV_CACHE": str(root / "envs")},
    )
    yield live
    live.stop()


def context(folder: Path, dockerfile: str) -> Path:
    (folder / "app").mkdir(parents=True)
    (folder / "app" / "main.py").write_text("print('hi')\n")
    (folder / "Dockerfile").write_text(dockerfile)
    return folder


def test_build_context_is_uploaded_built_and_logged(server: LiveServer, tmp_path: Path) -> None:
    with MLClient(server.admin_token, endpoint=server.url, show_progress=False) as ml:
        ok = ml.environments.create_or_update(
            Environment(
                name="docker-ok",
                build=BuildContext(path=str(context(tmp_path / "ok", "FROM python:3.11-slim\n"))),
            )
        )
        assert ok.build.path.startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
        assert ok.status == "Registered"
        built = ml.environments.build("docker-ok", ok.version)
        assert built.status == "Succeeded"
        log = "\n".join(ml.environments.build_log("docker-ok", ok.version))
        assert "Successfully tagged stratus/default/docker-ok:1" in log
        bad = ml.environments.create_or_update(
            Environment(
                name="docker-bad", build=BuildContext(path=str(context(tmp_path / "bad", "FROM x\nFAIL\n")))
            )
        )
        with pytest.raises(EnvironmentBuildError, match="exit code 1"):
            ml.environments.build("docker-bad", bad.version)
        failed = ml.environments.get("docker-bad", bad.version)
        assert failed.status == "Failed" and "exit code 1" in failed.build_error
