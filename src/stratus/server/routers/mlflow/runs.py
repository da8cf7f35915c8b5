"""``/api/2.0/mlflow/runs/*`` and ``/api/2.0/mlflow/metrics/get-history``."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from stratus.entities.roles import Permission
from stratus.server.authz import server_state
from stratus.server.routers._common import call, call_short_write
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
from stratus.server.services.runs import json_number
from stratus.store.tracking import DatasetInput, MetricPoint, RunRecord

router = mlflow_router()


def metric_json(point: MetricPoint) -> dict[str, Any]:
    return {
        "key": point.key,
        "value": json_number(point.value),
        "timestamp": point.timestamp,
        "step": point.step,
    }


def run_info_json(record: RunRecord) -> dict[str, Any]:
    info: dict[str, Any] = {
        "run_id": record.run_id,
        "run_uuid": record.run_id,
        "run_name": record.name,
        "experiment_id": str(record.experiment_id),
        "user_id": record.user_id,
        "status": record.status,
        "start_time": record.start_time,
        "artifact_uri": record.artifact_uri,
        "lifecycle_stage": record.lifecycle_stage,
    }
    if record.end_time is not None:
        info["end_time"] = record.end_time
    return info


def run_json(record: RunRecord) -> dict[str, Any]:
    return {
        "info": run_info_json(record),
        "data": {
            "metrics": [metric_json(p) for _, p in sorted(record.metrics.items())],
            "params": [{"key": k, "value": v} for k, v in sorted(record.params.items())],
            "tags": [{"key": k, "value": v} for k, v in sorted(record.tags.items())],
        },
        "inputs": {
            "dataset_inputs": [dataset_input_json(i) for i in record.dataset_inputs],
            "model_inputs": [{"model_id": model_id} for model_id in record.model_inputs],
        },
        "outputs": {
            "model_outputs": [{"model_id": model_id, "step": step} for model_id, step in record.model_outputs]
        },
    }


def dataset_input_json(item: DatasetInput) -> dict[str, Any]:
    dataset = item.dataset
    body = {
        "name": dataset.name,
        "digest": dataset.digest,
        "source_type": dataset.source_type,
        "source": dataset.source,
    }
    if dataset.schema is not None:
        body["schema"] = dataset.schema
    if dataset.profile is not None:
        body["profile"] = dataset.profile
    return {"tags": [{"key": k, "value": v} for k, v in sorted(item.tags.items())], "dataset": body}


def _list(params: dict[str, Any], key: str) -> list[Any]:
    value = params.get(key) or []
    return value if isinstance(value, list) else [value]


async def create_run(request: Request) -> JSONResponse:
    params = await read_params(request)
    record = await call(
        server_state(request).runs.create,
        workspace_of(request),
        text(params, "experiment_id"),
        user_id=text(params, "user_id"),
        run_name=text(params, "run_name"),
        start_time=integer(params, "start_time"),
        tags=tag_dict(params),
    )
    return ok({"run": run_json(record)})


async def get_run(request: Request) -> JSONResponse:
    params = await read_params(request)
    run_id = text(params, "run_id") or text(params, "run_uuid")
    record = await call(server_state(request).runs.get, workspace_of(request), run_id)
    return ok({"run": run_json(record)})


async def update_run(request: Request) -> JSONResponse:
    params = await read_params(request)
    record = await call(
        server_state(request).runs.update,
        workspace_of(request),
        text(params, "run_id") or text(params, "run_uuid"),
        status=text(params, "status"),
        end_time=integer(params, "end_time"),
        run_name=text(params, "run_name"),
    )
    return ok({"run_info": run_info_json(record)})


async def delete_run(request: Request) -> JSONResponse:
    params = await read_params(request)
    await call(
        server_state(request).runs.set_lifecycle, workspace_of(request), text(params, "run_id"), "deleted"
    )
    return ok()


async def restore_run(request: Request) -> JSONResponse:
    params = await read_params(request)
    await call(
        server_state(request).runs.set_lifecycle, workspace_of(request), text(params, "run_id"), "active"
    )
    return ok()


async def log_metric(request: Request) -> JSONResponse:
    params = await read_params(request)
    point = {k: params.get(k) for k in ("key", "value", "timestamp", "step")}
    state = server_state(request)
    await call_short_write(
        state,
        state.runs.log_batch,
        workspace_of(request),
        text(params, "run_id") or text(params, "run_uuid"),
        metrics=[point],
    )
    return ok()


async def log_param(request: Request) -> JSONResponse:
    params = await read_params(request)
    state = server_state(request)
    await call_short_write(
        state,
        state.runs.log_batch,
        workspace_of(request),
        text(params, "run_id") or text(params, "run_uuid"),
        params=[{"key": params.get("key"), "value": params.get("value")}],
    )
    return ok()


async def set_tag(request: Request) -> JSONResponse:
    params = await read_params(request)
    state = server_state(request)
    await call_short_write(
        state,
        state.runs.log_batch,
        workspace_of(request),
        text(params, "run_id") or text(params, "run_uuid"),
        tags=[{"key": params.get("key"), "value": params.get("value")}],
    )
    return ok()


async def delete_tag(request: Request) -> JSONResponse:
    params = await read_params(request)
    await call(
        server_state(request).runs.delete_tag,
        workspace_of(request),
        text(params, "run_id"),
        params.get("key"),
    )
    return ok()


async def log_batch(request: Request) -> JSONResponse:
    params = await read_params(request)
    state = server_state(request)
    await call_short_write(
        state,
        state.runs.log_batch,
        workspace_of(request),
        text(params, "run_id"),
        metrics=_list(params, "metrics"),
        params=_list(params, "params"),
        tags=_list(params, "tags"),
    )
    return ok()


async def log_inputs(request: Request) -> JSONResponse:
    params = await read_params(request)
    await call(
        server_state(request).runs.log_inputs,
        workspace_of(request),
        text(params, "run_id"),
        datasets=_list(params, "datasets"),
        models=_list(params, "models"),
    )
    return ok()


async def metric_history(request: Request) -> JSONResponse:
    params = await read_params(request)
    points, next_token = await call(
        server_state(request).runs.metric_history,
        workspace_of(request),
        text(params, "run_id") or text(params, "run_uuid"),
        params.get("metric_key"),
        max_results=params.get("max_results"),
        page_token=text(params, "page_token"),
    )
    body: dict[str, Any] = {"metrics": [metric_json(p) for p in points]}
    if next_token:
        body["next_page_token"] = next_token
    return ok(body)


def _points_of_runs(points: list[tuple[str, MetricPoint]]) -> dict[str, Any]:
    return {"metrics": [{**metric_json(p), "run_id": run_id} for run_id, p in points]}


async def metric_history_bulk_interval(request: Request) -> JSONResponse:
    params = await read_params(request)
    points = await call(
        server_state(request).runs.metric_history_bulk_interval,
        workspace_of(request),
        _list(params, "run_ids"),
        params.get("metric_key"),
        start_step=params.get("start_step"),
        end_step=params.get("end_step"),
        max_results=params.get("max_results"),
    )
    return ok(_points_of_runs(points))


async def metric_history_bulk(request: Request) -> JSONResponse:
    params = await read_params(request)
    points = await call(
        server_state(request).runs.metric_history_bulk,
        workspace_of(request),
        _list(params, "run_id"),
        params.get("metric_key"),
        max_results=params.get("max_results"),
    )
    return ok(_points_of_runs(points))


async def search_runs(request: Request) -> JSONResponse:
    params = await read_params(request)
    records, next_token = await call(
        server_state(request).runs.search,
        workspace_of(request),
        experiment_ids=_list(params, "experiment_ids"),
        filter_string=text(params, "filter"),
        run_view_type=text(params, "run_view_type"),
        max_results=params.get("max_results"),
        order_by=string_list(params, "order_by"),
        page_token=text(params, "page_token"),
    )
    body: dict[str, Any] = {"runs": [run_json(r) for r in records]}
    if next_token:
        body["next_page_token"] = next_token
    return ok(body)


P = Permission
for method, path, endpoint, permission in (
    ("POST", "/runs/create", create_run, P.LOG_RUNS),
    ("GET", "/runs/get", get_run, P.READ),
    ("POST", "/runs/update", update_run, P.LOG_RUNS),
    ("POST", "/runs/delete", delete_run, P.DELETE_ASSETS),
    ("POST", "/runs/restore", restore_run, P.DELETE_ASSETS),
    ("POST", "/runs/log-metric", log_metric, P.LOG_RUNS),
    ("POST", "/runs/log-parameter", log_param, P.LOG_RUNS),
    ("POST", "/runs/set-tag", set_tag, P.LOG_RUNS),
    ("POST", "/runs/delete-tag", delete_tag, P.LOG_RUNS),
    ("POST", "/runs/log-batch", log_batch, P.LOG_RUNS),
    ("POST", "/runs/log-inputs", log_inputs, P.LOG_RUNS),
    ("POST", "/runs/search", search_runs, P.READ),
    ("GET", "/runs/search", search_runs, P.READ),
    ("GET", "/metrics/get-history", metric_history, P.READ),
    ("GET", "/metrics/get-history-bulk-interval", metric_history_bulk_interval, P.READ),
    ("GET", "/metrics/get-history-bulk", metric_history_bulk, P.READ),
):
    add_mlflow_route(router, method, path, endpoint, permission)
