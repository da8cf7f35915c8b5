"""``/api/2.0/mlflow/registered-models/*`` and ``/api/2.0/mlflow/model-versions/*`` (first part)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from stratus.entities.roles import Permission
from stratus.server.authz import server_state
from stratus.server.routers._common import call
from stratus.server.routers.mlflow import (
    add_mlflow_route,
    forward,
    mlflow_router,
    ok,
    read_params,
    text,
    workspace_of,
)
from stratus.store.registry import ModelVersionRecord, RegisteredModelRecord

router = mlflow_router()


def registered_model_json(record: RegisteredModelRecord) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": record.name,
        "creation_timestamp": record.creation_timestamp,
        "last_updated_timestamp": record.last_updated_timestamp,
        "tags": [{"key": k, "value": v} for k, v in sorted(record.tags.items())],
        "aliases": [{"alias": a, "version": str(v)} for a, v in sorted(record.aliases.items())],
    }
    if record.description is not None:
        body["description"] = record.description
    return body


def model_version_json(record: ModelVersionRecord) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": record.name,
        "version": str(record.version),
        "creation_timestamp": record.creation_timestamp,
        "last_updated_timestamp": record.last_updated_timestamp,
        "current_stage": "None",
        "source": record.source,
        "status": record.status,
        "tags": [{"key": k, "value": v} for k, v in sorted(record.tags.items())],
        "aliases": record.aliases,
    }
    for key in ("run_id", "model_id", "description", "user_id"):
        if getattr(record, key) is not None:
            body[key] = getattr(record, key)
    return body


async def create_registered_model(request: Request) -> JSONResponse:
    params = await read_params(request)
    record = await call(
        server_state(request).registry.create_model,
        workspace_of(request),
        params.get("name"),
        description=params.get("description"),
        tags=params.get("tags"),
    )
    return ok({"registered_model": registered_model_json(record)})


async def get_registered_model(request: Request) -> JSONResponse:
    params = await read_params(request)
    workspace = workspace_of(request)
    state = server_state(request)
    record = await call(state.registry.get_model, workspace, params.get("name"))
    body = registered_model_json(record)
    latest = await call(state.registry_queries.latest_versions, workspace, record.name)
    if latest:
        body["latest_versions"] = [model_version_json(v) for v in latest]
    return ok({"registered_model": body})


async def search_registered_models(request: Request) -> JSONResponse:
    params = await read_params(request)
    records, next_token = await call(
        server_state(request).registry_queries.search_models,
        workspace_of(request),
        filter_string=text(params, "filter"),
        max_results=params.get("max_results"),
        order_by=_as_list(params.get("order_by")),
        page_token=text(params, "page_token"),
    )
    body: dict[str, Any] = {}
    if records:
        body["registered_models"] = [registered_model_json(r) for r in records]
    if next_token:
        body["next_page_token"] = next_token
    return ok(body)


async def search_model_versions(request: Request) -> JSONResponse:
    params = await read_params(request)
    records, next_token = await call(
        server_state(request).registry_queries.search_versions,
        workspace_of(request),
        filter_string=text(params, "filter"),
        max_results=params.get("max_results"),
        order_by=_as_list(params.get("order_by")),
        page_token=text(params, "page_token"),
    )
    body: dict[str, Any] = {}
    if records:
        body["model_versions"] = [model_version_json(r) for r in records]
    if next_token:
        body["next_page_token"] = next_token
    return ok(body)


def _as_list(value: Any) -> list[Any] | None:
    if value is None:
        return None
    return value if isinstance(value, list) else [value]


async def create_model_version(request: Request) -> JSONResponse:
    params = await read_params(request)
    record = await call(
        server_state(request).registry.create_version,
        workspace_of(request),
        params.get("name"),
        source=params.get("source"),
        run_id=text(params, "run_id"),
        model_id=text(params, "model_id"),
        description=params.get("description"),
        tags=params.get("tags"),
        user_id=request.state.caller.user_name,
    )
    return ok({"model_version": model_version_json(record)})


def _registered_model(record: RegisteredModelRecord) -> dict[str, Any]:
    return {"registered_model": registered_model_json(record)}


def _model_version(record: ModelVersionRecord) -> dict[str, Any]:
    return {"model_version": model_version_json(record)}


def _versions(records: list[ModelVersionRecord]) -> dict[str, Any]:
    return {"model_versions": [model_version_json(v) for v in records]} if records else {}


get_latest_versions = forward(lambda s: s.registry_queries.latest_versions, "name", reply=_versions)
update_registered_model = forward(
    lambda s: s.registry_queries.update_model, "name", "description", reply=_registered_model
)
rename_registered_model = forward(
    lambda s: s.registry_queries.rename_model, "name", "new_name", reply=_registered_model
)
delete_registered_model = forward(lambda s: s.registry_queries.delete_model, "name")
set_registered_model_tag = forward(lambda s: s.registry_queries.set_tag, "name", "key", "value")
delete_registered_model_tag = forward(lambda s: s.registry_queries.delete_tag, "name", "key")
update_model_version = forward(
    lambda s: s.registry_queries.update_version, "name", "version", "description", reply=_model_version
)
delete_model_version = forward(lambda s: s.registry_queries.delete_version, "name", "version")
set_model_version_tag = forward(lambda s: s.registry_queries.set_tag, "name", "key", "value", "version")
delete_model_version_tag = forward(lambda s: s.registry_queries.delete_tag, "name", "key", "version")
get_model_version = forward(lambda s: s.registry.get_version, "name", "version", reply=_model_version)
get_download_uri = forward(
    lambda s: s.registry.get_version,
    "name",
    "version",
    reply=lambda record: {"artifact_uri": record.storage_location},
)
set_alias = forward(lambda s: s.registry.set_alias, "name", "alias", "version")
get_by_alias = forward(lambda s: s.registry.get_by_alias, "name", "alias", reply=_model_version)
delete_alias = forward(lambda s: s.registry.delete_alias, "name", "alias")

P = Permission
for method, path, endpoint, permission in (
    ("POST", "/registered-models/create", create_registered_model, P.WRITE_ASSETS),
    ("GET", "/registered-models/get", get_registered_model, P.READ),
    ("POST", "/registered-models/alias", set_alias, P.WRITE_ASSETS),
    ("GET", "/registered-models/alias", get_by_alias, P.READ),
    ("DELETE", "/registered-models/alias", delete_alias, P.WRITE_ASSETS),
    ("POST", "/model-versions/create", create_model_version, P.WRITE_ASSETS),
    ("GET", "/model-versions/get", get_model_version, P.READ),
    ("GET", "/model-versions/get-download-uri", get_download_uri, P.READ),
    ("GET", "/registered-models/search", search_registered_models, P.READ),
    ("POST", "/registered-models/get-latest-versions", get_latest_versions, P.READ),
    ("GET", "/registered-models/get-latest-versions", get_latest_versions, P.READ),
    ("PATCH", "/registered-models/update", update_registered_model, P.WRITE_ASSETS),
    ("POST", "/registered-models/rename", rename_registered_model, P.WRITE_ASSETS),
    ("DELETE", "/registered-models/delete", delete_registered_model, P.DELETE_ASSETS),
    ("POST", "/registered-models/set-tag", set_registered_model_tag, P.WRITE_ASSETS),
    ("DELETE", "/registered-models/delete-tag", delete_registered_model_tag, P.WRITE_ASSETS),
    ("GET", "/model-versions/search", search_model_versions, P.READ),
    ("PATCH", "/model-versions/update", update_model_version, P.WRITE_ASSETS),
    ("DELETE", "/model-versions/delete", delete_model_version, P.DELETE_ASSETS),
    ("POST", "/model-versions/set-tag", set_model_version_tag, P.WRITE_ASSETS),
    ("DELETE", "/model-versions/delete-tag", delete_model_version_tag, P.WRITE_ASSETS),
):
    add_mlflow_route(router, method, path, endpoint, permission)
