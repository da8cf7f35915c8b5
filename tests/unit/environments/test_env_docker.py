"""Docker checks on a machine without an engine: our handling of a missing, failing or hung docker CLI."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from stratus.environments import EnvironmentBuildError, build_image, docker_available
from stratus.errors import InvalidInputError, ServiceUnavailableError


def _fake_docker(folder: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder.mkdir(exist_ok=True)
    script = folder / "docker"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")


def _context(tmp_path: Path) -> Path:
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM python:3.11-slim\n")
    return context


def test_no_docker_cli_means_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert docker_available() is False
    with pytest.raises(ServiceUnavailableError):
        build_image(_context(tmp_path), "Dockerfile", "stratus/env:1")


def test_failing_docker_info_means_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_docker(tmp_path / "bin", 'echo "Cannot connect to the Docker daemon" >&2\nexit 1\n', monkeypatch)
    assert docker_available() is False


# A docker stand-in that records its pid (exec keeps it) and then hangs, but would succeed if waited for.
HANGING = 'echo $$ >> "$(dirname "$0")/pids"\nexec sleep 600\n'


def _left_running(folder: Path) -> list[int]:
    """The stand-in's processes still alive (it may have been killed before writing its pid)."""
    pid_file = folder / "pids"
    pids = [int(line) for line in pid_file.read_text().split()] if pid_file.exists() else []
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        alive.append(pid)
    return alive


@pytest.mark.timeout(60)  # without its timeout the call would wait for the 600 s sleep
def test_hung_docker_info_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_docker(tmp_path / "bin", HANGING, monkeypatch)
    # The stand-in exits 0 if waited for, so False means the call gave up; and it killed what it started.
    assert docker_available(timeout=0.5) is False
    assert _left_running(tmp_path / "bin") == []


def test_failing_image_build_streams_its_output_and_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_docker(
        tmp_path / "bin",
        'echo "Step 1/2 : FROM python:3.11-slim"\necho "no such image" >&2\nexit 1\n',
        monkeypatch,
    )
    lines: list[str] = []
    with pytest.raises(EnvironmentBuildError, match="no such image") as caught:
        build_image(_context(tmp_path), "Dockerfile", "stratus/env:1", lines.append)
    assert "exited with 1" in caught.value.message
    assert lines == ["Step 1/2 : FROM python:3.11-slim", "no such image"]


@pytest.mark.timeout(60)  # without its timeout the build would wait for the 600 s sleep
def test_image_build_past_its_timeout_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_docker(tmp_path / "bin", 'echo "Step 1/2"\n' + HANGING, monkeypatch)
    with pytest.raises(
        EnvironmentBuildError, match=r"docker build of stratus/env:1 timed out after 0\.5s"
    ) as caught:
        build_image(_context(tmp_path), "Dockerfile", "stratus/env:1", timeout=0.5)
    assert caught.value.field == "build"
    assert _left_running(tmp_path / "bin") == []


@pytest.mark.parametrize(
    ("dockerfile", "tag"),
    [("../Dockerfile", "stratus/env:1"), ("missing", "stratus/env:1"), ("Dockerfile", "Bad Tag")],
)
def test_bad_build_inputs_are_refused(tmp_path: Path, dockerfile: str, tag: str) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(InvalidInputError):
        build_image(_context(tmp_path), dockerfile, tag)
