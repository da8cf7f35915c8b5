"""The key vault over a real store: envelope encryption, fail-closed decryption, shared databases,
launch-time resolution with its permission check and audit, and log redaction."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from stratus.entities.roles import Permission
from stratus.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from stratus.secrets import REDACTOR, KeyVault, RedactingFilter, VaultError, resolve_for_launch
from stratus.secrets.launch import secret_references
from stratus.secrets.vault import check_name
from stratus.server.services.context import Caller
from stratus.store.sql import open_store
from stratus.store.sql.tables import SecretRow

KEY = os.urandom(32)
CALLER = Caller(
    user_id="u1",
    user_name="alice",
    is_server_admin=False,
    token_id=None,
    token_workspace_id=None,
    token_workspace_name=None,
)


@pytest.fixture
def store(database_url: str):
    opened = open_store(database_url)
    yield opened
    opened.close()


@pytest.fixture
def workspace(store):
    return store.workspaces.create("vault-ws")


def allow(caller: Caller, permission: Permission, workspace: str) -> None:
    assert permission is Permission.USE_SECRETS


def deny(caller: Caller, permission: Permission, workspace: str) -> None:
    raise PermissionDeniedError(f"{permission.value} denied")


def test_values_are_encrypted_at_rest_and_round_trip(store, workspace) -> None:
    vault = KeyVault(store, KEY)
    vault.put(workspace, "API_TOKEN", "s3cr3t-value-123", actor="alice")
    row = store.secrets.get(workspace.id, "API_TOKEN")
    assert "s3cr3t" not in row.ciphertext and row.ciphertext.startswith("v1:")
    assert store.secrets.data_key(workspace.id) is not None
    assert vault.reveal(workspace, "API_TOKEN") == "s3cr3t-value-123"
    # Replacing keeps who created it, records who changed it.
    vault.put(workspace, "API_TOKEN", "second-value", actor="bob")
    record = store.secrets.get(workspace.id, "API_TOKEN")
    assert (record.created_by, record.updated_by) == ("alice", "bob")
    assert KeyVault(store, KEY).reveal(workspace, "API_TOKEN") == "second-value"
    assert [s.name for s in vault.list(workspace)] == ["API_TOKEN"]
    assert vault.delete(workspace, "API_TOKEN") and not vault.delete(workspace, "API_TOKEN")
    with pytest.raises(NotFoundError):
        vault.reveal(workspace, "API_TOKEN")


def test_wrong_master_key_or_tampered_row_fails_closed(store, workspace) -> None:
    KeyVault(store, KEY).put(workspace, "A", "value-one", actor=None)
    with pytest.raises(VaultError, match="master key"):
        KeyVault(store, os.urandom(32)).reveal(workspace, "A")
    # A ciphertext moved to another name does not decrypt (the name is bound in).
    KeyVault(store, KEY).put(workspace, "B", "value-two", actor=None)
    moved = store.secrets.get(workspace.id, "A").ciphertext
    with store.engine.begin() as conn:
        conn.execute(update(SecretRow).where(SecretRow.name == "B").values(ciphertext=moved))
    with pytest.raises(VaultError):
        KeyVault(store, KEY).reveal(workspace, "B")


def test_names_sizes_and_owned_secrets(store, workspace) -> None:
    vault = KeyVault(store, KEY)
    for bad in ("", "1abc", "has space", "x" * 128, "~datastore/x"):
        with pytest.raises(InvalidInputError):
            check_name(bad)
    with pytest.raises(InvalidInputError, match="limit"):
        vault.put(workspace, "BIG", "x" * (25 * 1024 + 1), actor=None)
    vault.put(workspace, "~datastore/blob", "account-key-value", actor=None, owner="datastore:blob")
    assert vault.list(workspace) == []  # vault-owned secrets are not the users'
    with pytest.raises(NotFoundError):
        vault.reveal(workspace, "~datastore/blob")
    assert vault.reveal(workspace, "~datastore/blob", owner="datastore:blob") == "account-key-value"


@pytest.mark.postgres
def test_servers_sharing_postgres_read_each_others_secrets(postgres_url: str) -> None:
    first, second = open_store(postgres_url), open_store(postgres_url)
    try:
        ws = first.workspaces.create("shared")
        KeyVault(first, KEY).put(ws, "SHARED", "written-by-first", actor=None)
        assert KeyVault(second, KEY).reveal(second.workspaces.get("shared"), "SHARED") == "written-by-first"
        with pytest.raises(VaultError):
            KeyVault(second, os.urandom(32)).reveal(ws, "SHARED")
    finally:
        first.close()
        second.close()


def test_references_must_be_whole_values() -> None:
    spec = {"environment_variables": {"A": "${{secrets.TOKEN}}", "B": " ${{ secrets.OTHER }} ", "C": "plain"}}
    assert secret_references(spec) == {"A": "TOKEN", "B": "OTHER"}
    with pytest.raises(InvalidInputError, match="whole value") as info:
        secret_references({"environment_variables": {"URL": "https://u:${{secrets.TOKEN}}@host"}})
    assert info.value.field == "environment_variables.URL"


def test_resolve_for_launch_puts_values_only_in_the_child_environment(
    store, workspace, tmp_path: Path
) -> None:
    vault = KeyVault(store, KEY)
    vault.put(workspace, "TOKEN", "canary-launch-7f3a", actor=None)
    spec = {"environment_variables": {"MY_TOKEN": "${{secrets.TOKEN}}", "MODE": "train"}}
    env = resolve_for_launch(spec, vault=vault, workspace=workspace, caller=CALLER, authorize=allow)
    assert env == {"MY_TOKEN": "canary-launch-7f3a", "MODE": "train"}
    assert spec["environment_variables"]["MY_TOKEN"] == "${{secrets.TOKEN}}"  # the spec is untouched
    assert "canary-launch-7f3a" not in os.environ.values()
    out = subprocess.run(
        [sys.executable, "-c", "import os; print(os.environ['MY_TOKEN'] == 'canary-launch-7f3a')"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "True"
    events = store.audit.list(action="secret.resolve").items
    assert events[0].target == "TOKEN" and events[0].actor == "alice" and events[0].outcome == "success"
    assert events[0].detail == {"variable": "MY_TOKEN", "purpose": "job"}
    assert "canary-launch-7f3a" not in repr(events)


def test_resolve_for_launch_checks_permission_and_audits_missing(store, workspace) -> None:
    vault = KeyVault(store, KEY)
    vault.put(workspace, "TOKEN", "value-xyz-1", actor=None)
    spec = {"environment_variables": {"T": "${{secrets.TOKEN}}"}}
    with pytest.raises(PermissionDeniedError):
        resolve_for_launch(spec, vault=vault, workspace=workspace, caller=CALLER, authorize=deny)
    # No reference, no permission needed.
    assert resolve_for_launch(
        {"environment_variables": {"A": "1"}}, vault=vault, workspace=workspace, caller=CALLER, authorize=deny
    ) == {"A": "1"}
    with pytest.raises(NotFoundError):
        resolve_for_launch(
            {"environment_variables": {"T": "${{secrets.MISSING}}"}},
            vault=vault,
            workspace=workspace,
            caller=CALLER,
            authorize=allow,
        )
    failed = store.audit.list(action="secret.resolve").items[0]
    assert (failed.target, failed.outcome) == ("MISSING", "failure")


def test_log_records_are_redacted(store, workspace, caplog: pytest.LogCaptureFixture) -> None:
    KeyVault(store, KEY).put(workspace, "LOGGED", "canary-log-9d2e", actor=None)
    logger = logging.getLogger("stratus.test.redaction")
    handler_filter = RedactingFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        logger.warning("connecting with %s", "canary-log-9d2e")
        try:
            raise RuntimeError("failed for canary-log-9d2e")
        except RuntimeError:
            logger.exception("boom")
    finally:
        caplog.handler.removeFilter(handler_filter)
    assert "canary-log-9d2e" not in caplog.text
    assert "connecting with ***" in caplog.text
    assert REDACTOR.redact("a canary-log-9d2e b") == "a *** b"
