"""Real uv builds. The ``built`` group installs a wheel from a local PEP 503 index and the real
mlflow-skinny from PyPI (uv's cache may be warm), so it is marked ``network``; the other builds use only
a local index holding a hand-written stand-in of mlflow-skinny, with the default index a closed port."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.package_index import MODULE, PACKAGE, serve_index, write_wheel
from stratus.environments import (
    BuildPlan,
    BuiltEnvironment,
    EnvironmentBuildError,
    EnvironmentCache,
    plan_from_pip,
)
from stratus.errors import InvalidInputError

SECRET = "s3cr3t-Idx/Pass@word"
STAND_IN_MLFLOW = "99.0.0"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def index_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:<port>/simple``: a PEP 503 index holding two versions of the demo package."""
    root = tmp_path_factory.mktemp("index")
    (root / "files").mkdir()
    links = []
    for version in ("0.1.0", "0.2.0"):
        wheel = write_wheel(root / "files", version)
        sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
        links.append(f'<a href="../../files/{wheel.name}#sha256={sha256}">{wheel.name}</a>')
    project = root / "simple" / PACKAGE
    project.mkdir(parents=True)
    (project / "index.html").write_text("<html><body>" + "".join(links) + "</body></html>")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/simple"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"{url}/{PACKAGE}/", timeout=1) as response:
                    assert response.status == 200
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def hermetic_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An index holding the demo package and a stand-in of mlflow-skinny (which every plan adds)."""
    for index in serve_index(tmp_path_factory.mktemp("hermetic-index")):
        index.publish("0.2.0")
        index.publish(STAND_IN_MLFLOW, package="mlflow-skinny")
        yield index.url


def _closed_index() -> str:
    """A default index that refuses connections: a build that looked anything up there would fail."""
    return f"http://127.0.0.1:{_free_port()}/simple"


def _secret_index(index_url: str) -> str:
    return index_url.replace("http://", "http://stratus:${{secrets.INDEX_PASSWORD}}@")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> EnvironmentCache:
    return EnvironmentCache(tmp_path_factory.mktemp("envs"))


@pytest.fixture(scope="module")
def built(cache: EnvironmentCache, index_url: str) -> tuple[BuiltEnvironment, list[str], list[str]]:
    """One real build through a credentialed index URL; the lines the log callback received; the secrets
    asked for."""
    plan = plan_from_pip("3.11", [f"{PACKAGE}<0.2", f"--extra-index-url {_secret_index(index_url)}"])
    lines: list[str] = []
    asked: list[str] = []

    def resolve(name: str) -> str:
        asked.append(name)
        return SECRET

    return cache.build(plan, resolve_secret=resolve, log=lines.append, index_env={}), lines, asked


@pytest.mark.network
def test_build_installs_the_plan_and_records_lock_and_freeze(
    built: tuple[BuiltEnvironment, list[str], list[str]], cache: EnvironmentCache
) -> None:
    env, lines, asked = built
    assert not env.cache_hit
    assert asked == ["INDEX_PASSWORD"]
    assert env.status.state == "Succeeded"
    assert env.python_version.startswith("3.11.")
    assert env.path == cache.root / env.hash / "venv"
    run = subprocess.run(
        [
            str(env.python),
            "-c",
            f"import {MODULE}, importlib.util as u; assert u.find_spec('mlflow'); print({MODULE}.VERSION)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip() == "0.1.0"  # <0.2 honoured through the index
    assert f"{PACKAGE}==0.1.0 \\\n    --hash=sha256:" in env.lock_text
    assert "mlflow-skinny==" in env.lock_text
    assert env.lock_text == (cache.root / env.hash / "lock.txt").read_text()
    assert f"{PACKAGE}==0.1.0" in env.freeze_text.splitlines()
    assert any(line.startswith("mlflow-skinny==") for line in env.freeze_text.splitlines())
    status = json.loads((cache.root / env.hash / "status.json").read_text())
    assert status["state"] == "Succeeded"
    assert status["uv_version"].startswith("uv ")
    assert set(status["timings"]) == {"resolve", "venv", "install", "freeze"}
    # every line of uv output is in build.log, and went to the callback as it came
    log_lines = env.log_path.read_text().splitlines()
    assert log_lines == lines
    assert sum(line.startswith("$ uv pip compile") for line in log_lines) == 1
    assert any("Installed" in line for line in log_lines)


@pytest.mark.network
def test_index_secret_is_never_written(built: tuple[BuiltEnvironment, list[str], list[str]]) -> None:
    env, lines, _ = built
    folder = env.log_path.parent
    for path in [p for p in folder.iterdir() if p.is_file()]:
        assert SECRET not in path.read_text(), path
        assert "s3cr3t" not in path.read_text(), path
    assert not any("s3cr3t" in line for line in lines)
    assert "${{secrets.INDEX_PASSWORD}}" in json.dumps(env.status.to_dict())  # the plan keeps the placeholder


@pytest.mark.network
def test_cache_hit_reads_the_recorded_build(
    built: tuple[BuiltEnvironment, list[str], list[str]], cache: EnvironmentCache
) -> None:
    env, _, _ = built
    again = cache.get(env.hash)
    assert again is not None
    assert again.cache_hit
    assert (again.freeze_text, again.lock_text, again.python) == (env.freeze_text, env.lock_text, env.python)
    assert env.plan is not None
    rebuilt_plan = BuildPlan.from_dict(env.plan.to_dict())
    hit = cache.build(rebuilt_plan, resolve_secret=lambda name: pytest.fail("a cache hit needs no secret"))
    assert hit.cache_hit
    assert hit.hash == env.hash


@pytest.mark.network
def test_rebuild_from_the_lock_gives_an_identical_freeze(
    built: tuple[BuiltEnvironment, list[str], list[str]], cache: EnvironmentCache, tmp_path: Path
) -> None:
    env, _, _ = built
    lines: list[str] = []
    freeze = cache.rebuild(env.hash, tmp_path / "copy", resolve_secret=lambda _: SECRET, log=lines.append)
    assert freeze == env.freeze_text
    assert any(line.startswith("$ uv pip sync") for line in lines)
    run = subprocess.run(
        [str(tmp_path / "copy" / "bin" / "python"), "-c", f"import {MODULE}; print({MODULE}.VERSION)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip() == "0.1.0"


def test_concurrent_requests_for_one_spec_build_it_once(hermetic_index: str, tmp_path: Path) -> None:
    """Two threads and another process ask at once; one builds, the others wait and get a cache hit.
    The index comes from PIP_EXTRA_INDEX_URL (mapped to uv's variable), not from the plan."""
    root = tmp_path / "envs"
    indexes = {"PIP_INDEX_URL": _closed_index(), "PIP_EXTRA_INDEX_URL": hermetic_index}
    plan = plan_from_pip(None, [f"{PACKAGE}==0.2.0"])
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from stratus.environments import BuildPlan, EnvironmentCache\n"
        "plan = BuildPlan.from_dict(json.loads(sys.argv[2]))\n"
        "built = EnvironmentCache(Path(sys.argv[1])).build(plan)\n"
        "print(json.dumps({'hash': built.hash, 'cache_hit': built.cache_hit}))\n"
    )
    other = subprocess.Popen(
        [sys.executable, "-c", script, str(root), json.dumps(plan.to_dict())],
        stdout=subprocess.PIPE,
        text=True,
        env={**_environ(), **indexes},
    )
    results: list[BuiltEnvironment] = []
    errors: list[BaseException] = []

    def build() -> None:
        try:
            results.append(EnvironmentCache(root).build(plan, index_env=indexes))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    stdout, _ = other.communicate(timeout=240)
    assert errors == []
    assert other.returncode == 0
    from_process = json.loads(stdout.strip().splitlines()[-1])
    hits = [r.cache_hit for r in results] + [from_process["cache_hit"]]
    assert sorted(hits) == [False, True, True]
    assert {r.hash for r in results} == {from_process["hash"], plan.spec_hash}
    log = (root / plan.spec_hash / "build.log").read_text()
    assert log.count("$ uv pip compile") == 1
    assert log.count("$ uv pip sync") == 1
    assert f"{PACKAGE}==0.2.0" in results[0].freeze_text
    assert f"mlflow-skinny=={STAND_IN_MLFLOW}" in results[0].freeze_text


def _environ() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k not in ("PIP_INDEX_URL", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL")
    }


def test_failed_build_is_recorded_not_returned_and_retried(hermetic_index: str, tmp_path: Path) -> None:
    cache = EnvironmentCache(tmp_path / "envs")
    plan = plan_from_pip("3.11", ["stratus-no-such-package-xyz==1", f"--index-url {hermetic_index}"])

    with pytest.raises(EnvironmentBuildError) as caught:
        cache.build(plan)

    assert "stratus-no-such-package-xyz" in caught.value.message
    assert caught.value.spec_hash == plan.spec_hash
    assert cache.get(plan.spec_hash) is None
    status = cache.get_status(plan.spec_hash)
    assert status is not None
    assert status.state == "Failed"
    assert status.error is not None and "stratus-no-such-package-xyz" in status.error
    assert "stratus-no-such-package-xyz" in status.log_path.read_text()
    assert not (cache.root / plan.spec_hash / "venv").exists()

    with pytest.raises(EnvironmentBuildError):  # a later build tries again rather than trusting the failure
        cache.build(plan)
    retried = cache.get_status(plan.spec_hash)
    assert retried is not None and retried.state == "Failed"
    assert retried.started_at != status.started_at


def test_missing_python_fails_the_build_naming_asked_and_found(tmp_path: Path) -> None:
    cache = EnvironmentCache(tmp_path / "envs")
    plan = plan_from_pip("3.99", ["numpy"])
    with pytest.raises(EnvironmentBuildError) as caught:
        cache.build(plan)
    assert caught.value.field == "python"
    assert "3.99" in caught.value.message
    assert "3.11" in caught.value.message
    status = cache.get_status(plan.spec_hash)
    assert status is not None and status.state == "Failed"


def test_index_secret_without_a_resolver_is_refused(index_url: str, tmp_path: Path) -> None:
    plan = plan_from_pip("3.11", [PACKAGE, f"--index-url {_secret_index(index_url)}"])
    with pytest.raises(InvalidInputError, match="INDEX_PASSWORD") as caught:
        EnvironmentCache(tmp_path / "envs").build(plan)
    assert caught.value.field == "index_url"
    assert not (tmp_path / "envs" / plan.spec_hash).exists()


def test_a_spec_hash_is_checked_before_it_names_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError):
        EnvironmentCache(tmp_path).get("../../etc")
