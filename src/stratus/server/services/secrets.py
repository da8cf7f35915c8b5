"""Setting, listing and deleting a workspace's secrets; values go in, never out."""

from __future__ import annotations

from stratus.entities._base import CreationContext
from stratus.entities.secrets import Secret
from stratus.errors import NotFoundError
from stratus.secrets.vault import KeyVault, check_name
from stratus.server.services.context import Caller
from stratus.store.access import WorkspaceRecord
from stratus.store.metadata import MetadataStore
from stratus.store.vault import SecretRecord


def secret_entity(record: SecretRecord) -> Secret:
    return Secret(
        name=record.name,
        creation_context=CreationContext(
            created_at=record.created_at,
            created_by=record.created_by,
            last_modified_at=record.updated_at,
            last_modified_by=record.updated_by,
        ),
    )


class SecretService:
    def __init__(self, store: MetadataStore, vault: KeyVault) -> None:
        self._store = store
        self._vault = vault

    def set(self, caller: Caller, workspace: WorkspaceRecord, name: str, value: str) -> Secret:
        record = self._vault.put(workspace, check_name(name), value, actor=caller.user_name)
        self._store.audit.append(
            "secret.set",
            actor=caller.user_name,
            workspace=workspace.name,
            target=name,
            client_ip=caller.client_ip,
        )
        return secret_entity(record)

    def list(self, workspace: WorkspaceRecord) -> list[Secret]:
        return [secret_entity(r) for r in self._vault.list(workspace)]

    def delete(self, caller: Caller, workspace: WorkspaceRecord, name: str) -> None:
        if not self._vault.delete(workspace, name):
            raise NotFoundError(f"secret {name!r} not found in workspace {workspace.name!r}", field="name")
        self._store.audit.append(
            "secret.delete",
            actor=caller.user_name,
            workspace=workspace.name,
            target=name,
            client_ip=caller.client_ip,
        )
