"""The server as a real process: first and later starts, the key check, SIGTERM, exposure rules."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from plugins.stratus_server import LiveServer, free_port, start_server, wait_ready
from stratus.secrets import master_key


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_creates_token_and_key_then_later_starts_print_the_path(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = start_server(home)
    try:
        token = server.admin_token
        assert (home / "admin-token").read_text() == token + "\n"
        assert _mode(home / "admin-token") == 0o600 and _mode(home / "master.key") == 0o600
        master_key.decode((home / "master.key").read_text(), source="test")
        assert token in server.output()
        headers = {"Authorization": f"Bearer {token}"}
        listing = httpx.get(f"{server.url}/api/v1/workspaces", headers=headers).json()
        assert [w["name"] for w in listing["value"]] == ["default"] and listing["next_link"] is None
        assert listing["value"][0]["mlflow_tracking_uri"] == f"{server.url}/workspaces/default"
        assert (home / "stratus.db").exists() and (home / "workspaces").is_dir()
        assert (home / "logs" / "server.log").exists()
    finally:
        assert server.stop(signal.SIGTERM) == 0
    again = start_server(home, port=server.port)
    try:
        assert token not in again.output()
        assert str(home / "admin-token") in again.output()
        assert httpx.get(f"{again.url}/api/v1/me", headers=headers).json()["user"] == "admin"
    finally:
        again.stop()
    assert "stopped" in (home / "logs" / "server.log").read_text()


def _start_and_fail(home: Path, env: dict[str, str] | None = None, *args: str) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stratus",
            "server",
            "start",
            "--port",
            str(free_port()),
            "--home",
            str(home),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 1, result
    return result.stdout + result.stderr


def test_non_empty_store_without_key_refuses(tmp_path: Path) -> None:
    home = tmp_path / "home"
    start_server(home).stop()
    key_text = (home / "master.key").read_text()
    (home / "master.key").unlink()
    message = _start_and_fail(home)
    assert str(home / "master.key") in message.replace("\n", "") and "STRATUS_MASTER_KEY" in message
    wrong = master_key.generate()
    assert "not the one this store was created with" in _start_and_fail(home, {"STRATUS_MASTER_KEY": wrong})
    server = start_server(home, env={"STRATUS_MASTER_KEY": key_text.strip()})
    server.stop()


def test_non_loopback_host_needs_tls_or_insecure(tmp_path: Path) -> None:
    message = _start_and_fail(tmp_path / "h", None, "--host", "0.0.0.0")
    assert "--ssl-certfile" in message and "--insecure" in message
    assert "go together" in _start_and_fail(tmp_path / "h", None, "--ssl-certfile", "x.pem")
    assert not (tmp_path / "h").exists(), "a refused start must not touch the home folder"


def test_tls(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(1))
        .not_valid_after(now + timedelta(1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    port = free_port()
    server = start_server(
        tmp_path / "home",
        port=port,
        wait=False,
        args=("--ssl-certfile", str(tmp_path / "cert.pem"), "--ssl-keyfile", str(tmp_path / "key.pem")),
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"https://127.0.0.1:{port}/ready", verify=False, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                threading.Event().wait(0.1)
        assert httpx.get(f"https://127.0.0.1:{port}/health", verify=False).json() == {"status": "ok"}
    finally:
        server.stop()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_servers_on_one_empty_database(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        url = request.getfixturevalue("empty_postgres_url")  # both starts race to migrate it too
    env = {"STRATUS_DATABASE_URL": url, "STRATUS_MASTER_KEY": master_key.generate()}
    servers: list[LiveServer] = [start_server(tmp_path / f"home{i}", env=env, wait=False) for i in range(2)]
    try:
        for server in servers:
            wait_ready(server)
        printed = [s.home.joinpath("admin-token").exists() for s in servers]
        assert printed.count(True) == 1, "exactly one start initialises the store"
        token = next(s.admin_token for s in servers if s.home.joinpath("admin-token").exists())
        for server in servers:
            me = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200
            names = httpx.get(f"{server.url}/api/v1/workspaces", headers={"Authorization": f"Bearer {token}"})
            assert [w["name"] for w in names.json()["value"]] == ["default"]
        assert not any(s.home.joinpath("master.key").exists() for s in servers), "the variable wins"
    finally:
        for server in servers:
            server.stop()


def test_a_first_start_that_died_half_way_is_finished_by_the_next(tmp_path: Path, monkeypatch) -> None:
    from stratus.config import Settings
    from stratus.server.state import bootstrap
    from stratus.store.sql.access import SqlTokenStore

    settings = Settings(home=tmp_path / "home")
    original = SqlTokenStore.create

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(SqlTokenStore, "create", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        bootstrap(settings)
    monkeypatch.setattr(SqlTokenStore, "create", original)
    state = bootstrap(settings)
    try:
        assert state.new_admin_token and (
            settings.admin_token_path.read_text().strip() == state.new_admin_token
        )
        assert state.auth.authenticate(state.new_admin_token, client_ip=None).is_server_admin
    finally:
        state.close()
    again = bootstrap(settings)
    assert again.new_admin_token is None
    again.close()


def test_unusable_database_or_backend_is_a_clear_refusal(tmp_path: Path) -> None:
    message = _start_and_fail(
        tmp_path / "h1", {"STRATUS_DATABASE_URL": "postgresql+psycopg://u:s3cret@127.0.0.1:9/x"}
    )
    assert "cannot use the metadata database" in message and "s3cret" not in message
    assert "Traceback" not in message
    message = _start_and_fail(tmp_path / "h2", {"STRATUS_DATABASE_URL": "mysql://x/y"})
    assert "STRATUS_DATABASE_URL" in message and "Traceback" not in message
    message = _start_and_fail(tmp_path / "h3", {"STRATUS_ARTIFACT_URI": "gopher://x/y"})
    assert "gopher" in message and "Traceback" not in message


def test_a_busy_port_is_said_before_anything_else(tmp_path: Path) -> None:
    """Another process holds the port: one clear line, exit 1, no banner, no token printed, no home made."""
    import socket

    holder = socket.create_server(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    try:
        home = tmp_path / "home"
        done = subprocess.run(
            [sys.executable, "-m", "stratus", "server", "start", "--port", str(port), "--home", str(home)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        holder.close()
    assert done.returncode == 1, done.stderr
    assert f"port {port} on 127.0.0.1 is busy" in " ".join(done.stderr.split())
    assert done.stdout == "" and "Traceback" not in done.stderr and "errno" not in done.stderr.lower()
    assert not (home / "admin-token").exists()


def test_port_zero_serves_on_a_free_port_and_records_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = start_server(home, port=0, wait=False)
    try:
        deadline = time.monotonic() + 60
        while not (home / "server.json").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        url = json.loads((home / "server.json").read_text())["url"]
        assert not url.endswith(":0")
        assert httpx.get(f"{url}/ready", timeout=30).json() == {"status": "ready"}
        assert url in server.output(), "the banner names the port really bound"
    finally:
        assert server.stop(signal.SIGTERM) == 0
    assert not (home / "server.json").exists()


def test_home_files_are_private(tmp_path: Path) -> None:
    home = tmp_path / "existing"
    home.mkdir(mode=0o755)
    start_server(home).stop()
    for name in ("stratus.db", "admin-token", "master.key", "logs/server.log"):
        assert _mode(home / name) & 0o077 == 0, name
