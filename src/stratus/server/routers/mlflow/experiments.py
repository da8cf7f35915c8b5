"""``/api/2.0/mlflow/experiments/*``."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from stratus.entities.roles import Permission
from stratus.server.authz import server_state
from stratus.server.routers._common import call
from stratus.server.routers.mlflow import (
    add_mlflow_route,
    integer,
    mlflow_router,
    ok,
    read_params,
    string_list,
    tag_dict,
    text,
    workspace_of,
)
from stratus.store.tracking import ExperimentRecord

router = mlflow_router()


def experiment_json(record: ExperimentRecord) -> dict[str, Any]:
    return {
        "experiment_id": str(record.experiment_id),
        "name": record.name,
        "artifact_location": record.artifact_location,
        "lifecycle_stage": record.lifecycle_stage,
        "last_update_time": record.last_update_time,
        "creation_time": record.creation_time,
        "tags": [{"key": k, "value": v} for k, v in sorted(record.tags.items())],
    }


async def create_experiment(request: Request) -> JSONResponse:
    params = await read_params(request)
    experiments = server_state(request).experiments
    record = await call(
        experiments.create,
        workspace_of(request),
        text(params, "name"),
        artifact_location=text(params, "artifact_location"),
        tags=tag_dict(params),
    )
    return ok({"experiment_id": str(record.experiment_id)})


async def get_experiment(request: Request) -> JSONResponse:
    params = await read_params(request)
    record = await call(
        server_state(request).experiments.get, workspace_of(request), text(params, "experiment_id")
    )
    return ok({"experiment": experiment_json(record)})


async def get_experiment_by_name(request: Request) -> JSONResponse:
    params = await read_params(request)
    experiments = server_state(request).experiments
    record = await call(experiments.get_by_name, workspace_of(request), text(params, "experiment_name"))
    return ok({"experiment": experiment_json(record)})


async def search_experiments(request: Request) -> JSONResponse:
    params = await read_params(request)
    records, next_token = await call(
        server_state(request).experiments.search,
        workspace_of(request),
        view_type=text(params, "view_type"),
        max_results=integer(params, "max_results"),
        filter_string=text(params, "filter"),
        order_by=string_list(params, "order_by"),
        page_token=text(params, "page_token"),
    )
    body: dict[str, Any] = {"experiments": [experiment_json(r) for r in records]}
    if next_token:
        body["next_page_token"] = next_token
    return ok(body)


async def update_experiment(request: Request) -> JSONResponse:
    params = await read_params(request)
    experiments = server_state(request).experiments
    await call(
        experiments.rename, workspace_of(request), text(params, "experiment_id"), text(params, "new_name")
    )
    return ok()


async def delete_experiment(request: Request) -> JSONResponse:
    params = await read_params(request)
    await call(server_state(request).experiments.delete, workspace_of(request), text(params, "experiment_id"))
    return ok()


async def restore_experiment(request: Request) -> JSONResponse:
    params = await read_params(request)
    await call(
        server_state(request).experiments.restore, workspace_of(request), text(params, "experiment_id")
    )
    return ok()


async def set_experiment_tag(request: Request) -> JSONResponse:
    params = await read_params(request)
    await call(
        server_state(request).experiments.set_tag,
        workspace_of(request),
        text(params, "experiment_id"),
        text(params, "key"),
        text(params, "value"),
    )
    return ok()


async def delete_experiment_tag(request: Request) -> JSONResponse:
    params = await read_params(request)
    await call(
        server_state(request).experiments.delete_tag,
        workspace_of(request),
        text(params, "experiment_id"),
        text(params, "key"),
    )
    return ok()


P = Permission
for method, path, endpoint, permission in (
    ("POST", "/experiments/create", create_experiment, P.LOG_RUNS),
    ("GET", "/experiments/get", get_experiment, P.READ),
    ("GET", "/experiments/get-by-name", get_experiment_by_name, P.READ),
    ("POST", "/experiments/search", search_experiments, P.READ),
    ("GET", "/experiments/search", search_experiments, P.READ),
    ("POST", "/experiments/update", update_experiment, P.LOG_RUNS),
    ("POST", "/experiments/delete", delete_experiment, P.DELETE_ASSETS),
    ("POST", "/experiments/restore", restore_experiment, P.DELETE_ASSETS),
    ("POST", "/experiments/set-experiment-tag", set_experiment_tag, P.LOG_RUNS),
    ("POST", "/experiments/delete-experiment-tag", delete_experiment_tag, P.LOG_RUNS),
):
    add_mlflow_route(router, method, path, endpoint, permission)
