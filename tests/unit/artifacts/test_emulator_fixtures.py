"""The emulator plugin's failure handling: a visible skip locally, a failure under CI=true."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from plugins import services


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_unavailable_service_fails_only_under_ci(
    ci: str, outcome: type[BaseException], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="emulator missing"):
        services.service_unavailable("emulator missing")


def test_a_server_that_exits_is_reported_with_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    argv = [sys.executable, "-c", "print('port in use'); raise SystemExit(3)"]
    with pytest.raises(pytest.skip.Exception, match=r"exited with code 3: port in use"):
        services._start("fake", lambda port: argv, "/", tmp_path)


def test_a_server_that_never_answers_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(services, "STARTUP_TIMEOUT", 0.5)
    monkeypatch.setattr(services, "START_ATTEMPTS", 1)
    argv = [sys.executable, "-c", "import time; time.sleep(30)"]
    with pytest.raises(pytest.fail.Exception, match=r"not answering .* after 0s"):
        services._start("silent", lambda port: argv, "/", tmp_path)


def test_unique_names_are_valid_containers_and_buckets() -> None:
    names = {services.unique_name() for _ in range(100)}
    assert len(names) == 100
    assert all(3 <= len(n) <= 63 and n.isalnum() and n.islower() for n in names)
