"""Operation groups of ``MLClient``, named as in azure-ai-ml where Azure has the same thing."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from stratus.client._artifacts import ArtifactTransfer, artifact_path
from stratus.client._http import Transport
from stratus.entities import AccessToken, AuditEvent, Experiment, Job, Model, RoleAssignment, User, Workspace
from stratus.entities._base import Entity
from stratus.entities.secrets import Secret
from stratus.errors import InvalidInputError

E = TypeVar("E", bound=Entity)
T = TypeVar("T")


def _q(value: str) -> str:
    return quote(value, safe="")


class LROPoller(Generic[T]):
    """azure-ai-ml's ``begin_*`` calls return pollers; Stratus's operations finish before answering."""

    def __init__(self, value: T) -> None:
        self._value = value

    def result(self, timeout: float | None = None) -> T:
        return self._value

    def done(self) -> bool:
        return True

    def wait(self, timeout: float | None = None) -> None:
        return None

    def status(self) -> str:
        return "Succeeded"


class _Operations:
    def __init__(self, transport: Transport, client_workspace: str) -> None:
        self._transport = transport
        self._workspace = client_workspace

    def _entities(self, cls: type[E], path: str, params: dict[str, Any] | None = None) -> Iterator[E]:
        for body in self._transport.paged(path, params):
            yield cls.from_response(body)

    def _entity(self, cls: type[E], method: str, path: str, **kwargs: Any) -> E:
        return cls.from_response(self._transport.request(method, path, **kwargs))


class WorkspaceOperations(_Operations):
    def get(self, name: str | None = None) -> Workspace:
        return self._entity(Workspace, "GET", f"/api/v1/workspaces/{_q(name or self._workspace)}")

    def list(self) -> Iterator[Workspace]:
        return self._entities(Workspace, "/api/v1/workspaces")

    def begin_create(self, workspace: Workspace, **_azure_only: Any) -> LROPoller[Workspace]:
        body = workspace.model_dump(
            include={"name", "display_name", "description", "tags"}, exclude_none=True
        )
        return LROPoller(self._entity(Workspace, "POST", "/api/v1/workspaces", json=body))

    def begin_update(self, workspace: Workspace, **_azure_only: Any) -> LROPoller[Workspace]:
        body = workspace.model_dump(include={"display_name", "description", "tags"}, exclude_none=True)
        return LROPoller(
            self._entity(Workspace, "PATCH", f"/api/v1/workspaces/{_q(workspace.name)}", json=body)
        )

    def begin_delete(
        self,
        name: str,
        *,
        delete_dependent_resources: bool = True,
        permanently_delete: bool = True,
        dry_run: bool = False,
        **_azure_only: Any,
    ) -> LROPoller[dict[str, Any]]:
        """Deletes the workspace with everything in it (Stratus keeps no soft-deleted workspaces).

        ``dry_run=True`` only reports what would be removed.
        """
        body = self._transport.request(
            "DELETE", f"/api/v1/workspaces/{_q(name)}", params={"dry_run": "true" if dry_run else None}
        )
        return LROPoller(body)


class UserOperations(_Operations):
    def create(self, user: User | str, *, is_server_admin: bool = False) -> User:
        entity = User(name=user, is_server_admin=is_server_admin) if isinstance(user, str) else user
        body = entity.model_dump(include={"name", "display_name", "is_server_admin"}, exclude_none=True)
        return self._entity(User, "POST", "/api/v1/users", json=body)

    def get(self, name: str) -> User:
        return self._entity(User, "GET", f"/api/v1/users/{_q(name)}")

    def list(self) -> Iterator[User]:
        return self._entities(User, "/api/v1/users")


class TokenOperations(_Operations):
    def create(
        self,
        *,
        user: str | None = None,
        workspace_name: str | None = None,
        name: str | None = None,
        expires_in: str | None = None,
    ) -> AccessToken:
        """The returned ``token`` attribute holds the secret; it is never shown again."""
        body = {"user": user, "workspace": workspace_name, "name": name, "expires_in": expires_in}
        return self._entity(
            AccessToken, "POST", "/api/v1/tokens", json={k: v for k, v in body.items() if v is not None}
        )

    def list(self, *, user: str | None = None) -> Iterator[AccessToken]:
        return self._entities(AccessToken, "/api/v1/tokens", {"user": user})

    def get(self, token_id: str) -> AccessToken:
        return self._entity(AccessToken, "GET", f"/api/v1/tokens/{_q(token_id)}")

    def revoke(self, token_id: str) -> AccessToken:
        return self._entity(AccessToken, "DELETE", f"/api/v1/tokens/{_q(token_id)}")


class RoleAssignmentOperations(_Operations):
    def _path(self, workspace_name: str | None) -> str:
        return f"/api/v1/workspaces/{_q(workspace_name or self._workspace)}/role-assignments"

    def create(self, user: str, role: str, *, workspace_name: str | None = None) -> RoleAssignment:
        return self._entity(
            RoleAssignment, "POST", self._path(workspace_name), json={"user": user, "role": role}
        )

    def list(self, *, user: str | None = None, workspace_name: str | None = None) -> Iterator[RoleAssignment]:
        return self._entities(RoleAssignment, self._path(workspace_name), {"user": user})

    def delete(self, user: str, role: str, *, workspace_name: str | None = None) -> None:
        self._transport.request("DELETE", self._path(workspace_name), params={"user": user, "role": role})


class AuditOperations(_Operations):
    def list(self, *, action: str | None = None) -> Iterator[AuditEvent]:
        return self._entities(AuditEvent, "/api/v1/audit", {"action": action})


class ExperimentOperations(_Operations):
    def _path(self, suffix: str = "") -> str:
        return f"/api/v1/workspaces/{_q(self._workspace)}/experiments{suffix}"

    def list(self, *, include_archived: bool = False) -> Iterator[Experiment]:
        return self._entities(Experiment, self._path(), {"include_archived": include_archived or None})

    def get(self, name: str) -> Experiment:
        return self._entity(Experiment, "GET", self._path(f"/{_q(name)}"))


class JobOperations(_Operations):
    """Jobs of the workspace; today every job is an MLflow run (``name`` = run id)."""

    def __init__(self, transport: Transport, client_workspace: str, files: ArtifactTransfer) -> None:
        super().__init__(transport, client_workspace)
        self._files = files

    def _path(self, suffix: str = "") -> str:
        return f"/api/v1/workspaces/{_q(self._workspace)}/jobs{suffix}"

    def list(
        self,
        *,
        experiment_name: str | None = None,
        status: str | None = None,
        include_archived: bool = False,
        **_azure_only: Any,
    ) -> Iterator[Job]:
        params = {
            "experiment_name": experiment_name,
            "status": status,
            "include_archived": include_archived or None,
        }
        return self._entities(Job, self._path(), params)

    def get(self, name: str) -> Job:
        return self._entity(Job, "GET", self._path(f"/{_q(name)}"))

    def download(self, name: str, *, download_path: str | os.PathLike[str] = ".", **_azure_only: Any) -> Path:
        """The job's artifacts into ``<download_path>/artifacts/``, as ``az ml job download`` does (left
        empty when the job logged none)."""
        job = self.get(name)
        target = Path(download_path) / "artifacts"
        self._files.download(artifact_path(job.artifact_uri or ""), target, allow_empty=True)
        return target


class ModelOperations(_Operations):
    """Model assets over the MLflow registry: a version here is an MLflow model version."""

    def __init__(self, transport: Transport, client_workspace: str, files: ArtifactTransfer) -> None:
        super().__init__(transport, client_workspace)
        self._files = files

    def _path(self, name: str | None = None, suffix: str = "") -> str:
        base = f"/api/v1/workspaces/{_q(self._workspace)}/models"
        return base if name is None else f"{base}/{_q(name)}/versions{suffix}"

    def create_or_update(self, model: Model, **_azure_only: Any) -> Model:
        """Registers a new version; a local ``path`` (file or folder) is uploaded first."""
        from stratus.specs.model import REMOTE_PREFIXES  # the specs (YAML, their models) only here

        path = model.path or ""
        if not path:
            raise InvalidInputError("a model needs a path: a local file or folder, or a URI", field="path")
        if not path.startswith(REMOTE_PREFIXES):
            local = Path(path.removeprefix("file:")).expanduser()
            if not local.exists():
                raise InvalidInputError(f"model path {local} does not exist", field="path")
            if model.type == "mlflow_model" and not (local / "MLmodel").is_file():
                raise InvalidInputError(
                    f"type mlflow_model needs an MLflow model folder, but {local} has no MLmodel file; "
                    "use type custom_model for other files",
                    field="path",
                )
            prefix = f"registry/{uuid.uuid4().hex}"
            self._files.upload(local, prefix)
            path = f"mlflow-artifacts:/{prefix}"
        body = model.model_dump(
            include={"version", "type", "description", "tags", "properties", "stage"}, exclude_none=True
        )
        return self._entity(Model, "POST", self._path(model.name), json={**body, "path": path})

    def get(self, name: str, version: str | int | None = None, label: str | None = None) -> Model:
        """``version`` or ``label`` (``latest``, or an MLflow alias such as ``champion``)."""
        if (version is None) == (label is None):
            raise InvalidInputError("give either version or label (e.g. label='latest')", field="version")
        return self._entity(Model, "GET", self._path(name, f"/{_q(str(version or label))}"))

    def list(self, name: str | None = None, *, include_archived: bool = False) -> Iterator[Model]:
        """Every version of ``name``, newest first; without a name, the newest version of each model."""
        params = {"name": name, "include_archived": include_archived or None}
        return self._entities(Model, self._path(), params)

    def download(self, name: str, version: str | int, *, download_path: str | os.PathLike[str] = ".") -> Path:
        """The version's files into ``<download_path>/<name>/``."""
        model = self.get(name, version)
        target = Path(download_path) / name
        self._files.download(artifact_path(model.path or ""), target)
        return target

    def archive(self, name: str, version: str | int) -> Model:
        return self._entity(Model, "POST", self._path(name, f"/{_q(str(version))}/archive"))

    def restore(self, name: str, version: str | int) -> Model:
        return self._entity(Model, "POST", self._path(name, f"/{_q(str(version))}/restore"))


class SecretOperations(_Operations):
    """The workspace's key vault: values go in and are never read back."""

    def _path(self, name: str | None = None) -> str:
        base = f"/api/v1/workspaces/{_q(self._workspace)}/secrets"
        return base if name is None else f"{base}/{_q(name)}"

    def set(self, name: str, value: str) -> Secret:
        return self._entity(Secret, "PUT", self._path(name), json={"value": value})

    def list(self) -> Iterator[Secret]:
        return self._entities(Secret, self._path())

    def delete(self, name: str) -> None:
        self._transport.request("DELETE", self._path(name))
