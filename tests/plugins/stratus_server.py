"""Fixtures for a Stratus server: in-process (ASGI test client) and as a real process on a free port."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from plugins.services import free_port
from stratus.config import Settings
from stratus.server.app import create_app
from stratus.server.state import ServerState, bootstrap

TEST_HOST = "127.0.0.1"


@pytest.fixture
def settings(tmp_path: Path, migrated_sqlite: Path) -> Settings:
    """A fresh home whose database has its schema already (copied: migrating each one costs ~0.3 s)."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    shutil.copyfile(migrated_sqlite, home / "stratus.db")
    return Settings(home=home, port=free_port())


@pytest.fixture
def server_state(settings: Settings) -> Iterator[ServerState]:
    state = bootstrap(settings)
    try:
        yield state
    finally:
        state.close()


@pytest.fixture
def admin_token(server_state: ServerState) -> str:
    assert server_state.new_admin_token
    return server_state.new_admin_token


@pytest.fixture
def api(server_state: ServerState) -> Iterator[TestClient]:
    """The app in-process, with no credentials; pass headers per call."""
    with TestClient(
        create_app(server_state), base_url=f"http://{TEST_HOST}:{server_state.settings.port}"
    ) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin(api: TestClient, admin_token: str) -> TestClient:
    api.headers.update(bearer(admin_token))
    return api


@dataclass
class LiveServer:
    url: str
    home: Path
    port: int
    process: subprocess.Popen[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def admin_token(self) -> str:
        return (self.home / "admin-token").read_text().strip()

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return int(self.process.returncode)


def start_server(
    home: Path,
    *,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    port: int | None = None,
    wait: bool = True,
    timeout: float = 60,
) -> LiveServer:
    """A server process on ``port`` (a free one from this worker's block by default); when the chosen
    port was taken between choosing and binding, another one is tried."""
    if port is not None or not wait:
        chosen = free_port() if port is None else port  # 0: the server picks a free port itself
        return _start_server(home, env=env, args=args, port=chosen, wait=wait, timeout=timeout)
    for _ in range(2):
        with contextlib.suppress(PortTakenError):
            return _start_server(home, env=env, args=args, port=free_port(), wait=True, timeout=timeout)
    return _start_server(home, env=env, args=args, port=free_port(), wait=True, timeout=timeout)


class PortTakenError(RuntimeError):
    pass


def _start_server(
    home: Path,
    *,
    env: dict[str, str] | None,
    args: tuple[str, ...],
    port: int,
    wait: bool,
    timeout: float,
) -> LiveServer:
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    log_path = home.parent / f"server-{port}.out"
    home.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "stratus", "server", "start", "--host", TEST_HOST, "--port", str(port)]
    with log_path.open("w") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [*command, "--home", str(home), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
            text=True,
        )
    server = LiveServer(f"http://{TEST_HOST}:{port}", home, port, process, log_path, full_env)
    if wait:
        wait_ready(server, timeout)
    return server


def wait_ready(server: LiveServer, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            output = server.output()
            if " is busy: another server" in output or "address already in use" in output.lower():
                raise PortTakenError(f"port {server.port} was taken:\n{output}")
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{output}")
        try:
            if httpx.get(server.url + "/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server not ready within {timeout}s:\n{server.output()}")


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path / "live-home")
    try:
        yield server
    finally:
        server.stop()


def as_json(response: httpx.Response) -> Any:
    assert response.headers.get("content-type", "").startswith("application/json"), response.text
    return response.json()


def run_stratus(
    env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m stratus <args>`` as a separate process with exactly ``env``, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "stratus", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=timeout,
    )


def cli_invoker(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``invoke(*args, input=None, code=0)``: the Typer CLI in process against ``server`` as its admin,
    asserting the exit code (the message shows the output and any exception)."""
    from typer.testing import CliRunner

    from stratus.cli.main import app

    monkeypatch.setenv("STRATUS_URL", server.url)
    monkeypatch.setenv("STRATUS_TOKEN", server.admin_token)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, code: int = 0) -> Any:
        result = runner.invoke(app, list(args), input=input)
        assert result.exit_code == code, (
            args,
            result.exit_code,
            result.stdout,
            result.stderr,
            result.exception,
        )
        return result

    return invoke
