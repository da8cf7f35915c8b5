"""Workspace use cases: create, list, show, update, delete (with what it removes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stratus.entities import CreationContext, Workspace
from stratus.errors import BadRequestError, NotFoundError
from stratus.server.services.auth import AuthService
from stratus.server.services.context import Caller
from stratus.server.services.experiments import ExperimentService
from stratus.server.services.names import check_workspace_name
from stratus.store.access import WorkspaceRecord
from stratus.store.metadata import MetadataStore
from stratus.store.paging import Page

if TYPE_CHECKING:
    from stratus.artifacts import ArtifactStore

DEFAULT_WORKSPACE = "default"


def workspace_entity(record: WorkspaceRecord, base_url: str) -> Workspace:
    return Workspace(
        name=record.name,
        display_name=record.display_name,
        description=record.description,
        tags=record.tags,
        id=f"/workspaces/{record.name}",
        mlflow_tracking_uri=f"{base_url.rstrip('/')}/workspaces/{record.name}",
        creation_context=CreationContext(
            created_at=record.created_at,
            created_by=record.created_by,
            last_modified_at=record.updated_at,
            last_modified_by=record.updated_by,
        ),
    )


class WorkspaceService:
    def __init__(self, store: MetadataStore, artifacts: ArtifactStore, auth: AuthService) -> None:
        self.store = store
        self.artifacts = artifacts
        self.auth = auth
        self.experiments = ExperimentService(store)

    def create(
        self,
        caller: Caller,
        name: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> WorkspaceRecord:
        check_workspace_name(name)
        record = self.store.workspaces.create(
            name, display_name=display_name, description=description, tags=tags, created_by=caller.user_name
        )
        self.experiments.ensure_default(record)
        self.store.audit.append(
            "workspace.create",
            actor=caller.user_name,
            workspace=name,
            target=name,
            client_ip=caller.client_ip,
        )
        return record

    def ensure_default(self) -> WorkspaceRecord:
        record = self.store.workspaces.get(DEFAULT_WORKSPACE) or self.store.workspaces.create(
            DEFAULT_WORKSPACE, description="The default workspace"
        )
        self.experiments.ensure_default(record)
        return record

    def list_for(self, caller: Caller, *, limit: int, page_token: str | None) -> Page[WorkspaceRecord]:
        """The workspaces the caller can read: all for the admin, else those where the caller holds a role."""
        if caller.is_unscoped_admin:
            return self.store.workspaces.list(limit=limit, page_token=page_token)
        if caller.is_server_admin:  # an admin token scoped to one workspace
            names = [caller.token_workspace_name or ""]
        else:
            assignments = self.store.role_assignments.list(user_id=caller.user_id, limit=10_000).items
            names = sorted({a.workspace_name for a in assignments})
            if caller.token_workspace_name is not None:
                names = [n for n in names if n == caller.token_workspace_name]
        return self.store.workspaces.list(names=names, limit=limit, page_token=page_token)

    def get(self, name: str) -> WorkspaceRecord:
        record = self.store.workspaces.get(name)
        if record is None:
            raise NotFoundError(f"workspace {name!r} not found", field="name")
        return record

    def update(
        self,
        caller: Caller,
        name: str,
        *,
        display_name: str | None,
        description: str | None,
        tags: dict[str, str] | None,
    ) -> WorkspaceRecord:
        record = self.store.workspaces.update(
            name, display_name=display_name, description=description, tags=tags, updated_by=caller.user_name
        )
        self.auth.invalidate()
        self.store.audit.append(
            "workspace.update",
            actor=caller.user_name,
            workspace=name,
            target=name,
            client_ip=caller.client_ip,
        )
        return record

    def deletion_summary(self, name: str) -> dict[str, Any]:
        record = self.get(name)
        assignments = self.store.role_assignments.list(workspace_id=record.id, limit=100_000).items
        tokens = self.store.tokens.list(workspace_ids=[record.id], limit=100_000).items
        objects = self.artifacts.sub(name).list("", recursive=True)
        files = [o for o in objects if not o.is_dir]
        return {
            "workspace": name,
            "role_assignments": len(assignments),
            "tokens": len(tokens),
            "artifact_objects": len(files),
            "artifact_bytes": sum(o.size or 0 for o in files),
            "artifact_uri": self.artifacts.full_uri(name),
        }

    def delete(self, caller: Caller, name: str, *, dry_run: bool = False) -> dict[str, Any]:
        if name == DEFAULT_WORKSPACE:
            raise BadRequestError("the 'default' workspace cannot be deleted", field="name", code="PROTECTED")
        summary = self.deletion_summary(name)
        if dry_run:
            return {**summary, "deleted": False}
        # Objects first: if the store fails half-way, the workspace is still there to retry the delete.
        self.artifacts.sub(name).delete_tree("")
        self.store.workspaces.delete(name)
        self.auth.invalidate()
        self.store.audit.append(
            "workspace.delete",
            actor=caller.user_name,
            workspace=name,
            target=name,
            client_ip=caller.client_ip,
            detail=summary,
        )
        return {**summary, "deleted": True}
