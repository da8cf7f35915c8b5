"""Credentials in one place: a running server found through its home on any port, login checks, tokens
saved to a file, the stock mlflow client configured by `stratus mlflow env`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.stratus_server import LiveServer, run_stratus, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("credentials") / "home")
    yield live
    live.stop()


def _clean_env(home: Path, config: Path, **extra: str) -> dict[str, str]:
    """The environment of a newcomer: no STRATUS_* or MLFLOW_* settings, only where the home is."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRATUS_", "MLFLOW_"))}
    return {**env, "STRATUS_HOME": str(home), "STRATUS_CONFIG_DIR": str(config), **extra}


def _stratus(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_stratus(env, *args, stdin=stdin)


def test_the_server_records_itself_and_the_cli_finds_it_on_any_port(
    server: LiveServer, tmp_path: Path
) -> None:
    record = server.home / "server.json"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert json.loads(record.read_text()) == {"url": server.url, "pid": server.process.pid}
    assert server.port != 8765
    env = _clean_env(server.home, tmp_path / "cfg")
    listed = _stratus(env, "workspace", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert [w["name"] for w in json.loads(listed.stdout)] == ["default"]


def test_the_record_goes_when_the_server_stops(tmp_path: Path) -> None:
    live = start_server(tmp_path / "home")
    record = live.home / "server.json"
    assert json.loads(record.read_text())["url"] == live.url
    assert live.stop() == 0
    assert not record.exists()
    env = _clean_env(live.home, tmp_path / "cfg")
    gone = _stratus(env, "workspace", "list")
    assert gone.returncode == 1 and "cannot reach" in gone.stderr


def test_login_refuses_a_missing_token_file_and_an_unknown_workspace(
    server: LiveServer, tmp_path: Path
) -> None:
    env = _clean_env(tmp_path / "nohome", tmp_path / "cfg")
    missing = _stratus(env, "login", "--url", server.url, "--token-file", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "file not found" in missing.stderr
    token_file = tmp_path / "token"
    token_file.write_text(server.admin_token + "\n")
    unknown = _stratus(env, "login", "--url", server.url, "-w", "no-such-ws", "--token-file", str(token_file))
    assert unknown.returncode == 3, unknown.stderr
    assert "no-such-ws" in unknown.stderr and "does not exist" in unknown.stderr
    assert not (tmp_path / "cfg" / "config.json").exists(), "a refused login saves nothing"


def test_token_create_scopes_to_the_login_workspace_and_saves_the_token_alone(
    server: LiveServer, tmp_path: Path
) -> None:
    env = _clean_env(tmp_path / "nohome", tmp_path / "cfg")
    admin = tmp_path / "admin"
    admin.write_text(server.admin_token)
    made = _stratus(env, "workspace", "create", "--name", "team-a", "--url", server.url, stdin=None)
    assert made.returncode == 1  # not logged in yet: no token for that URL
    login = _stratus(env, "login", "--url", server.url, "--token-file", str(admin), "-w", "default")
    assert login.returncode == 0, login.stderr
    saved = tmp_path / "out" / "token.txt"
    created = _stratus(env, "token", "create", "--name", "ci", "--save-to", str(saved), "-o", "json")
    assert created.returncode == 0, created.stderr
    body = json.loads(created.stdout)
    assert body["workspace"] == "default", "no -w: the login profile's workspace"
    assert saved.read_text() == body["token"] + "\n"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    # az-style scripting: the secret alone on stdout.
    alone = _stratus(env, "token", "create", "--name", "ci2", "--query", "token", "-o", "tsv")
    assert alone.returncode == 0, alone.stderr
    assert alone.stdout.count("\n") == 1 and alone.stdout.startswith("stratus_"), alone.stdout
    # A bad --query is refused before the command runs: no token is made only to fail on printing it.
    listed = _stratus(env, "token", "list", "-o", "json")
    bad = _stratus(env, "token", "create", "--name", "ci3", "--query", "[?", "-o", "tsv")
    assert bad.returncode == 2 and "JMESPath" in bad.stderr
    assert _stratus(env, "token", "list", "-o", "json").stdout == listed.stdout
    # The saved token works on its own, as a file login reads.
    relogin = _stratus(env, "login", "--url", server.url, "--token-file", str(saved))
    assert relogin.returncode == 0, relogin.stderr


def test_mlflow_env_configures_the_stock_client(server: LiveServer, tmp_path: Path) -> None:
    env = _clean_env(server.home, tmp_path / "cfg")
    printed = _stratus(env, "mlflow", "env")
    assert printed.returncode == 0, printed.stderr
    script = (
        f'eval "$({sys.executable} -m stratus mlflow env)"; '
        f'{sys.executable} -c "import mlflow; c = mlflow.MlflowClient(); '
        "print(c.create_experiment('from-env'), c.get_experiment_by_name('from-env').name)\""
    )
    shell = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.split()[-1] == "from-env"
    lines = printed.stdout.splitlines()
    assert lines[0] == f"export MLFLOW_TRACKING_URI={server.url}/workspaces/default"
    assert lines[1] == f"export MLFLOW_TRACKING_TOKEN={server.admin_token}"
    as_json = json.loads(_stratus(env, "mlflow", "env", "-o", "json").stdout)
    assert as_json == {
        "MLFLOW_TRACKING_URI": f"{server.url}/workspaces/default",
        "MLFLOW_TRACKING_TOKEN": server.admin_token,
    }
    other = _stratus(env, "mlflow", "env", "-w", "team b")
    assert other.stdout.splitlines()[0] == f"export MLFLOW_TRACKING_URI='{server.url}/workspaces/team b'"


def test_mlflow_import_names_the_token_the_source_needs(server: LiveServer, tmp_path: Path) -> None:
    """After `eval "$(stratus mlflow env)"` MLFLOW_TRACKING_TOKEN is the Stratus token: it is never sent to
    the source, and the error says which token the source needs."""
    env = _clean_env(server.home, tmp_path / "cfg", MLFLOW_TRACKING_TOKEN=server.admin_token)
    done = _stratus(env, "mlflow", "import", "--from", "http://127.0.0.1:9")
    assert done.returncode == 1
    assert "MLFLOW_TRACKING_TOKEN holds your Stratus token" in " ".join(done.stderr.split())


def test_a_missing_or_unknown_token_tells_a_cli_user_how_to_sign_in(
    server: LiveServer, tmp_path: Path
) -> None:
    env = _clean_env(tmp_path / "nohome", tmp_path / "cfg")
    for extra in ({}, {"STRATUS_TOKEN": "stratus_not_a_token"}):
        done = _stratus({**env, **extra}, "workspace", "list", "--url", server.url)
        said = " ".join(done.stderr.split())
        assert done.returncode == 1, done.stderr
        assert "run 'stratus login' or set STRATUS_TOKEN" in said and "Authorization" not in said, said
