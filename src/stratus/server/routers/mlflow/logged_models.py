"""``/api/2.0/mlflow/logged-models/*`` (MLflow 3) and ``/api/2.0/mlflow/runs/outputs``."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from stratus.entities.roles import Permission
from stratus.server.authz import server_state
from stratus.server.routers._common import call
from stratus.server.routers.mlflow import add_mlflow_route, mlflow_router, ok, read_params, text, workspace_of
from stratus.store.tracking import LoggedModelRecord

router = mlflow_router()


def model_json(record: LoggedModelRecord) -> dict[str, Any]:
    info: dict[str, Any] = {
        "model_id": record.model_id,
        "experiment_id": str(record.experiment_id),
        "name": record.name,
        "creation_timestamp_ms": record.creation_timestamp_ms,
        "last_updated_timestamp_ms": record.last_updated_timestamp_ms,
        "artifact_uri": record.artifact_uri,
        "status": record.status,
        "tags": [{"key": k, "value": v} for k, v in sorted(record.tags.items())],
    }
    for key in ("model_type", "source_run_id", "status_message"):
        if getattr(record, key):
            info[key] = getattr(record, key)
    return {
        "info": info,
        "data": {"params": [{"key": k, "value": v} for k, v in sorted(record.params.items())]},
    }


def _model_id(request: Request) -> str:
    return str(request.path_params["model_id"])


async def create_model(request: Request) -> JSONResponse:
    params = await read_params(request)
    record = await call(
        server_state(request).logged_models.create,
        workspace_of(request),
        text(params, "experiment_id"),
        name=text(params, "name"),
        model_type=text(params, "model_type"),
        source_run_id=text(params, "source_run_id"),
        params=params.get("params"),
        tags=params.get("tags"),
    )
    return ok({"model": model_json(record)})


async def get_model(request: Request) -> JSONResponse:
    params = await read_params(request)
    allow_deleted = str(params.get("allow_deleted", "")).lower() == "true"
    record = await call(
        server_state(request).logged_models.get,
        workspace_of(request),
        _model_id(request),
        allow_deleted=allow_deleted,
    )
    return ok({"model": model_json(record)})


async def finalize_model(request: Request) -> JSONResponse:
    params = await read_params(request)
    record = await call(
        server_state(request).logged_models.finalize,
        workspace_of(request),
        _model_id(request),
        params.get("status"),
    )
    return ok({"model": model_json(record)})


async def delete_model(request: Request) -> JSONResponse:
    await call(server_state(request).logged_models.delete, workspace_of(request), _model_id(request))
    return ok()


async def set_model_tags(request: Request) -> JSONResponse:
    params = await read_params(request)
    await call(
        server_state(request).logged_models.set_tags,
        workspace_of(request),
        _model_id(request),
        params.get("tags"),
    )
    return ok()


async def delete_model_tag(request: Request) -> JSONResponse:
    await call(
        server_state(request).logged_models.delete_tag,
        workspace_of(request),
        _model_id(request),
        str(request.path_params["tag_key"]),
    )
    return ok()


async def log_model_params(request: Request) -> JSONResponse:
    params = await read_params(request)
    await call(
        server_state(request).logged_models.log_params,
        workspace_of(request),
        _model_id(request),
        params.get("params"),
    )
    return ok()


async def search_models(request: Request) -> JSONResponse:
    params = await read_params(request)
    experiment_ids = params.get("experiment_ids") or []
    records, next_token = await call(
        server_state(request).logged_models.search,
        workspace_of(request),
        experiment_ids=experiment_ids if isinstance(experiment_ids, list) else [experiment_ids],
        filter_string=text(params, "filter"),
        max_results=params.get("max_results"),
        order_by=params.get("order_by"),
        page_token=text(params, "page_token"),
    )
    body: dict[str, Any] = {}
    if records:
        body["models"] = [model_json(r) for r in records]
    if next_token:
        body["next_page_token"] = next_token
    return ok(body)


async def log_outputs(request: Request) -> JSONResponse:
    params = await read_params(request)
    await call(
        server_state(request).logged_models.link_run_outputs,
        workspace_of(request),
        text(params, "run_id"),
        params.get("models"),
    )
    return ok()


P = Permission
for method, path, endpoint, permission in (
    ("POST", "/logged-models", create_model, P.LOG_RUNS),
    ("POST", "/logged-models/search", search_models, P.READ),
    ("GET", "/logged-models/{model_id}", get_model, P.READ),
    ("PATCH", "/logged-models/{model_id}", finalize_model, P.LOG_RUNS),
    ("DELETE", "/logged-models/{model_id}", delete_model, P.DELETE_ASSETS),
    ("PATCH", "/logged-models/{model_id}/tags", set_model_tags, P.LOG_RUNS),
    ("DELETE", "/logged-models/{model_id}/tags/{tag_key}", delete_model_tag, P.LOG_RUNS),
    ("POST", "/logged-models/{model_id}/params", log_model_params, P.LOG_RUNS),
    ("POST", "/runs/outputs", log_outputs, P.LOG_RUNS),
):
    add_mlflow_route(router, method, path, endpoint, permission)
