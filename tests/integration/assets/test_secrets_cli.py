"""Secrets through the CLI, SDK and REST of a real server: values go in and never come out; roles."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from plugins.stratus_server import LiveServer, cli_invoker, start_server
from stratus import MLClient
from stratus.errors import PermissionDeniedError

CANARY = "canary-secret-5b1e9c77d2"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("secrets") / "home")
    yield live
    live.stop()


@pytest.fixture
def cli(server: LiveServer, monkeypatch: pytest.MonkeyPatch):
    return cli_invoker(server, monkeypatch)


@pytest.fixture
def clients(server: LiveServer) -> Iterator[object]:
    """``clients(token)`` makes an MLClient on the server; all are closed after the test."""
    made: list[MLClient] = []

    def make(token: str) -> MLClient:
        made.append(MLClient(token, endpoint=server.url, show_progress=False))
        return made[-1]

    yield make
    for client in made:
        client.close()


def token_for(admin: MLClient, user: str, role: str) -> str:
    admin.users.create(user)
    admin.role_assignments.create(user, role)
    token = admin.tokens.create(user=user).token
    assert token
    return token


def test_set_list_delete_never_show_values(cli, server: LiveServer, tmp_path) -> None:
    outputs = [cli("secret", "set", "-n", "FROM_STDIN", input=CANARY + "\n").stdout]
    value_file = tmp_path / "value.txt"
    value_file.write_text(CANARY + "-file\n")
    outputs.append(cli("secret", "set", "--name", "FROM_FILE", "--value-file", str(value_file)).stdout)
    listed = cli("secret", "list", "-o", "json").stdout
    outputs.append(listed)
    assert sorted(s["name"] for s in json.loads(listed)) == ["FROM_FILE", "FROM_STDIN"]
    outputs.append(cli("secret", "list", "-o", "table").stdout)
    body = httpx.get(
        f"{server.url}/api/v1/workspaces/default/secrets",
        headers={"Authorization": f"Bearer {server.admin_token}"},
    ).text
    outputs.append(body)
    assert all(CANARY not in out for out in outputs)
    # Bad input is a 4xx naming the field.
    bad = cli("secret", "set", "-n", "1bad", input="x\n", code=2)
    assert "name" in bad.stderr
    cli("secret", "set", "-n", "EMPTY", input="\n", code=2)
    cli("secret", "delete", "-n", "FROM_FILE")
    cli("secret", "delete", "-n", "FROM_FILE", code=3)
    assert [s["name"] for s in json.loads(cli("secret", "list").stdout)] == ["FROM_STDIN"]
    # No route answers a value: there is no GET of one secret at all.
    one = httpx.get(
        f"{server.url}/api/v1/workspaces/default/secrets/FROM_STDIN",
        headers={"Authorization": f"Bearer {server.admin_token}"},
    )
    assert one.status_code == 405 and CANARY not in one.text
    # The audit trail names the secret, never the value.
    audit = cli("audit", "list", "-o", "json").stdout
    assert "secret.set" in audit and CANARY not in audit


def test_roles(server: LiveServer, clients) -> None:
    admin = clients(server.admin_token)
    admin.secrets.set("ROLE_TEST", "value-for-roles")
    reader = clients(token_for(admin, "sec-reader", "Reader"))
    operator = clients(token_for(admin, "sec-operator", "Compute Operator"))
    scientist = clients(token_for(admin, "sec-scientist", "Data Scientist"))
    contributor = clients(token_for(admin, "sec-contributor", "Contributor"))
    for denied in (reader, operator):
        with pytest.raises(PermissionDeniedError):
            list(denied.secrets.list())
        with pytest.raises(PermissionDeniedError):
            denied.secrets.set("X", "y-value")
    assert "ROLE_TEST" in [s.name for s in scientist.secrets.list()]  # may use, so may see names
    with pytest.raises(PermissionDeniedError):
        scientist.secrets.set("X", "y-value")
    with pytest.raises(PermissionDeniedError):
        scientist.secrets.delete("ROLE_TEST")
    contributor.secrets.set("BY_CONTRIBUTOR", "value-from-contributor")
    contributor.secrets.delete("BY_CONTRIBUTOR")
