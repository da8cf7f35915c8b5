"""Where the SDK finds its server and token, and azure-ai-ml-shaped construction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stratus import MLClient, Workspace
from stratus.client import profile
from stratus.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError


def test_resolution_order(monkeypatch: pytest.MonkeyPatch, isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True)
    (isolated_home / "admin-token").write_text("stratus_local\n")
    assert profile.resolve() == profile.Connection(profile.DEFAULT_URL, "stratus_local", None)
    profile.save_profile("http://saved:1", "stratus_saved", "saved-ws")
    assert profile.resolve() == profile.Connection("http://saved:1", "stratus_saved", "saved-ws")
    monkeypatch.setenv("STRATUS_URL", "http://env:2")
    monkeypatch.setenv("STRATUS_WORKSPACE", "env-ws")
    # A saved token is only sent to the server it was saved for.
    assert profile.resolve() == profile.Connection("http://env:2", None, "env-ws")
    monkeypatch.setenv("STRATUS_TOKEN", "stratus_env")
    assert profile.resolve() == profile.Connection("http://env:2", "stratus_env", "env-ws")
    assert profile.resolve("http://flag:3/", "stratus_flag", "flag-ws") == profile.Connection(
        "http://flag:3", "stratus_flag", "flag-ws"
    )


def test_a_running_local_server_is_found_on_any_port(isolated_home: Path) -> None:
    """``<home>/server.json`` names the running server; its admin token goes to it and nowhere else."""
    import os
    import subprocess
    import sys

    from stratus import local_server

    isolated_home.mkdir(parents=True)
    (isolated_home / "admin-token").write_text("stratus_local\n")
    local_server.announce(isolated_home, "http://127.0.0.1:40123/")
    assert (isolated_home / "server.json").stat().st_mode & 0o777 == 0o600
    assert profile.resolve() == profile.Connection("http://127.0.0.1:40123", "stratus_local", None)
    # A URL named elsewhere gets no admin token of this home, the default port neither while the
    # server of this home runs on another.
    assert profile.resolve("http://elsewhere:1").token is None
    assert profile.resolve(profile.DEFAULT_URL).token is None
    # A login saved for "the server running here" (no URL) follows it, and goes nowhere else.
    profile.save_profile(None, "stratus_alice", "team-a")
    assert profile.resolve() == profile.Connection("http://127.0.0.1:40123", "stratus_alice", "team-a")
    assert profile.resolve("http://elsewhere:1").token is None
    (profile.config_dir() / profile.PROFILE_FILE).unlink()
    profile.save_profile("http://saved:1", "stratus_saved", None)
    assert profile.resolve().url == "http://saved:1", "a login profile wins over discovery"
    (profile.config_dir() / profile.PROFILE_FILE).unlink()
    # A record left by a server that died is ignored.
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (isolated_home / "server.json").write_text(
        json.dumps({"url": "http://127.0.0.1:40124", "pid": int(gone.stdout)})
    )
    assert profile.resolve() == profile.Connection(profile.DEFAULT_URL, "stratus_local", None)
    # Only the process that wrote the record removes it.
    local_server.announce(isolated_home, "http://127.0.0.1:40125")
    assert local_server.running_url(isolated_home) == "http://127.0.0.1:40125"
    local_server.withdraw(isolated_home)
    assert not (isolated_home / "server.json").exists()
    (isolated_home / "server.json").write_text(json.dumps({"url": "http://x:1", "pid": os.getppid()}))
    local_server.withdraw(isolated_home)
    assert (isolated_home / "server.json").exists()


def test_ml_client_workspace_comes_from_env_then_profile_then_default(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert MLClient(endpoint="http://x:1").workspace_name == "default"
    profile.save_profile("http://x:1", "stratus_t", "from-profile")
    assert MLClient(endpoint="http://x:1").workspace_name == "from-profile"
    monkeypatch.setenv("STRATUS_WORKSPACE", "from-env")
    assert MLClient(endpoint="http://x:1").workspace_name == "from-env"
    assert MLClient(endpoint="http://x:1", workspace_name="given").workspace_name == "given"
    assert profile.configured_workspace() == "from-env"


def test_from_config_walks_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".azureml").mkdir()
    (tmp_path / ".azureml" / "config.json").write_text(
        json.dumps({"endpoint": "http://cfg:9", "workspace_name": "proj", "subscription_id": "s"})
    )
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    ml = MLClient.from_config("stratus_tok")
    assert (ml.endpoint, ml.workspace_name, ml.tracking_uri) == (
        "http://cfg:9",
        "proj",
        "http://cfg:9/workspaces/proj",
    )
    ml.close()
    with pytest.raises(InvalidInputError, match=r"config\.json"):
        MLClient.from_config(path=tmp_path.parent / "nowhere-else")


def test_azure_arguments_are_accepted() -> None:
    ml = MLClient("tok", "subscription", "resource-group", "ws", endpoint="http://x:1")
    assert (ml.subscription_id, ml.resource_group_name, ml.workspace_name) == (
        "subscription",
        "resource-group",
        "ws",
    )
    ml.close()

    class Credential:
        def get_token(self, *scopes: str):
            return type("AccessToken", (), {"token": "stratus_from_credential"})()

    ml = MLClient(Credential(), endpoint="http://x:1")
    assert ml._transport._client.headers["Authorization"] == "Bearer stratus_from_credential"
    ml.close()


@pytest.fixture
def sdk(api: TestClient, admin_token: str, monkeypatch: pytest.MonkeyPatch):
    """The SDK over the in-process app: the same httpx client code, no network."""
    ml = MLClient(admin_token, endpoint=str(api.base_url))
    ml._transport._client = api  # TestClient is an httpx.Client
    api.headers["Authorization"] = f"Bearer {admin_token}"
    return ml


def test_sdk_round_trip(sdk: MLClient) -> None:
    ws = sdk.workspaces.begin_create(Workspace(name="sdk-ws", description="d", tags={"a": "b"})).result()
    assert ws.mlflow_tracking_uri.endswith("/workspaces/sdk-ws") and ws.tags == {"a": "b"}
    assert ws.as_dict()["name"] == "sdk-ws"
    assert {w.name for w in sdk.workspaces.list()} == {"default", "sdk-ws"}
    with pytest.raises(ConflictError):
        sdk.workspaces.begin_create(Workspace(name="sdk-ws"))
    sdk.users.create("dana")
    assignment = sdk.role_assignments.create("dana", "Reader", workspace_name="sdk-ws")
    assert assignment.role == "Reader"
    token = sdk.tokens.create(user="dana", workspace_name="sdk-ws", expires_in="1h")
    assert token.token and token.expires_at is not None
    assert [t.id for t in sdk.tokens.list(user="dana")] == [token.id]
    assert sdk.me().is_server_admin and sdk.server_version()
    summary = sdk.workspaces.begin_delete("sdk-ws", dry_run=True).result()
    assert summary["role_assignments"] == 1 and summary["tokens"] == 1 and summary["deleted"] is False
    sdk.role_assignments.delete("dana", "Reader", workspace_name="sdk-ws")
    with pytest.raises(NotFoundError):
        sdk.role_assignments.delete("dana", "Reader", workspace_name="sdk-ws")
    assert sdk.workspaces.begin_delete("sdk-ws").result()["deleted"] is True
    with pytest.raises(NotFoundError):
        sdk.workspaces.get("sdk-ws")
    # The workspace's tokens went with it.
    assert (
        sdk._transport._client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {token.token}"}
        ).status_code
        == 401
    )


def test_sdk_raises_typed_errors(sdk: MLClient) -> None:
    sdk.users.create("erin")
    erin = sdk.tokens.create(user="erin", expires_in="1h").token
    sdk._transport._client.headers["Authorization"] = f"Bearer {erin}"
    with pytest.raises(PermissionDeniedError, match="server admin"):
        list(sdk.users.list())
    with pytest.raises(InvalidInputError) as info:
        sdk.tokens.create(expires_in="soon")
    assert info.value.field == "expires_in"
