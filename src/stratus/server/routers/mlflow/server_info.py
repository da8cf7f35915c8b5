"""``/api/3.0/mlflow/server-info``: what the client may expect of this server."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from stratus.entities.roles import Permission
from stratus.server.routers.mlflow import add_mlflow_route, mlflow_router, ok, workspace_of

router = mlflow_router()


async def server_info(request: Request) -> JSONResponse:
    workspace_of(request)  # refuses an X-MLFLOW-WORKSPACE header naming another workspace
    return ok(
        {
            "store_type": "SqlStore",
            # The workspace comes from the URL alone (DESIGN.md §5), so MLflow's own workspaces are off.
            "workspaces_enabled": False,
            "artifact_serving_enabled": True,
            "artifacts_presigned_only": False,
            # mpu/create|complete|abort with signed part URLs (routers/mlflow/artifacts.py).
            "multipart_uploads_enabled": True,
            "multipart_downloads_enabled": False,
        }
    )


add_mlflow_route(router, "GET", "/server-info", server_info, Permission.READ, tree="api/3.0")
