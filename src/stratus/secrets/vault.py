"""The key vault: per-workspace secrets, encrypted at rest (envelope encryption with AES-256-GCM).

Each workspace has a random data key, stored in the database wrapped (encrypted) by the server's master
key, so every server sharing the database and holding the same master key reads the same secrets. Values
are sealed with the data key; the workspace id and secret name are bound in as associated data, so a
ciphertext copied to another row or workspace does not decrypt. Nothing here returns a value to an API:
``reveal`` exists for the launcher (``resolve_for_launch``) and for the services that open datastores.
"""

from __future__ import annotations

import base64
import os
import re
import threading
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stratus.errors import InvalidInputError, NotFoundError, StratusError
from stratus.secrets.redact import REDACTOR

if TYPE_CHECKING:
    from stratus.store.access import WorkspaceRecord
    from stratus.store.metadata import MetadataStore
    from stratus.store.vault import SecretRecord

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,126}$")
MAX_VALUE_BYTES = 25 * 1024  # Azure Key Vault's limit
_NONCE_BYTES = 12
_VERSION = "v1"


class VaultError(StratusError):
    """A secret that cannot be decrypted: the wrong master key or tampered rows. Fails closed."""

    status_code = 500
    code = "KEY_VAULT_ERROR"


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise InvalidInputError(
            f"secret name {name!r} is not valid: 1-127 letters, digits, '-' or '_', starting with a letter",
            field="name",
        )
    return name


def _seal(key: bytes, plaintext: bytes, associated: bytes) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext, associated)
    return f"{_VERSION}:{base64.b64encode(nonce + sealed).decode()}"


def _open(key: bytes, text: str, associated: bytes, what: str) -> bytes:
    version, _, body = text.partition(":")
    try:
        if version != _VERSION:
            raise ValueError(version)
        raw = base64.b64decode(body, validate=True)
        return AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], associated)
    except (InvalidTag, ValueError) as exc:
        raise VaultError(
            f"cannot decrypt {what}: the master key is not the one it was sealed with, or the row was altered"
        ) from exc


class KeyVault:
    def __init__(self, store: MetadataStore, master_key: bytes) -> None:
        self._store = store
        self._master_key = master_key
        self._data_keys: dict[str, bytes] = {}
        self._lock = threading.Lock()

    # -- data keys -------------------------------------------------------------------------------
    def _data_key(self, workspace: WorkspaceRecord) -> bytes:
        with self._lock:
            cached = self._data_keys.get(workspace.id)
        if cached is not None:
            return cached
        associated = f"stratus data key|{workspace.id}".encode()
        wrapped = self._store.secrets.data_key(workspace.id)
        if wrapped is None:
            wrapped = self._store.secrets.put_data_key(
                workspace.id, _seal(self._master_key, os.urandom(32), associated)
            )
        key = _open(self._master_key, wrapped, associated, f"the data key of workspace {workspace.name!r}")
        with self._lock:
            self._data_keys[workspace.id] = key
        return key

    @staticmethod
    def _associated(workspace: WorkspaceRecord, name: str) -> bytes:
        return f"stratus secret|{workspace.id}|{name}".encode()

    # -- writes ----------------------------------------------------------------------------------
    def put(
        self,
        workspace: WorkspaceRecord,
        name: str,
        value: str,
        *,
        actor: str | None,
        owner: str | None = None,
    ) -> SecretRecord:
        """Store a value; ``owner`` marks a vault-internal secret (a datastore's credentials)."""
        data = value.encode("utf-8")
        if len(data) > MAX_VALUE_BYTES:
            raise InvalidInputError(
                f"secret value is {len(data)} bytes; the limit is {MAX_VALUE_BYTES}", field="value"
            )
        REDACTOR.register(value)
        ciphertext = _seal(self._data_key(workspace), data, self._associated(workspace, name))
        return self._store.secrets.put(workspace.id, name, ciphertext, owner=owner, actor=actor)

    def reveal(self, workspace: WorkspaceRecord, name: str, *, owner: str | None = None) -> str:
        """The plaintext, for a process launch or a datastore connection; never for an API response."""
        record = self._store.secrets.get(workspace.id, name)
        if record is None or record.owner != owner:
            raise NotFoundError(f"secret {name!r} not found in workspace {workspace.name!r}", field="name")
        value = _open(
            self._data_key(workspace),
            record.ciphertext,
            self._associated(workspace, name),
            f"secret {name!r}",
        ).decode("utf-8")
        REDACTOR.register(value)
        return value

    def resolve(
        self,
        workspace: WorkspaceRecord,
        name: str,
        *,
        actor: str | None,
        purpose: str,
        variable: str,
        client_ip: str | None = None,
    ) -> str:
        """Reveal a user's secret for a launch; every attempt, granted or not, is audited."""
        detail = {"variable": variable, "purpose": purpose}
        try:
            value = self.reveal(workspace, name)
        except StratusError:
            self._store.audit.append(
                "secret.resolve",
                outcome="failure",
                actor=actor,
                workspace=workspace.name,
                target=name,
                client_ip=client_ip,
                detail=detail,
            )
            raise
        self._store.audit.append(
            "secret.resolve",
            actor=actor,
            workspace=workspace.name,
            target=name,
            client_ip=client_ip,
            detail=detail,
        )
        return value

    def list(self, workspace: WorkspaceRecord) -> list[SecretRecord]:
        return self._store.secrets.list(workspace.id)

    def delete(self, workspace: WorkspaceRecord, name: str, *, owner: str | None = None) -> bool:
        record = self._store.secrets.get(workspace.id, name)
        if record is None or record.owner != owner:
            return False
        return self._store.secrets.delete(workspace.id, name)
