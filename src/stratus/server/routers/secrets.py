"""The key vault of a workspace: set, list and delete secrets. No route returns a value."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request, Response

from stratus.entities.roles import Permission
from stratus.entities.secrets import Secret
from stratus.server.authz import requires
from stratus.server.routers._common import CallerDep, StateDep, call, secured_router
from stratus.server.schemas import ListResponse, SecretValue

router = secured_router(prefix="/api/v1/workspaces/{workspace_name}/secrets", tags=["secrets"])
Name = Annotated[str, Path(min_length=1, max_length=127)]


@router.put("/{name}", response_model=Secret, openapi_extra=requires(Permission.MANAGE_SECRETS))
async def set_secret(
    name: Name, body: SecretValue, request: Request, caller: CallerDep, state: StateDep
) -> Secret:
    """Create or replace a secret. The response carries its name and history only."""
    return await call(state.secrets.set, caller, request.state.workspace, name, body.value)


@router.get("", response_model=ListResponse[Secret], openapi_extra=requires(Permission.USE_SECRETS))
async def list_secrets(request: Request, state: StateDep) -> dict[str, object]:
    """Names only; Reader and Compute Operator may not see them (they cannot use secrets)."""
    return {"value": await call(state.secrets.list, request.state.workspace), "next_link": None}


@router.delete("/{name}", status_code=204, openapi_extra=requires(Permission.MANAGE_SECRETS))
async def delete_secret(name: Name, request: Request, caller: CallerDep, state: StateDep) -> Response:
    await call(state.secrets.delete, caller, request.state.workspace, name)
    return Response(status_code=204)
