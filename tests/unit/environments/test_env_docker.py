"""Docker checks on a machine without an engine: our handling of a missing, failing or hung docker CLI."""

from __future__ import annotations

import stat
import time
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


def test_hung_docker_info_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_docker(tmp_path / "bin", "exec sleep 30\n", monkeypatch)
    started = time.monotonic()
    assert docker_available(timeout=0.5) is False
    assert time.monotonic() - started < 5


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


def test_image_build_past_its_timeout_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_docker(tmp_path / "bin", 'echo "Step 1/2"\nexec sleep 30\n', monkeypatch)
    started = time.monotonic()
    with pytest.raises(EnvironmentBuildError, match="timed out"):
        build_image(_context(tmp_path), "Dockerfile", "stratus/env:1", timeout=0.5)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("dockerfile", "tag"),
    [("../Dockerfile", "stratus/env:1"), ("missing", "stratus/env:1"), ("Dockerfile", "Bad Tag")],
)
def test_bad_build_inputs_are_refused(tmp_path: Path, dockerfile: str, tag: str) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(InvalidInputError):
        build_image(_context(tmp_path), dockerfile, tag)
