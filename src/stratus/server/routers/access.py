"""Users, tokens, role assignments, the audit log and browser sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request, Response

from stratus.entities import AccessToken, AuditEvent, RoleAssignment, User
from stratus.entities.roles import Permission
from stratus.errors import NotFoundError
from stratus.server.authz import SESSION_COOKIE, requires
from stratus.server.routers._common import (
    CallerDep,
    SkipToken,
    StateDep,
    Top,
    call,
    list_body,
    secured_router,
)
from stratus.server.schemas import ListResponse, RoleAssignmentCreate, Session, TokenCreate, UserCreate
from stratus.server.services.auth import csrf_token_for
from stratus.server.services.users import assignment_entity, token_entity, user_entity

router = secured_router(prefix="/api/v1")
Name = Annotated[str, Path(min_length=1, max_length=64)]


@router.get(
    "/users",
    tags=["users"],
    response_model=ListResponse[User],
    openapi_extra=requires(Permission.SERVER_ADMIN),
)
async def list_users(
    request: Request, state: StateDep, top: Top = 100, skip_token: SkipToken = None
) -> dict[str, object]:
    page = await call(state.store.users.list, limit=top, page_token=skip_token)
    return list_body(request, page, user_entity)


@router.post(
    "/users",
    tags=["users"],
    status_code=201,
    response_model=User,
    openapi_extra=requires(Permission.SERVER_ADMIN),
)
async def create_user(body: UserCreate, caller: CallerDep, state: StateDep) -> User:
    record = await call(
        state.users.create_user,
        caller,
        body.name,
        display_name=body.display_name,
        is_server_admin=body.is_server_admin,
    )
    return user_entity(record)


@router.get(
    "/users/{user_name}", tags=["users"], response_model=User, openapi_extra=requires(Permission.SERVER_ADMIN)
)
async def get_user(user_name: Name, state: StateDep) -> User:
    return user_entity(await call(state.users.get_user, user_name, "user_name"))


@router.get(
    "/tokens",
    tags=["tokens"],
    response_model=ListResponse[AccessToken],
    openapi_extra=requires(Permission.AUTHENTICATED),
)
async def list_tokens(
    request: Request,
    caller: CallerDep,
    state: StateDep,
    user: Annotated[str | None, Query(max_length=64, description="Whose tokens; default: yours")] = None,
    top: Top = 100,
    skip_token: SkipToken = None,
) -> dict[str, object]:
    page = await call(state.users.list_tokens, caller, user=user, limit=top, page_token=skip_token)
    return list_body(request, page, token_entity)


@router.post(
    "/tokens",
    tags=["tokens"],
    status_code=201,
    response_model=AccessToken,
    openapi_extra=requires(Permission.AUTHENTICATED),
)
async def create_token(body: TokenCreate, caller: CallerDep, state: StateDep) -> AccessToken:
    record, secret = await call(
        state.users.create_token,
        caller,
        user=body.user,
        workspace=body.workspace,
        name=body.name,
        expires_in=body.expires_in,
    )
    return token_entity(record, secret)


@router.get(
    "/tokens/{token_id}",
    tags=["tokens"],
    response_model=AccessToken,
    openapi_extra=requires(Permission.AUTHENTICATED),
)
async def get_token(token_id: Name, caller: CallerDep, state: StateDep) -> AccessToken:
    return token_entity(await call(state.users.get_token, caller, token_id))


@router.delete(
    "/tokens/{token_id}",
    tags=["tokens"],
    response_model=AccessToken,
    openapi_extra=requires(Permission.AUTHENTICATED),
)
async def revoke_token(token_id: Name, caller: CallerDep, state: StateDep) -> AccessToken:
    return token_entity(await call(state.users.revoke_token, caller, token_id))


@router.get(
    "/workspaces/{workspace_name}/role-assignments",
    tags=["roles"],
    response_model=ListResponse[RoleAssignment],
    openapi_extra=requires(Permission.READ),
)
async def list_role_assignments(
    request: Request,
    workspace_name: Name,
    state: StateDep,
    user: Annotated[str | None, Query(max_length=64)] = None,
    top: Top = 100,
    skip_token: SkipToken = None,
) -> dict[str, object]:
    page = await call(state.users.list_roles, workspace_name, user=user, limit=top, page_token=skip_token)
    return list_body(request, page, assignment_entity)


@router.post(
    "/workspaces/{workspace_name}/role-assignments",
    tags=["roles"],
    status_code=201,
    response_model=RoleAssignment,
    openapi_extra=requires(Permission.MANAGE_ACCESS),
)
async def assign_role(
    workspace_name: Name, body: RoleAssignmentCreate, caller: CallerDep, state: StateDep
) -> RoleAssignment:
    record = await call(state.users.assign_role, caller, workspace_name, body.user, body.role)
    return assignment_entity(record)


@router.delete(
    "/workspaces/{workspace_name}/role-assignments",
    tags=["roles"],
    status_code=204,
    openapi_extra=requires(Permission.MANAGE_ACCESS),
)
async def delete_role_assignment(
    workspace_name: Name,
    caller: CallerDep,
    state: StateDep,
    user: Annotated[str, Query(min_length=1, max_length=64)],
    role: Annotated[str, Query(min_length=1, max_length=64)],
) -> Response:
    await call(state.users.delete_role, caller, workspace_name, user, role)
    return Response(status_code=204)


@router.get(
    "/audit",
    tags=["audit"],
    response_model=ListResponse[AuditEvent],
    openapi_extra=requires(Permission.SERVER_ADMIN),
)
async def list_audit_events(
    request: Request,
    state: StateDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    top: Top = 100,
    skip_token: SkipToken = None,
) -> dict[str, object]:
    page = await call(state.store.audit.list, action=action, limit=top, page_token=skip_token)
    return list_body(request, page, lambda r: AuditEvent(**r.__dict__))


@router.post(
    "/session", tags=["session"], response_model=Session, openapi_extra=requires(Permission.AUTHENTICATED)
)
async def open_session(request: Request, response: Response, caller: CallerDep, state: StateDep) -> Session:
    """Trade a bearer token for a browser session: an HttpOnly SameSite=Strict cookie plus a CSRF token."""
    record, secret = await call(
        state.users.create_token,
        caller,
        workspace=caller.token_workspace_name,
        name="browser session",
        expires_in="12h",
    )
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=12 * 3600,
        path="/",
    )
    expires = record.expires_at.isoformat() if record.expires_at else None
    return Session(csrf_token=csrf_token_for(secret), expires_at=expires)


@router.delete(
    "/session", tags=["session"], status_code=204, openapi_extra=requires(Permission.AUTHENTICATED)
)
async def close_session(request: Request, caller: CallerDep, state: StateDep) -> Response:
    # Only a cookie-authenticated request closes a session: never revoke the bearer token that was sent.
    if (
        request.headers.get("authorization")
        or request.cookies.get(SESSION_COOKIE) is None
        or not caller.token_id
    ):
        raise NotFoundError("no browser session to close")
    await call(state.users.revoke_token, caller, caller.token_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
