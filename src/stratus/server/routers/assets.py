"""Datastores and data assets of a workspace (Azure ML's ``datastore`` and ``data`` YAML as JSON)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from stratus.entities.assets import (
    AzureBlobDatastore,
    AzureDataLakeGen2Datastore,
    Data,
    LocalDatastore,
    S3Datastore,
    WorkspaceBlobDatastore,
)
from stratus.entities.roles import Permission
from stratus.server.authz import requires
from stratus.server.routers._common import CallerDep, StateDep, call, secured_router
from stratus.server.schemas import AssetUpdate, DataFileList, Lineage, ListResponse
from stratus.specs import data_from_dict, datastore_from_dict

router = secured_router(prefix="/api/v1/workspaces/{workspace_name}")
Name = Annotated[str, Path(min_length=1, max_length=256)]
Version = Annotated[str, Path(min_length=1, max_length=64, description="A version, or 'latest'")]
IncludeArchived = Annotated[bool, Query(description="Also archived versions")]
Fields = Annotated[dict[str, Any], Body(description="The YAML's fields as JSON")]
AnyDatastore = (
    AzureBlobDatastore | AzureDataLakeGen2Datastore | S3Datastore | LocalDatastore | WorkspaceBlobDatastore
)
READ = requires(Permission.READ)
WRITE = requires(Permission.WRITE_ASSETS)
ARCHIVE = requires(Permission.DELETE_ASSETS)
MANAGE_DATASTORES = requires(Permission.MANAGE_DATASTORES)


# -- datastores ------------------------------------------------------------------------------------
@router.put(
    "/datastores/{name}", tags=["datastores"], response_model=AnyDatastore, openapi_extra=MANAGE_DATASTORES
)
async def put_datastore(
    name: Name, body: Fields, request: Request, caller: CallerDep, state: StateDep
) -> Any:
    """Create or update a datastore; credentials go to the key vault and are never returned.
    ``type: local`` needs the Owner role and a path under STRATUS_LOCAL_DATASTORE_ROOTS."""
    datastore = datastore_from_dict({**body, "name": name}, origin="datastore")
    return await call(state.datastores.create_or_update, caller, request.state.workspace, datastore)


@router.get("/datastores", tags=["datastores"], response_model=ListResponse[AnyDatastore], openapi_extra=READ)
async def list_datastores(request: Request, state: StateDep) -> dict[str, object]:
    return {"value": await call(state.datastores.list, request.state.workspace), "next_link": None}


@router.get("/datastores/{name}", tags=["datastores"], response_model=AnyDatastore, openapi_extra=READ)
async def get_datastore(name: Name, request: Request, state: StateDep) -> Any:
    return await call(state.datastores.get, request.state.workspace, name)


@router.delete("/datastores/{name}", tags=["datastores"], status_code=204, openapi_extra=MANAGE_DATASTORES)
async def delete_datastore(name: Name, request: Request, caller: CallerDep, state: StateDep) -> Response:
    await call(state.datastores.delete, caller, request.state.workspace, name)
    return Response(status_code=204)


# -- data assets -----------------------------------------------------------------------------------
@router.post(
    "/data/{name}/versions", tags=["data"], status_code=201, response_model=Data, openapi_extra=WRITE
)
async def create_data(name: Name, body: Fields, request: Request, caller: CallerDep, state: StateDep) -> Data:
    """Register a version. ``path`` is an azureml://datastores/<name>/paths/<path> URI or a cloud URI under
    a registered datastore (the SDK and CLI upload local files first); ``version`` defaults to the next
    integer."""
    data = data_from_dict({**body, "name": name}, origin="data")
    return await call(state.data.create, caller, request.state.workspace, data)


@router.get("/data", tags=["data"], response_model=ListResponse[Data], openapi_extra=READ)
async def list_data(
    request: Request,
    state: StateDep,
    name: Annotated[str | None, Query(max_length=256, description="Every version of this asset")] = None,
    include_archived: IncludeArchived = False,
) -> dict[str, object]:
    value = await call(state.data.list, request.state.workspace, name, include_archived=include_archived)
    return {"value": value, "next_link": None}


def _version_or_label(version: str) -> tuple[str | None, str | None]:
    return (None, "latest") if version == "latest" else (version, None)


@router.get("/data/{name}/versions/{version}", tags=["data"], response_model=Data, openapi_extra=READ)
async def get_data(name: Name, version: Version, request: Request, state: StateDep) -> Data:
    return await call(state.data.get, request.state.workspace, name, *_version_or_label(version))


@router.patch("/data/{name}/versions/{version}", tags=["data"], response_model=Data, openapi_extra=WRITE)
async def update_data(
    name: Name, version: Version, body: AssetUpdate, request: Request, caller: CallerDep, state: StateDep
) -> Data:
    """Only the description and tags change: the path and content of a version are immutable."""
    return await call(
        state.data.update,
        caller,
        request.state.workspace,
        name,
        version,
        description=body.description,
        tags=body.tags,
    )


@router.post(
    "/data/{name}/versions/{version}/archive", tags=["data"], response_model=Data, openapi_extra=ARCHIVE
)
async def archive_data_version(
    name: Name, version: Version, request: Request, caller: CallerDep, state: StateDep
) -> Data:
    changed = await call(state.data.set_archived, caller, request.state.workspace, name, version, True)
    return await call(state.data.get, request.state.workspace, name, changed)


@router.post(
    "/data/{name}/versions/{version}/restore", tags=["data"], response_model=Data, openapi_extra=ARCHIVE
)
async def restore_data_version(
    name: Name, version: Version, request: Request, caller: CallerDep, state: StateDep
) -> Data:
    changed = await call(state.data.set_archived, caller, request.state.workspace, name, version, False)
    return await call(state.data.get, request.state.workspace, name, changed)


@router.post("/data/{name}/archive", tags=["data"], status_code=204, openapi_extra=ARCHIVE)
async def archive_data(name: Name, request: Request, caller: CallerDep, state: StateDep) -> Response:
    """Archive every version of the asset (Azure's container-level archive)."""
    await call(state.data.set_archived, caller, request.state.workspace, name, None, True)
    return Response(status_code=204)


@router.post("/data/{name}/restore", tags=["data"], status_code=204, openapi_extra=ARCHIVE)
async def restore_data(name: Name, request: Request, caller: CallerDep, state: StateDep) -> Response:
    await call(state.data.set_archived, caller, request.state.workspace, name, None, False)
    return Response(status_code=204)


@router.get(
    "/data/{name}/versions/{version}/lineage", tags=["data"], response_model=Lineage, openapi_extra=READ
)
async def data_lineage(name: Name, version: Version, request: Request, state: StateDep) -> dict[str, object]:
    """The jobs that read (inputs) or wrote (outputs) this version."""
    records = await call(state.data.lineage, request.state.workspace, name, version)
    return {"value": [{"job_name": r.job_name, "direction": r.direction, "at": r.at} for r in records]}


@router.get(
    "/data/{name}/versions/{version}/files", tags=["data"], response_model=DataFileList, openapi_extra=READ
)
async def list_data_files(
    name: Name, version: Version, request: Request, state: StateDep
) -> dict[str, object]:
    files = await call(state.data.files, request.state.workspace, name, version)
    return {"value": [{"path": f.path, "size": f.size} for f in files]}


@router.get("/data/{name}/versions/{version}/files/{path:path}", tags=["data"], openapi_extra=READ)
async def read_data_file(
    name: Name, version: Version, path: str, request: Request, state: StateDep
) -> StreamingResponse:
    """One file of the version, streamed from its datastore (the server holds the credentials)."""
    chunks = await call(state.data.read_file, request.state.workspace, name, version, path)
    return StreamingResponse(chunks, media_type="application/octet-stream")
