"""Environments built by a real server with uv: index credentials from the key vault, builds shared and
recorded, a recorded lock that keeps a second server from drifting, failures that name what failed, and forms
that cannot be built.

No build here reaches PyPI: the local index also holds a hand-written stand-in of mlflow-skinny (the
package every plan adds), which uv finds there first, and each server's default index is a closed local
port, so a lookup that fell through to a default index would fail the build instead of going out.
(test_model_environment.py builds with the real mlflow.)"""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.package_index import PackageIndex
from plugins.services import free_port
from plugins.stratus_server import LiveServer, start_server
from stratus import MLClient
from stratus.entities.assets import BuildContext, Environment
from stratus.environments import EnvironmentBuildError, EnvironmentCache, docker_available
from stratus.errors import InvalidInputError

PASSWORD = "index-pass-7c1d"
STAND_IN_MLFLOW = "99.0.0"
NO_DEFAULT_INDEX = {"UV_INDEX_URL": f"http://127.0.0.1:{free_port()}/simple"}


@pytest.fixture(scope="module")
def package_index(package_index: PackageIndex) -> PackageIndex:
    """The plugin's credentialed index, plus the stand-in mlflow-skinny."""
    package_index.publish(STAND_IN_MLFLOW, package="mlflow-skinny")
    return package_index


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("envs")


@pytest.fixture(scope="module")
def server(shared: Path) -> Iterator[LiveServer]:
    live = start_server(
        shared / "home", env={"STRATUS_ENV_CACHE": str(shared / "cache-a"), **NO_DEFAULT_INDEX}
    )
    yield live
    live.stop()


@pytest.fixture
def ml(server: LiveServer) -> Iterator[MLClient]:
    with MLClient(server.admin_token, endpoint=server.url, show_progress=False) as client:
        yield client


def demo_spec(name: str, package_index: PackageIndex, requirement: str = "stratus-demo-pkg") -> Environment:
    index = package_index.url_with("stratus:${{secrets.INDEX_PASSWORD}}")
    return Environment(name=name, python="3.11", pip=[f"--extra-index-url {index}", requirement])


def _index_answer(url: str, userinfo: str | None) -> int:
    request = urllib.request.Request(url)
    if userinfo is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(userinfo.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_build_with_index_credentials_from_the_vault(
    ml: MLClient, server: LiveServer, package_index: PackageIndex
) -> None:
    # The index really enforces its password: its project page and its wheel refuse an anonymous request
    # and wrong credentials (so a build that succeeds below must have sent the vault's value).
    wheel = "/files/stratus_demo_pkg-0.1.0-py3-none-any.whl"
    root = package_index.url.removesuffix("/simple")
    before = len(package_index.requests)
    for userinfo in (None, "stratus:wrong-password", f"other:{PASSWORD}"):
        for path in ("/simple/stratus-demo-pkg/", wheel):
            assert _index_answer(root + path, userinfo) == 401, (userinfo, path)
    assert [ok for _, ok in package_index.requests[before:]] == [False] * 6, "the index saw other requests"
    probes = len(package_index.requests)

    ml.secrets.set("INDEX_PASSWORD", PASSWORD)
    created = ml.environments.create_or_update(demo_spec("demo", package_index))
    assert created.status == "Registered" and not created.lock_available
    built = ml.environments.build("demo", created.version)
    assert built.status == "Succeeded" and built.lock_available and built.python_version.startswith("3.11")
    # Every request the build made was authorised, and it fetched both the page and the wheel.
    by_build = package_index.requests[probes:]
    assert by_build and all(ok for _, ok in by_build), by_build
    assert {"/simple/stratus-demo-pkg/", wheel} <= {path for path, _ in by_build}, by_build
    lock = ml.environments.lock("demo", created.version)
    assert "stratus-demo-pkg==0.1.0" in lock and f"mlflow-skinny=={STAND_IN_MLFLOW}" in lock
    assert "--hash=sha256:" in lock
    log = "\n".join(ml.environments.build_log("demo", created.version))
    for text in (lock, log, json.dumps(built.as_dict())):
        assert PASSWORD not in text
    for path in server.home.rglob("*"):
        if path.is_file() and path.stat().st_size < 50_000_000:
            assert PASSWORD.encode() not in path.read_bytes(), path
    audit = [e for e in ml.audit.list(action="secret.resolve") if e.target == "INDEX_PASSWORD"]
    assert audit and audit[0].detail["purpose"] == "environment build"
    # Same spec, new version: a cache hit, no second resolve.
    again = ml.environments.create_or_update(demo_spec("demo", package_index))
    assert again.spec_hash == created.spec_hash and again.status == "Succeeded"


def test_concurrent_builds_of_one_spec_build_once(
    ml: MLClient, server: LiveServer, package_index: PackageIndex
) -> None:
    spec = demo_spec("racing", package_index, "stratus-demo-pkg<0.2")
    versions = [ml.environments.create_or_update(spec).version for _ in range(3)]
    results: list[str] = []

    def build(version: str) -> None:
        with MLClient(server.admin_token, endpoint=server.url, show_progress=False) as client:
            results.append(client.environments.build("racing", version).status)

    resolved_before = len([e for e in ml.audit.list(action="secret.resolve") if e.target == "INDEX_PASSWORD"])
    threads = [threading.Thread(target=build, args=(v,)) for v in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["Succeeded"] * 3
    # One build ran: it alone resolved the index password (the log file is rewritten by each build).
    resolved = [e for e in ml.audit.list(action="secret.resolve") if e.target == "INDEX_PASSWORD"]
    assert len(resolved) == resolved_before + 1
    log = "\n".join(ml.environments.build_log("racing", versions[0]))
    assert log.count("# Stratus environment ") == 1


def test_recorded_lock_keeps_a_second_server_from_drifting(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    spec = demo_spec("pinned", package_index, "stratus-demo-pkg<1")
    first_server = start_server(
        tmp_path / "home", env={"STRATUS_ENV_CACHE": str(tmp_path / "cache-a"), **NO_DEFAULT_INDEX}
    )
    try:
        with MLClient(first_server.admin_token, endpoint=first_server.url, show_progress=False) as ml:
            ml.secrets.set("INDEX_PASSWORD", PASSWORD)
            first = ml.environments.create_or_update(spec)
            ml.environments.build("pinned", first.version)
    finally:
        first_server.stop()
    package_index.publish("0.3.0")  # the index moves on
    cache_a = EnvironmentCache(tmp_path / "cache-a")
    freeze_a = cache_a.get(first.spec_hash).freeze_text
    assert "stratus-demo-pkg==0.1.0" in freeze_a
    # Rebuilding from the recorded lock gives an identical freeze.
    assert (
        cache_a.rebuild(
            first.spec_hash,
            tmp_path / "rebuilt",
            resolve_secret=lambda _: PASSWORD,
            index_env=NO_DEFAULT_INDEX,
        )
        == freeze_a
    )
    # A second server on the same database with an empty cache installs the recorded lock, not 0.3.0.
    second = start_server(
        tmp_path / "home", env={"STRATUS_ENV_CACHE": str(tmp_path / "cache-b"), **NO_DEFAULT_INDEX}
    )
    try:
        with MLClient(second.admin_token, endpoint=second.url, show_progress=False) as other:
            assert other.environments.get("pinned", first.version).status == "Registered"
            assert other.environments.build("pinned", first.version).status == "Succeeded"
    finally:
        second.stop()
    assert EnvironmentCache(tmp_path / "cache-b").get(first.spec_hash).freeze_text == freeze_a


def test_failures_name_what_failed(server: LiveServer, tmp_path: Path, package_index: PackageIndex) -> None:
    second = start_server(
        tmp_path / "home", env={"STRATUS_ENV_CACHE": str(tmp_path / "cache"), **NO_DEFAULT_INDEX}
    )
    try:
        with MLClient(second.admin_token, endpoint=second.url, show_progress=False) as ml:
            ml.secrets.set("INDEX_PASSWORD", PASSWORD)
            only_index = package_index.url_with("stratus:${{secrets.INDEX_PASSWORD}}")
            missing = ml.environments.create_or_update(
                Environment(
                    name="missing",
                    python="3.11",
                    pip=[f"--index-url {only_index}", "stratus-no-such-package-xyz==1"],
                )
            )
            with pytest.raises(EnvironmentBuildError, match="stratus-no-such-package-xyz"):
                ml.environments.build("missing", missing.version)
            failed = ml.environments.get("missing", missing.version)
            assert failed.status == "Failed" and not failed.lock_available
            assert "stratus-no-such-package-xyz" in failed.build_error
            # A build that fails before uv runs (its index secret is not in this workspace's vault) is
            # Failed, saying why, and the SDK raises.
            orphan = ml.environments.create_or_update(
                Environment(
                    name="orphan",
                    python="3.11",
                    pip=["--extra-index-url https://u:${{secrets.NOT_SET}}@127.0.0.1:9/simple", "six"],
                )
            )
            with pytest.raises(EnvironmentBuildError, match="NOT_SET"):
                ml.environments.build("orphan", orphan.version)
            assert ml.environments.get("orphan", orphan.version).status == "Failed"
            python = ml.environments.create_or_update(Environment(name="py", python="3.14", pip=["six"]))
            with pytest.raises(EnvironmentBuildError, match=r"3\.14.*3\.11|3\.11.*3\.14"):
                ml.environments.build("py", python.version)
            with pytest.raises(InvalidInputError, match="cudatoolkit"):
                ml.environments.create_or_update(
                    Environment(
                        name="gpu",
                        image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04",
                        conda_file={"dependencies": ["python=3.11", "cudatoolkit=11.8", {"pip": ["six"]}]},
                    )
                )
            conda = ml.environments.create_or_update(
                Environment(
                    name="conda",
                    image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04",
                    conda_file={"dependencies": ["python=3.11", "pip", "six=1.16", {"pip": ["idna"]}]},
                )
            )
            assert conda.python_version == "3.11" and conda.status == "Registered"
            context = tmp_path / "context"
            context.mkdir()
            (context / "Dockerfile").write_text("FROM python:3.11-slim\n")
            docker = ml.environments.create_or_update(
                Environment(name="docker", build=BuildContext(path=str(context)))
            )
            if docker_available():
                assert docker.status == "Registered"
            else:
                assert docker.status == "NotBuildable"
                with pytest.raises(InvalidInputError, match="NotBuildable"):
                    ml.environments.build("docker", docker.version)
            curated = ml.environments.get("AzureML-sklearn-1.5", label="latest")
            assert curated.python == "3.11" and any(p.startswith("scikit-learn") for p in curated.pip)
    finally:
        second.stop()
