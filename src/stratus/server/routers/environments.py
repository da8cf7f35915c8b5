"""Environments of a workspace: Azure ML ``environment`` YAML as JSON, uv builds, logs and locks."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Body, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse, StreamingResponse

from stratus.entities.assets import Environment
from stratus.entities.roles import Permission
from stratus.server.authz import requires
from stratus.server.routers._common import CallerDep, StateDep, call, secured_router
from stratus.server.schemas import AssetUpdate, EnvironmentFromModel, ListResponse
from stratus.specs import environment_from_dict
from stratus.specs.references import parse_reference

router = secured_router(prefix="/api/v1/workspaces/{workspace_name}/environments", tags=["environments"])
Name = Annotated[str, Path(min_length=1, max_length=256)]
Version = Annotated[str, Path(min_length=1, max_length=64, description="A version, or 'latest'")]
READ = requires(Permission.READ)
WRITE = requires(Permission.WRITE_ASSETS)
ARCHIVE = requires(Permission.DELETE_ASSETS)
# Long enough for most small builds, well inside clients' 60 s timeouts; callers poll for longer ones.
MAX_WAIT_SECONDS = 45.0


@router.post("/{name}/versions", status_code=201, response_model=Environment, openapi_extra=WRITE)
async def create_environment(
    name: Name,
    body: Annotated[dict[str, Any], Body(description="The YAML's fields as JSON (conda_file inline)")],
    request: Request,
    caller: CallerDep,
    state: StateDep,
) -> Environment:
    """Register a version (image + conda_file, a Docker build context, or python + pip); ``version``
    defaults to the next integer. Building is a separate step (``…/build``)."""
    environment = environment_from_dict({**body, "name": name}, origin="environment")
    return await call(state.environments.create, caller, request.state.workspace, environment)


@router.post("/{name}/versions/from-model", status_code=201, response_model=Environment, openapi_extra=WRITE)
async def create_environment_from_model(
    name: Name, body: EnvironmentFromModel, request: Request, caller: CallerDep, state: StateDep
) -> Environment:
    """Register a version holding the Python and packages an MLflow model was saved with."""
    workspace = request.state.workspace
    model_name, version, label = parse_reference(body.model)
    model = await call(state.models.get, workspace, model_name, version, label if version is None else None)
    objects = state.artifact_objects.objects(workspace)
    return await call(
        state.environments.create_from_model, caller, workspace, name, model, objects, version=body.version
    )


@router.get("", response_model=ListResponse[Environment], openapi_extra=READ)
async def list_environments(
    request: Request,
    state: StateDep,
    name: Annotated[str | None, Query(max_length=256, description="Every version of this one")] = None,
    include_archived: Annotated[bool, Query(description="Also archived versions")] = False,
) -> dict[str, object]:
    value = await call(
        state.environments.list, request.state.workspace, name, include_archived=include_archived
    )
    return {"value": value, "next_link": None}


@router.get("/{name}/versions/{version}", response_model=Environment, openapi_extra=READ)
async def get_environment(name: Name, version: Version, request: Request, state: StateDep) -> Environment:
    """Also answers Azure's curated names (``AzureML-sklearn-1.5``) that are not registered here."""
    return await call(state.environments.get, request.state.workspace, name, version)


@router.patch("/{name}/versions/{version}", response_model=Environment, openapi_extra=WRITE)
async def update_environment(
    name: Name, version: Version, body: AssetUpdate, request: Request, caller: CallerDep, state: StateDep
) -> Environment:
    return await call(
        state.environments.update,
        caller,
        request.state.workspace,
        name,
        version,
        description=body.description,
        tags=body.tags,
    )


@router.post("/{name}/versions/{version}/archive", response_model=Environment, openapi_extra=ARCHIVE)
async def archive_environment_version(
    name: Name, version: Version, request: Request, caller: CallerDep, state: StateDep
) -> Environment:
    changed = await call(
        state.environments.set_archived, caller, request.state.workspace, name, version, True
    )
    return await call(state.environments.get, request.state.workspace, name, changed)


@router.post("/{name}/versions/{version}/restore", response_model=Environment, openapi_extra=ARCHIVE)
async def restore_environment_version(
    name: Name, version: Version, request: Request, caller: CallerDep, state: StateDep
) -> Environment:
    changed = await call(
        state.environments.set_archived, caller, request.state.workspace, name, version, False
    )
    return await call(state.environments.get, request.state.workspace, name, changed)


@router.post("/{name}/archive", status_code=204, openapi_extra=ARCHIVE)
async def archive_environment(name: Name, request: Request, caller: CallerDep, state: StateDep) -> Response:
    await call(state.environments.set_archived, caller, request.state.workspace, name, None, True)
    return Response(status_code=204)


@router.post("/{name}/restore", status_code=204, openapi_extra=ARCHIVE)
async def restore_environment(name: Name, request: Request, caller: CallerDep, state: StateDep) -> Response:
    await call(state.environments.set_archived, caller, request.state.workspace, name, None, False)
    return Response(status_code=204)


@router.post("/{name}/versions/{version}/build", response_model=Environment, openapi_extra=WRITE)
async def build_environment(
    name: Name,
    version: Version,
    request: Request,
    caller: CallerDep,
    state: StateDep,
    wait: Annotated[
        float, Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait for the build to finish")
    ] = 0.0,
) -> Environment:
    """Start the build (or find it in the cache); ``status`` says Building, Succeeded or Failed."""
    workspace = request.state.workspace
    resolved, future = await call(state.environments.start_build, caller, workspace, name, version)
    if wait > 0:
        # Waited for on the event loop: a waiting request holds no worker thread.
        await asyncio.wait([asyncio.wrap_future(future)], timeout=wait)
    return await call(state.environments.get, workspace, name, resolved)


@router.get("/{name}/versions/{version}/build-log", openapi_extra=READ)
async def environment_build_log(
    name: Name,
    version: Version,
    request: Request,
    state: StateDep,
    follow: Annotated[bool, Query(description="Keep streaming until the build ends")] = True,
) -> StreamingResponse:
    chunks = await call(state.environments.build_log, request.state.workspace, name, version, follow=follow)
    return StreamingResponse(chunks, media_type="text/plain; charset=utf-8")


@router.get("/{name}/versions/{version}/lock", response_class=PlainTextResponse, openapi_extra=READ)
async def environment_lock(name: Name, version: Version, request: Request, state: StateDep) -> str:
    """The resolved lock (every package pinned, with hashes) the first build recorded."""
    return await call(state.environments.lock, request.state.workspace, name, version)
