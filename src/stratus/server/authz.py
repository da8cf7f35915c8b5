"""THE authorization choke point.

Every API route is a ``SecuredRoute``. It declares the permission it needs in ``openapi_extra``
(``requires(Permission.X)``); the route handler is wrapped so that authentication and the permission
check run before anything else, request parsing included. A route that declares nothing is denied.

One route is authorised by a signed URL instead of a token (``requires_signed_url``): the part PUTs of
MLflow multipart uploads, which the stock client sends without credentials. Its signature, minted by
the token-checked ``mpu/create``, is checked here too, and a token does not replace it.
"""

from __future__ import annotations

import hmac
import inspect
import typing
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response, params
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from stratus.entities.roles import Permission
from stratus.errors import AuthenticationError, PermissionDeniedError
from stratus.server.bodies import with_parsed_json
from stratus.server.origins import SAFE_METHODS
from stratus.server.services.auth import csrf_token_for
from stratus.server.services.context import Caller
from stratus.server.services.multipart import PartGrant, verify_part_url
from stratus.server.state import ServerState

PERMISSION_KEY = "x-stratus-permission"
DEFAULT_WORKSPACE_KEY = "x-stratus-default-workspace"
SIGNED_URL_KEY = "x-stratus-signed-url"
MPU_PART_SCOPE = "mlflow-artifacts.mpu-part"
SESSION_COOKIE = "stratus_session"
CSRF_HEADER = "X-CSRF-Token"


def requires(permission: Permission, *, default_workspace: str | None = None) -> dict[str, Any]:
    """``openapi_extra`` for a route: the permission it needs, shown in the published contract too.

    ``default_workspace`` names the workspace of routes whose URL has none (the MLflow aliases).
    """
    extra: dict[str, Any] = {PERMISSION_KEY: permission.value}
    if default_workspace is not None:
        extra[DEFAULT_WORKSPACE_KEY] = default_workspace
    if permission is not Permission.ANONYMOUS:
        extra["security"] = [{"bearerAuth": []}]
    return extra


def requires_signed_url(permission: Permission, scope: str) -> dict[str, Any]:
    """``openapi_extra`` for a route authorised by a signed URL of ``scope`` alone, never a token.

    ``permission`` is what the signature stands for: the route that mints the URLs required it.
    """
    return {PERMISSION_KEY: permission.value, SIGNED_URL_KEY: scope, "security": []}


def declared_signed_url(route: APIRoute) -> str | None:
    value = (route.openapi_extra or {}).get(SIGNED_URL_KEY)
    return str(value) if value else None


def declared_permission(route: APIRoute) -> Permission | None:
    value = (route.openapi_extra or {}).get(PERMISSION_KEY)
    return Permission(value) if value else None


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.stratus
    return state


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _credentials(request: Request, state: ServerState) -> str | None:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("malformed Authorization header: send 'Authorization: Bearer <token>'")
        return token.strip()
    session = request.cookies.get(SESSION_COOKIE)
    if session is None:
        return None
    # A cookie rides along with cross-site requests; bearer headers do not. So cookie-borne requests
    # that change state must prove they come from our own pages: an allowed Origin (a foreign one is
    # refused before routing, whatever the credentials) and the session's CSRF token.
    if request.method not in SAFE_METHODS:
        origin = request.headers.get("origin")
        if origin is None or not state.origins.allows(origin, request.headers.get("host")):
            raise PermissionDeniedError(
                "cross-origin request refused: the Origin header is missing or not allowed"
            )
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, csrf_token_for(session)):
            raise PermissionDeniedError(f"missing or wrong {CSRF_HEADER} header for a session cookie")
    return session


async def authorize_request(request: Request, permission: Permission, default_workspace: str | None) -> None:
    if permission is Permission.ANONYMOUS:
        return
    state = server_state(request)
    token = _credentials(request, state)
    workspace_name = request.path_params.get("workspace_name") or default_workspace
    ip = client_ip(request)
    # From the cache on the event loop when it can (most requests); else one trip to a worker thread.
    checked = state.auth.check_cached(token, permission, workspace_name, client_ip=ip)
    if checked is None:
        checked = await run_in_threadpool(state.auth.check, token, permission, workspace_name, client_ip=ip)
    caller, workspace = checked
    request.state.caller = caller
    request.state.workspace = workspace


async def authorize_signed_url(request: Request, scope: str) -> None:
    """Check the signature a signed URL carries; the grant it proves goes to ``request.state``."""
    if scope != MPU_PART_SCOPE:
        raise PermissionDeniedError(f"this route names an unknown signed-URL scope {scope!r} and is closed")
    state = server_state(request)
    name = request.path_params.get("workspace_name")
    workspace = await run_in_threadpool(state.store.workspaces.get, name) if name else None
    grant = verify_part_url(
        state.master_key, workspace, request.path_params.get("artifact_path", ""), request.query_params
    )
    request.state.workspace = workspace
    request.state.part_grant = grant


def _answers_request_alone(route: APIRoute) -> bool:
    """True for an endpoint ``async def f(request: Request) -> SomeResponse`` with no dependencies: FastAPI's
    handler would solve an empty dependency graph and pass the response through untouched, so calling
    the endpoint is the same thing, without that machinery on every request (the MLflow routes)."""
    dependant = route.dependant
    if route.dependencies or not inspect.iscoroutinefunction(route.endpoint):
        return False
    if dependant.request_param_name is None or any(
        (
            dependant.path_params,
            dependant.query_params,
            dependant.header_params,
            dependant.cookie_params,
            dependant.body_params,
            dependant.dependencies,
            dependant.response_param_name,
            dependant.background_tasks_param_name,
        )
    ):
        return False
    try:
        answer = typing.get_type_hints(route.endpoint).get("return")
    except (NameError, TypeError):
        return False
    return isinstance(answer, type) and issubclass(answer, Response)


class SecuredRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = self.endpoint if _answers_request_alone(self) else super().get_route_handler()
        permission = declared_permission(self)
        signed_scope = declared_signed_url(self)
        default_workspace = (self.openapi_extra or {}).get(DEFAULT_WORKSPACE_KEY)

        # Routes with a JSON body model: FastAPI would parse it unbounded, and bodies of any type.
        takes_json = self.body_field is not None and not isinstance(
            self.body_field.field_info, params.Form | params.File
        )

        async def secured_handler(request: Request) -> Response:
            if permission is None:  # deny by default: an undeclared route is a bug, never an open door
                raise PermissionDeniedError("this route declares no permission and is closed")
            if signed_scope is not None:
                await authorize_signed_url(request, signed_scope)
            else:
                await authorize_request(request, permission, default_workspace)
            if takes_json:  # only once the caller is known: nobody gets the server to parse for free
                request = await with_parsed_json(request)
            return await handle(request)

        return secured_handler


def part_grant(request: Request) -> PartGrant:
    """The grant of a part URL, as the choke point verified it."""
    grant: PartGrant | None = getattr(request.state, "part_grant", None)
    if grant is None:
        raise PermissionDeniedError("this route is authorised by a signed part URL only")
    return grant


def current_caller(request: Request) -> Caller:
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is None:
        raise AuthenticationError("a bearer token is required")
    return caller
