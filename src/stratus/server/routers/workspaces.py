from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request

from stratus.entities import Workspace
from stratus.entities.roles import Permission
from stratus.server.authz import requires
from stratus.server.routers._common import (
    CallerDep,
    SkipToken,
    StateDep,
    Top,
    base_url,
    call,
    list_body,
    secured_router,
)
from stratus.server.schemas import ListResponse, WorkspaceCreate, WorkspaceDeletion, WorkspaceUpdate
from stratus.server.services.workspaces import workspace_entity

router = secured_router(prefix="/api/v1/workspaces", tags=["workspaces"])
WorkspaceName = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("", response_model=ListResponse[Workspace], openapi_extra=requires(Permission.AUTHENTICATED))
async def list_workspaces(
    request: Request, caller: CallerDep, state: StateDep, top: Top = 100, skip_token: SkipToken = None
) -> dict[str, object]:
    page = await call(state.workspaces.list_for, caller, limit=top, page_token=skip_token)
    url = base_url(request)
    return list_body(request, page, lambda r: workspace_entity(r, url))


@router.post("", status_code=201, response_model=Workspace, openapi_extra=requires(Permission.SERVER_ADMIN))
async def create_workspace(
    body: WorkspaceCreate, request: Request, caller: CallerDep, state: StateDep
) -> Workspace:
    record = await call(
        state.workspaces.create,
        caller,
        body.name,
        display_name=body.display_name,
        description=body.description,
        tags=body.tags,
    )
    return workspace_entity(record, base_url(request))


@router.get("/{workspace_name}", response_model=Workspace, openapi_extra=requires(Permission.READ))
async def get_workspace(workspace_name: WorkspaceName, request: Request, state: StateDep) -> Workspace:
    return workspace_entity(await call(state.workspaces.get, workspace_name), base_url(request))


@router.patch(
    "/{workspace_name}", response_model=Workspace, openapi_extra=requires(Permission.UPDATE_SETTINGS)
)
async def update_workspace(
    workspace_name: WorkspaceName, body: WorkspaceUpdate, request: Request, caller: CallerDep, state: StateDep
) -> Workspace:
    record = await call(
        state.workspaces.update,
        caller,
        workspace_name,
        display_name=body.display_name,
        description=body.description,
        tags=body.tags,
    )
    return workspace_entity(record, base_url(request))


@router.delete(
    "/{workspace_name}", response_model=WorkspaceDeletion, openapi_extra=requires(Permission.MANAGE_ACCESS)
)
async def delete_workspace(
    workspace_name: WorkspaceName,
    caller: CallerDep,
    state: StateDep,
    dry_run: Annotated[bool, Query(description="Only report what would be removed")] = False,
) -> dict[str, object]:
    return await call(state.workspaces.delete, caller, workspace_name, dry_run=dry_run)
