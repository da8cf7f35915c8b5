"""``STRATUS_ENV_BUILD_TIMEOUT`` through a real server: a build whose uv step outlasts it ends Failed, with a
reason naming the timeout, and its uv process is gone. The slow step is a package index on 127.0.0.1 that
accepts connections and never answers (no PyPI: the spec names its only index and lists mlflow-skinny itself,
so nothing is added that would be looked up elsewhere)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from plugins.stratus_server import LiveServer, start_server
from stratus import MLClient
from stratus.entities.assets import Environment
from stratus.environments import EnvironmentBuildError

TIMEOUT = 3


@pytest.fixture
def silent_index() -> Iterator[str]:
    """An index URL whose server completes the TCP handshake (the kernel's backlog) and never answers."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as listener:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/simple"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path / "home",
        env={"STRATUS_ENV_CACHE": str(tmp_path / "cache"), "STRATUS_ENV_BUILD_TIMEOUT": str(TIMEOUT)},
    )
    yield live
    live.stop()


def _processes_in(folder: Path) -> list[psutil.Process]:
    """Processes whose working folder is under ``folder`` (the builder runs each uv step in the build's)."""
    found = []
    for process in psutil.process_iter():
        try:
            if Path(process.cwd()).is_relative_to(folder):
                found.append(process)
        except (psutil.Error, OSError):
            continue
    return found


@pytest.mark.timeout(180)  # uv's own HTTP timeout would end it after 30 s per try, with uv's message instead
def test_a_build_past_the_timeout_fails_naming_it(
    server: LiveServer, silent_index: str, tmp_path: Path
) -> None:
    spec = Environment(name="slow", python="3.11", pip=[f"--index-url {silent_index}", "mlflow-skinny"])
    with MLClient(server.admin_token, endpoint=server.url, show_progress=False) as ml:
        created = ml.environments.create_or_update(spec)
        with pytest.raises(EnvironmentBuildError, match=f"uv was stopped after {TIMEOUT} s") as caught:
            ml.environments.build("slow", created.version)
        assert "failed to resolve the requirements" in caught.value.message
        failed = ml.environments.get("slow", created.version)
        assert failed.status == "Failed" and not failed.lock_available
        assert f"uv was stopped after {TIMEOUT} s" in (failed.build_error or "")
        log = "\n".join(ml.environments.build_log("slow", created.version))
        assert "$ uv pip compile" in log and f"uv was stopped after {TIMEOUT} s" in log
    assert _processes_in(tmp_path / "cache") == [], "the timed-out uv step is still running"
