"""The CLI against a real server process: az-ml flags, -o json is the API body, exit codes, login."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from plugins.stratus_server import LiveServer, cli_invoker, run_stratus, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("cli") / "home")
    yield live
    live.stop()


@pytest.fixture
def cli(server: LiveServer, monkeypatch: pytest.MonkeyPatch):
    return cli_invoker(server, monkeypatch)


def api_get(server: LiveServer, path: str) -> httpx.Response:
    return httpx.get(server.url + path, headers={"Authorization": f"Bearer {server.admin_token}"})


def test_version(cli) -> None:
    from stratus import __version__

    assert cli("--version").stdout.strip() == __version__


def test_workspace_lifecycle_json_is_the_api_body(cli, server: LiveServer) -> None:
    created = json.loads(
        cli("workspace", "create", "--name", "cli-ws", "--description", "d", "--tags", "team=ml").stdout
    )
    assert created["name"] == "cli-ws" and created["tags"] == {"team": "ml"}
    shown = cli("workspace", "show", "-n", "cli-ws", "-o", "json").stdout
    assert json.loads(shown) == api_get(server, "/api/v1/workspaces/cli-ws").json()
    assert cli("workspace", "show", "-w", "cli-ws").stdout == shown
    table = cli("workspace", "list", "-o", "table").stdout
    assert "cli-ws" in table and "default" in table
    names = [w["name"] for w in json.loads(cli("workspace", "list").stdout)]
    assert {"default", "cli-ws"} <= set(names)
    updated = json.loads(cli("workspace", "update", "-n", "cli-ws", "--display-name", "CLI").stdout)
    assert updated["display_name"] == "CLI" and updated["description"] == "d"


def test_delete_needs_yes_and_says_what_it_removes(cli) -> None:
    cli("workspace", "create", "-n", "doomed")
    cli("user", "create", "-n", "victim")
    cli("role", "assign", "--user", "victim", "--role", "Reader", "-w", "doomed")
    dry = cli("workspace", "delete", "-n", "doomed", code=2)
    assert "1 role assignment" in dry.stderr and "--yes" in dry.stderr and dry.stdout == ""
    cli("workspace", "show", "-n", "doomed")
    done = cli("workspace", "delete", "-n", "doomed", "--yes")
    assert json.loads(done.stdout)["deleted"] is True and "Deleted workspace 'doomed'" in done.stderr
    cli("workspace", "show", "-n", "doomed", code=3)
    refused = cli("workspace", "delete", "-n", "default", "--yes", code=2)  # a bad request is an input error
    assert "cannot be deleted" in refused.stderr


def test_list_follows_next_link(cli, server: LiveServer) -> None:
    token = {"Authorization": f"Bearer {server.admin_token}"}
    with httpx.Client(base_url=server.url, headers=token) as client:
        for i in range(105):
            assert client.post("/api/v1/workspaces", json={"name": f"page-{i:03d}"}).status_code == 201
        first = client.get("/api/v1/workspaces").json()
    assert len(first["value"]) == 100 and first["next_link"]
    listed = json.loads(cli("workspace", "list").stdout)
    assert len([w for w in listed if w["name"].startswith("page-")]) == 105
    assert len(listed) == len({w["name"] for w in listed})


def test_users_tokens_roles(cli, server: LiveServer) -> None:
    cli("workspace", "create", "-n", "shared")
    assert json.loads(cli("user", "create", "-n", "carol").stdout)["name"] == "carol"
    assert "carol" in [u["name"] for u in json.loads(cli("user", "list").stdout)]
    assignment = json.loads(
        cli("role", "assign", "--user", "carol", "--role", "data scientist", "-w", "shared").stdout
    )
    assert assignment["role"] == "Data Scientist" and assignment["workspace"] == "shared"
    token = json.loads(
        cli("token", "create", "--user", "carol", "-w", "shared", "--expires-in", "30d").stdout
    )
    assert token["token"].startswith("stratus_") and token["workspace"] == "shared"
    listed = json.loads(cli("token", "list", "--user", "carol").stdout)
    assert [t["id"] for t in listed] == [token["id"]] and listed[0]["token"] is None
    me = httpx.get(server.url + "/api/v1/me", headers={"Authorization": f"Bearer {token['token']}"}).json()
    assert me["roles"] == {"shared": ["Data Scientist"]}
    roles = json.loads(cli("role", "list", "-w", "shared").stdout)
    assert [(r["user"], r["role"]) for r in roles] == [("carol", "Data Scientist")]
    cli("role", "delete", "--user", "carol", "--role", "Data Scientist", "-w", "shared")
    cli("role", "delete", "--user", "carol", "--role", "Data Scientist", "-w", "shared", code=3)
    revoked = json.loads(cli("token", "revoke", "--id", token["id"]).stdout)
    assert revoked["revoked_at"]
    assert (
        httpx.get(
            server.url + "/api/v1/me", headers={"Authorization": f"Bearer {token['token']}"}
        ).status_code
        == 401
    )
    events = json.loads(cli("audit", "list", "--top", "50").stdout)
    assert {"token.create", "token.revoke", "role.assign", "role.delete"} <= {e["action"] for e in events}


def test_errors_and_exit_codes(cli) -> None:
    missing = cli("workspace", "show", "-n", "no-such-ws", code=3)
    assert missing.stdout == "" and "not found" in missing.stderr
    bad = cli("workspace", "create", "-n", "x", code=2)
    assert "3-33" in bad.stderr and "field: name" in bad.stderr
    cli("workspace", "frobnicate", code=2)
    cli("role", "assign", "--user", "admin", "--role", "King", "-w", "default", code=2)
    cli("token", "create", "--expires-in", "soon", code=2)


def test_azure_only_flags_are_accepted_with_a_warning(cli) -> None:
    result = cli("workspace", "show", "-n", "default", "-g", "my-rg", "--subscription", "sub-1")
    assert "ignores it" in result.stderr and json.loads(result.stdout)["name"] == "default"


def test_unreachable_server(cli, monkeypatch) -> None:
    monkeypatch.setenv("STRATUS_URL", "http://127.0.0.1:9")
    assert "cannot reach" in cli("workspace", "list", code=1).stderr


def test_login_saves_a_private_profile(server: LiveServer, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("STRATUS_URL", "STRATUS_TOKEN")}
    env["STRATUS_CONFIG_DIR"] = str(tmp_path / "cfg")
    token_file = tmp_path / "token"
    token_file.write_text(server.admin_token + "\n")

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_stratus(env, *args, stdin=stdin)

    result = run("login", "--url", server.url, "-w", "default", "--token-file", str(token_file))
    assert result.returncode == 0, result.stderr
    profile = tmp_path / "cfg" / "config.json"
    assert stat.S_IMODE(profile.stat().st_mode) == 0o600
    assert json.loads(profile.read_text())["url"] == server.url
    listed = run("workspace", "list", "-o", "json")
    assert listed.returncode == 0 and "default" in listed.stdout
    assert run("login", "--url", server.url, stdin=server.admin_token + "\n").returncode == 0
    bad = run("login", "--url", server.url, "--token", "stratus_wrong")
    assert bad.returncode == 1 and "unknown token" in bad.stderr
    logins = api_get(server, "/api/v1/audit?action=auth.login").json()["value"]
    assert len(logins) >= 2
