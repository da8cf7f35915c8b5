"""Experiments, jobs and models of a workspace in the Stratus API (the same rows as the MLflow API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request

from stratus.entities import Experiment, Job, Model
from stratus.entities.roles import Permission
from stratus.server.authz import requires
from stratus.server.routers._common import (
    CallerDep,
    SkipToken,
    StateDep,
    Top,
    call,
    list_body,
    secured_router,
)
from stratus.server.schemas import GarbageCollection, GarbageReport, ListResponse, ModelCreate

router = secured_router(prefix="/api/v1/workspaces/{workspace_name}", tags=["tracking"])
Name = Annotated[str, Path(min_length=1, max_length=256)]
Version = Annotated[str, Path(min_length=1, max_length=10)]
# A version number, ``latest``, or an MLflow alias (MLflow allows aliases of up to 255 characters).
VersionOrLabel = Annotated[str, Path(min_length=1, max_length=255)]
IncludeArchived = Annotated[bool, Query(description="Also deleted experiments and jobs, or archived models")]
READ = requires(Permission.READ)
WRITE = requires(Permission.WRITE_ASSETS)
DELETE = requires(Permission.DELETE_ASSETS)


@router.get("/experiments", response_model=ListResponse[Experiment], openapi_extra=READ)
async def list_experiments(
    request: Request,
    state: StateDep,
    include_archived: IncludeArchived = False,
    top: Top = 100,
    skip_token: SkipToken = None,
) -> dict[str, object]:
    page = await call(
        state.jobs.list_experiments,
        request.state.workspace,
        include_deleted=include_archived,
        limit=top,
        page_token=skip_token,
    )
    return list_body(request, page)


@router.get("/experiments/{name}", response_model=Experiment, openapi_extra=READ)
async def get_experiment(name: Name, request: Request, state: StateDep) -> Experiment:
    return await call(state.jobs.get_experiment, request.state.workspace, name)


@router.get("/jobs", response_model=ListResponse[Job], openapi_extra=READ)
async def list_jobs(
    request: Request,
    state: StateDep,
    experiment_name: Annotated[str | None, Query(max_length=500)] = None,
    status: Annotated[str | None, Query(max_length=20, description="e.g. Running, Completed")] = None,
    include_archived: IncludeArchived = False,
    top: Top = 100,
    skip_token: SkipToken = None,
) -> dict[str, object]:
    page = await call(
        state.jobs.list_jobs,
        request.state.workspace,
        experiment_name=experiment_name,
        status=status,
        include_deleted=include_archived,
        limit=top,
        page_token=skip_token,
    )
    return list_body(request, page)


@router.get("/jobs/{name}", response_model=Job, openapi_extra=READ)
async def get_job(
    name: Annotated[str, Path(min_length=1, max_length=64)], request: Request, state: StateDep
) -> Job:
    return await call(state.jobs.get_job, request.state.workspace, name)


@router.get("/models", response_model=ListResponse[Model], openapi_extra=READ)
async def list_models(
    request: Request,
    state: StateDep,
    name: Annotated[str | None, Query(max_length=256, description="Every version of this model")] = None,
    include_archived: IncludeArchived = False,
    top: Top = 100,
    skip_token: SkipToken = None,
) -> dict[str, object]:
    page = await call(
        state.models.list_models,
        request.state.workspace,
        name=name,
        include_archived=include_archived,
        limit=top,
        page_token=skip_token,
    )
    return list_body(request, page)


@router.post("/models/{name}/versions", status_code=201, response_model=Model, openapi_extra=WRITE)
async def create_model(
    name: Name, body: ModelCreate, request: Request, caller: CallerDep, state: StateDep
) -> Model:
    return await call(
        state.models.create,
        request.state.workspace,
        name,
        path=body.path,
        version=body.version,
        model_type=body.type,
        description=body.description,
        tags=body.tags,
        properties=body.properties,
        stage=body.stage,
        user_id=caller.user_name,
    )


@router.get("/models/{name}/versions/{version}", response_model=Model, openapi_extra=READ)
async def get_model(name: Name, version: VersionOrLabel, request: Request, state: StateDep) -> Model:
    """``version`` is an integer; ``latest`` (newest not archived) or an MLflow alias name also work."""
    number, label = (version, None) if version.isdigit() else (None, version)
    return await call(state.models.get, request.state.workspace, name, number, label)


@router.post("/models/{name}/versions/{version}/archive", response_model=Model, openapi_extra=DELETE)
async def archive_model(name: Name, version: Version, request: Request, state: StateDep) -> Model:
    return await call(state.models.set_archived, request.state.workspace, name, version, True)


@router.post("/models/{name}/versions/{version}/restore", response_model=Model, openapi_extra=DELETE)
async def restore_model(name: Name, version: Version, request: Request, state: StateDep) -> Model:
    return await call(state.models.set_archived, request.state.workspace, name, version, False)


# §6 puts gc in the datastores row: Owner and Contributor, not Data Scientist (it purges for everyone).
@router.post("/gc", response_model=GarbageReport, openapi_extra=requires(Permission.MANAGE_DATASTORES))
async def collect_garbage(body: GarbageCollection, request: Request, state: StateDep) -> dict[str, object]:
    """Purge soft-deleted runs and experiments and their artifacts (files a model version uses are kept),
    and sweep what killed uploads left."""
    return await call(
        state.gc.collect,
        request.state.workspace,
        older_than=body.older_than,
        dry_run=body.dry_run,
        uploads_older_than=body.uploads_older_than,
    )
