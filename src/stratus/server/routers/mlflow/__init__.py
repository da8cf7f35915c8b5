"""The MLflow REST API of each workspace, for the unmodified ``mlflow`` client.

Each endpoint is served under four prefixes per MLflow tree: ``/workspaces/{ws}/api/2.0/mlflow``,
``/workspaces/{ws}/ajax-api/2.0/mlflow`` and both again without ``/workspaces/{ws}`` for the ``default``
workspace. Only the first appears in ``/openapi.json``. Requests are read the way MLflow reads them:
query parameters and JSON body fields together, unknown fields ignored; errors answer in MLflow's shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stratus.entities.roles import Permission
from stratus.errors import BadRequestError
from stratus.parsing import loads_json
from stratus.server.authz import SecuredRoute, requires, server_state
from stratus.server.bodies import require_json_media_type
from stratus.server.routers._common import call
from stratus.server.services.workspaces import DEFAULT_WORKSPACE
from stratus.server.state import ServerState
from stratus.store.access import WorkspaceRecord

# Also matches the ajax-api trees and /api/2.0/mlflow-artifacts.
MLFLOW_PATH_MARKERS = ("api/2.0/mlflow", "api/3.0/mlflow")
WORKSPACE_HEADER = "x-mlflow-workspace"
Endpoint = Callable[[Request], Awaitable[Any]]


def is_mlflow_path(path: str) -> bool:
    return any(marker in path for marker in MLFLOW_PATH_MARKERS)


def mlflow_router() -> APIRouter:
    return APIRouter(route_class=SecuredRoute)


def add_mlflow_route(
    router: APIRouter,
    method: str,
    path: str,
    endpoint: Endpoint,
    permission: Permission,
    *,
    tree: str = "api/2.0",
) -> None:
    """Register ``endpoint`` under every prefix of its MLflow tree (see the module docstring)."""
    trees = [tree, f"ajax-{tree}"]
    for index, current in enumerate(trees):
        for prefixed in (True, False):
            url = f"/{current}/mlflow{path}"
            router.add_api_route(
                f"/workspaces/{{workspace_name}}{url}" if prefixed else url,
                endpoint,
                methods=[method],
                include_in_schema=prefixed and index == 0,
                openapi_extra=requires(permission, default_workspace=None if prefixed else DEFAULT_WORKSPACE),
                name=f"mlflow{'' if prefixed else '-default'}{'' if index == 0 else '-ajax'}:{method}:{path}",
                tags=["mlflow"],
            )


def json_object(request: Request, body: bytes) -> dict[str, Any]:
    """A request's JSON object body (``{}`` when empty): JSON media type, bounded parse, an object."""
    if not body.strip():
        return {}
    require_json_media_type(request)
    try:
        data = loads_json(body)
    except ValueError as exc:
        raise BadRequestError(f"malformed JSON body: {exc}", code="INVALID_PARAMETER_VALUE") from None
    if not isinstance(data, dict):
        raise BadRequestError("the JSON body must be an object", code="INVALID_PARAMETER_VALUE")
    return data


async def read_params(request: Request) -> dict[str, Any]:
    """Query parameters and JSON body fields, as MLflow's handlers merge them."""
    params: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        params[key] = values if len(values) > 1 else values[0]
    params.update(json_object(request, await request.body()))
    return params


def workspace_of(request: Request) -> WorkspaceRecord:
    """The workspace from the URL (checked by the choke point); a header naming another one is refused."""
    workspace: WorkspaceRecord = request.state.workspace
    named = request.headers.get(WORKSPACE_HEADER)
    if named is not None and named != workspace.name:
        raise BadRequestError(
            f"{WORKSPACE_HEADER} names {named!r} but this URL serves workspace {workspace.name!r}; "
            "the workspace comes from the tracking URI",
            code="INVALID_PARAMETER_VALUE",
        )
    return workspace


class FastJSONResponse(JSONResponse):
    """orjson renders the large bodies of search and history pages several times faster than json."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ok(body: dict[str, Any] | None = None) -> JSONResponse:
    return FastJSONResponse(body or {})


def text(params: dict[str, Any], key: str) -> str | None:
    value = params.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise BadRequestError(
            f"parameter {key!r} must be a string", field=key, code="INVALID_PARAMETER_VALUE"
        )
    return str(value)


def integer(params: dict[str, Any], key: str) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadRequestError(
            f"parameter {key!r} must be an integer", field=key, code="INVALID_PARAMETER_VALUE"
        ) from None


def string_list(params: dict[str, Any], key: str) -> list[str] | None:
    value = params.get(key)
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in items):
        raise BadRequestError(
            f"parameter {key!r} must be a list of strings", field=key, code="INVALID_PARAMETER_VALUE"
        )
    return items


def tag_dict(params: dict[str, Any], key: str = "tags") -> dict[str, str]:
    value = params.get(key) or []
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise BadRequestError(
            f"parameter {key!r} must be a list of {{key, value}} objects",
            field=key,
            code="INVALID_PARAMETER_VALUE",
        )
    return {str(t.get("key")): str(t.get("value", "")) for t in value}


def forward(
    use_case: Callable[[ServerState], Callable[..., Any]],
    *fields: str,
    reply: Callable[[Any], dict[str, Any]] | None = None,
) -> Endpoint:
    """The endpoint of a use case that takes the workspace and request ``fields`` in order, and answers
    ``reply(result)`` (``{}`` without ``reply``): what most MLflow handlers are, written once."""

    async def endpoint(request: Request) -> JSONResponse:
        params = await read_params(request)
        result = await call(
            use_case(server_state(request)), workspace_of(request), *(params.get(f) for f in fields)
        )
        return ok(None if reply is None else reply(result))

    return endpoint
