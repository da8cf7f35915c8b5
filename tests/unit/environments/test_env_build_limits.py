"""A uv step that hangs is stopped: after the step timeout, or at once when the server stops building.
A stand-in ``uv`` script that answers ``--version`` and then hangs plays the hung resolver (a real uv
cannot be made to hang on demand)."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from stratus.environments import EnvironmentBuildError, EnvironmentCache, plan_from_pip

# The hung step records its pid (exec keeps it), so a test can tell it was killed, not left running.
HANGING_UV = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "uv 0.0.0 (stand-in)"; exit 0; fi
echo "resolving..."
echo $$ >> "$(dirname "$0")/pids"
exec sleep 600
"""


@pytest.fixture
def hanging_uv(tmp_path: Path) -> str:
    script = tmp_path / "uv"
    script.write_text(HANGING_UV)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.timeout(120)  # without the step timeout the stand-in would hang for 600 s
def test_a_hung_step_is_stopped_after_the_step_timeout(hanging_uv: str, tmp_path: Path) -> None:
    cache = EnvironmentCache(tmp_path / "cache", uv_bin=hanging_uv, step_timeout=1.5)
    plan = plan_from_pip("3.11", ["six"])
    with pytest.raises(
        EnvironmentBuildError, match=r"failed to resolve the requirements:\nuv was stopped after 1\.5 s"
    ):
        cache.build(plan)
    status = cache.get_status(plan.spec_hash)
    assert status is not None and status.state == "Failed" and cache.get(plan.spec_hash) is None
    assert status.error is not None and "uv was stopped after 1.5 s" in status.error
    # The step was killed, not left running (on a busy machine it may not have got as far as its pid).
    pid_file = tmp_path / "pids"
    pids = [int(line) for line in pid_file.read_text().split()] if pid_file.exists() else []
    assert [pid for pid in pids if _alive(pid)] == [], "the hung uv process was left running"


def test_terminate_running_ends_builds_in_progress(hanging_uv: str, tmp_path: Path) -> None:
    cache = EnvironmentCache(tmp_path / "cache", uv_bin=hanging_uv)
    errors: list[BaseException] = []

    def build() -> None:
        try:
            cache.build(plan_from_pip("3.11", ["idna"]))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=build)
    thread.start()
    deadline = time.monotonic() + 30
    while cache.terminate_running() == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], EnvironmentBuildError)
