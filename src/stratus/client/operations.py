"""Operation groups of ``MLClient``, named as in azure-ai-ml where Azure has the same thing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from stratus.client._http import Transport
from stratus.entities import AccessToken, AuditEvent, RoleAssignment, User, Workspace
from stratus.entities._base import Entity

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
