"""`stratus secret set` on a terminal asks for the value with a hidden prompt: the value is stored and
never echoed."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.stratus_server import LiveServer, start_server
from stratus import MLClient

VALUE = "typed-at-the-prompt-41c9"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("prompt") / "home")
    yield live
    live.stop()


def read_until(fd: int, marker: bytes, timeout: float = 30) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        try:
            seen += os.read(fd, 1024)
        except OSError:
            break
    return seen


def test_hidden_prompt_on_a_terminal(server: LiveServer, tmp_path: Path) -> None:
    main, child = pty.openpty()
    env = {**os.environ, "STRATUS_URL": server.url, "STRATUS_TOKEN": server.admin_token}
    process = subprocess.Popen(
        [sys.executable, "-m", "stratus", "secret", "set", "-n", "TYPED"],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        start_new_session=True,
        close_fds=True,
    )
    os.close(child)
    try:
        shown = read_until(main, b"(hidden):")
        assert b"Secret value (hidden):" in shown
        os.write(main, VALUE.encode() + b"\n")
        rest = read_until(main, b"}")
        assert process.wait(timeout=60) == 0, (shown + rest).decode(errors="replace")
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()
    assert VALUE.encode() not in shown + rest  # not echoed, not printed
    with MLClient(server.admin_token, endpoint=server.url, show_progress=False) as ml:
        assert "TYPED" in [s.name for s in ml.secrets.list()]
