"""Datastores of a workspace: where data lives, with credentials kept in the key vault.

A datastore row holds only where (account, container, bucket, folder); its credentials are a vault-owned
secret that no list or get returns. The built-in ``workspaceblobstore`` is the workspace's own area of the
artifact store: it always exists, is the default, and cannot be deleted or redefined.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from stratus.artifacts import ArtifactStore
from stratus.config import Settings
from stratus.datastores import (
    DatastorePath,
    check_local_root,
    match_cloud_uri,
    normalize_config,
    open_datastore,
    parse_datastore_uri,
    verify_datastore,
)
from stratus.entities._base import CreationContext
from stratus.entities.assets import DATASTORE_CLASSES, Datastore, WorkspaceBlobDatastore
from stratus.entities.roles import Permission
from stratus.errors import ConflictError, InvalidInputError, NotFoundError
from stratus.secrets.redact import REDACTOR
from stratus.secrets.vault import KeyVault
from stratus.server.services.artifacts import ArtifactService
from stratus.server.services.auth import AuthService
from stratus.server.services.context import Caller
from stratus.store.access import WorkspaceRecord
from stratus.store.assets import DatastoreRecord
from stratus.store.metadata import MetadataStore

WORKSPACE_BLOBSTORE = "workspaceblobstore"
# Entity fields that are not part of a datastore's location (``config``).
_NOT_CONFIG = {
    "name",
    "type",
    "description",
    "tags",
    "credentials",
    "id",
    "is_default",
    "credentials_type",
    "creation_context",
}


def _secret_name(datastore: str) -> str:
    return f"~datastore/{datastore}"


def _owner(datastore: str) -> str:
    return f"datastore:{datastore}"


def _entity(record: DatastoreRecord) -> Datastore:
    return DATASTORE_CLASSES[record.type].model_validate(
        {
            **record.config,
            "name": record.name,
            "description": record.description,
            "tags": record.tags,
            "id": record.id,
            "credentials_type": record.credentials_type,
            "creation_context": CreationContext(
                created_at=record.created_at,
                created_by=record.created_by,
                last_modified_at=record.updated_at,
                last_modified_by=record.updated_by,
            ),
        }
    )


class DatastoreService:
    def __init__(
        self,
        store: MetadataStore,
        vault: KeyVault,
        artifact_objects: ArtifactService,
        auth: AuthService,
        settings: Settings,
    ) -> None:
        self._store = store
        self._vault = vault
        self._artifact_objects = artifact_objects
        self._auth = auth
        self._settings = settings
        # Opened stores by (workspace id, name, last update): credentials are decrypted once per change.
        self._opened: dict[tuple[str, str, str], ArtifactStore] = {}
        self._lock = threading.Lock()

    def _local_rules(self) -> tuple[list[Path], list[Path]]:
        """Allowed roots, and the server's own folders no datastore may overlap: the home, and the artifact
        store, environment cache and SQLite database wherever they were configured to live."""
        settings = self._settings
        forbidden = [settings.resolved_home, settings.resolved_env_cache]
        artifact_uri = settings.resolved_artifact_uri
        if "://" not in artifact_uri or artifact_uri.startswith("file://"):
            forbidden.append(Path(artifact_uri.removeprefix("file://")))
        database = settings.resolved_database_url
        if database.startswith("sqlite:///"):
            forbidden.append(Path(database.removeprefix("sqlite:///")).parent)
        return settings.local_datastore_root_paths, forbidden

    def _local_kwargs(self, kind: str) -> dict[str, Any]:
        """Local datastores are checked against the allowed roots on every open: a root taken out of
        STRATUS_LOCAL_DATASTORE_ROOTS closes the datastores under it."""
        if kind != "local":
            return {}
        roots, forbidden = self._local_rules()
        return {"allowed_local_roots": roots, "forbidden_local_paths": forbidden}

    def _builtin(self, workspace: WorkspaceRecord) -> Datastore:
        return WorkspaceBlobDatastore(
            name=WORKSPACE_BLOBSTORE,
            description="The workspace's own storage: its area of the server's artifact store",
            is_default=True,
            credentials_type="none",
        )

    # -- use cases -------------------------------------------------------------------------------
    def create_or_update(self, caller: Caller, workspace: WorkspaceRecord, datastore: Datastore) -> Datastore:
        name = datastore.name
        if name == WORKSPACE_BLOBSTORE:
            raise InvalidInputError(
                f"{WORKSPACE_BLOBSTORE} is built in (the workspace's own storage) and cannot be redefined; "
                "choose another name",
                field="name",
            )
        fields = datastore.model_dump(mode="json", exclude_none=True)
        config = {k: v for k, v in fields.items() if k not in _NOT_CONFIG}
        credentials = getattr(datastore, "credentials", None)
        secret = credentials.model_dump(mode="json", exclude_none=True) if credentials is not None else None
        credentials_type = credentials.kind if credentials is not None else "none"
        if datastore.type == "local":
            self._auth.authorize(caller, Permission.CREATE_LOCAL_DATASTORE, workspace.name)
            config["path"] = str(check_local_root(config["path"], *self._local_rules()))
        config = normalize_config(datastore.type, config)
        existing = self._store.datastores.get(workspace.id, name)
        if existing is not None and existing.type != datastore.type:
            raise ConflictError(
                f"datastore {name!r} is of type {existing.type!r}; delete it first to make it "
                f"{datastore.type!r}",
                field="type",
            )
        # Open and list before storing anything: a wrong key or container fails now, naming the field.
        verify_datastore(datastore.type, config, secret or None, **self._local_kwargs(datastore.type))
        for value in (secret or {}).values():
            REDACTOR.register(str(value))
        if secret:
            self._vault.put(
                workspace, _secret_name(name), json.dumps(secret), actor=caller.user_name, owner=_owner(name)
            )
        else:
            self._vault.delete(workspace, _secret_name(name), owner=_owner(name))
        record = self._store.datastores.put(
            workspace.id,
            name,
            type=datastore.type,
            description=datastore.description,
            tags=dict(datastore.tags),
            config=config,
            credentials_type=credentials_type,
            actor=caller.user_name,
        )
        self._store.audit.append(
            "datastore.put",
            actor=caller.user_name,
            workspace=workspace.name,
            target=name,
            client_ip=caller.client_ip,
            detail={"type": datastore.type, "credentials_type": credentials_type},
        )
        return _entity(record)

    def get(self, workspace: WorkspaceRecord, name: str) -> Datastore:
        if name == WORKSPACE_BLOBSTORE:
            return self._builtin(workspace)
        record = self._store.datastores.get(workspace.id, name)
        if record is None:
            raise NotFoundError(f"datastore {name!r} not found in workspace {workspace.name!r}", field="name")
        return _entity(record)

    def list(self, workspace: WorkspaceRecord) -> list[Datastore]:
        return [self._builtin(workspace), *(_entity(r) for r in self._store.datastores.list(workspace.id))]

    def delete(self, caller: Caller, workspace: WorkspaceRecord, name: str) -> None:
        if name == WORKSPACE_BLOBSTORE:
            raise InvalidInputError(
                f"{WORKSPACE_BLOBSTORE} is the workspace's built-in default datastore and cannot be deleted",
                field="name",
            )
        if not self._store.datastores.delete(workspace.id, name):
            raise NotFoundError(f"datastore {name!r} not found in workspace {workspace.name!r}", field="name")
        self._vault.delete(workspace, _secret_name(name), owner=_owner(name))
        self._store.audit.append(
            "datastore.delete",
            actor=caller.user_name,
            workspace=workspace.name,
            target=name,
            client_ip=caller.client_ip,
        )

    # -- access for other services ---------------------------------------------------------------
    def open(self, workspace: WorkspaceRecord, name: str) -> ArtifactStore:
        """The datastore as an artifact store (every path through the one canonicaliser)."""
        if name == WORKSPACE_BLOBSTORE:
            return self._artifact_objects.objects(workspace)
        record = self._store.datastores.get(workspace.id, name)
        if record is None:
            raise NotFoundError(f"datastore {name!r} not found in workspace {workspace.name!r}", field="path")
        key = (workspace.id, name, record.updated_at.isoformat())
        with self._lock:
            cached = self._opened.get(key)
        if cached is not None:
            return cached
        secret: dict[str, Any] | None = None
        if record.credentials_type != "none":
            secret = json.loads(self._vault.reveal(workspace, _secret_name(name), owner=_owner(name)))
            for value in secret.values():
                REDACTOR.register(str(value))
        opened = open_datastore(record.type, record.config, secret, **self._local_kwargs(record.type))
        with self._lock:
            self._opened = {k: v for k, v in self._opened.items() if k[:2] != key[:2]}
            self._opened[key] = opened
        return opened

    def resolve(self, workspace: WorkspaceRecord, uri: str, *, field: str = "path") -> DatastorePath:
        """The datastore location of an ``azureml://datastores/...`` URI or of a cloud URI that falls under a
        registered datastore; anything else is refused."""
        if uri.lower().startswith("azureml://"):
            parsed = parse_datastore_uri(uri, field=field)
            if parsed.workspace is not None and parsed.workspace != workspace.name:
                raise InvalidInputError(
                    f"{uri!r} names workspace {parsed.workspace!r}, not {workspace.name!r}", field=field
                )
            self.get(workspace, parsed.name)  # must exist
            return parsed
        registered = [(r.name, r.type, r.config) for r in self._store.datastores.list(workspace.id)]
        found = match_cloud_uri(uri, registered, field=field)
        if found is None:
            raise InvalidInputError(
                f"{uri!r} is not under a datastore of workspace {workspace.name!r}; register its container "
                "or bucket with `stratus datastore create`, or use azureml://datastores/<name>/paths/<path>",
                field=field,
            )
        return found
