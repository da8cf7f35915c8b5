"""Proxied artifacts: ``/api/2.0/mlflow-artifacts/artifacts[/<path>]`` over the workspace's artifact store.

Every path goes through the one canonicaliser (``ArtifactService``), uploads stream to the store without
being held in memory (under ``STRATUS_MAX_UPLOAD_BYTES``), and each object's size and sha256 are recorded.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from typing import Any

import anyio.from_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from stratus.artifacts import ArtifactTooLargeError, UnsafePathError
from stratus.entities.roles import Permission
from stratus.errors import BadRequestError, NotFoundError, PayloadTooLargeError
from stratus.server.authz import SecuredRoute, requires, server_state
from stratus.server.routers.mlflow import workspace_of
from stratus.server.services.workspaces import DEFAULT_WORKSPACE

ARTIFACTS_ROOT = "/api/2.0/mlflow-artifacts/artifacts"
router = APIRouter(route_class=SecuredRoute)


def is_artifact_upload_path(path: str) -> bool:
    return ARTIFACTS_ROOT + "/" in path


def _safe(path: str) -> str:
    from stratus.artifacts import canonicalize

    try:
        return canonicalize(path)
    except UnsafePathError as exc:
        raise BadRequestError(
            f"invalid artifact path: {exc}", field="path", code="INVALID_PARAMETER_VALUE"
        ) from None


def _missing(path: str) -> NotFoundError:
    return NotFoundError(f"no such artifact: {path!r}", field="path", code="RESOURCE_DOES_NOT_EXIST")


async def upload(request: Request, artifact_path: str) -> JSONResponse:
    state = server_state(request)
    workspace = workspace_of(request)
    path = _safe(artifact_path)
    stream = request.stream().__aiter__()

    async def next_chunk() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    def chunks() -> Iterator[bytes]:  # runs in the worker thread, pulling from the event loop
        while (chunk := anyio.from_thread.run(next_chunk)) is not None:
            if chunk:
                yield chunk

    try:
        await run_in_threadpool(
            state.artifact_objects.write, workspace, path, chunks(), max_bytes=state.settings.max_upload_bytes
        )
    except ArtifactTooLargeError:
        raise PayloadTooLargeError(
            f"artifact larger than STRATUS_MAX_UPLOAD_BYTES ({state.settings.max_upload_bytes} bytes)",
            field="path",
        ) from None
    except (IsADirectoryError, NotADirectoryError) as exc:
        raise BadRequestError(f"cannot write {path!r}: {exc.strerror or exc}", field="path") from None
    return JSONResponse({})


async def download(request: Request, artifact_path: str) -> StreamingResponse:
    state = server_state(request)
    objects = state.artifact_objects.objects(workspace_of(request))
    path = _safe(artifact_path)
    try:
        entry = await run_in_threadpool(objects.info, path)
    except (FileNotFoundError, NotADirectoryError):
        raise _missing(path) from None
    if entry.is_dir:
        raise BadRequestError(f"{path!r} is a directory: list it instead", field="path")
    media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    filename = path.rsplit("/", 1)[-1].replace('"', "")
    return StreamingResponse(
        objects.iter_read(path),
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
            **({"Content-Length": str(entry.size)} if entry.size is not None else {}),
        },
    )


async def list_artifacts(request: Request) -> JSONResponse:
    objects = server_state(request).artifact_objects.objects(workspace_of(request))
    raw = request.query_params.get("path") or ""
    prefix = _safe(raw) if raw.strip("/") else ""
    try:
        if prefix and not (await run_in_threadpool(objects.info, prefix)).is_dir:
            return JSONResponse({})  # MLflow lists a file as nothing
        entries = await run_in_threadpool(objects.list, prefix)
    except (FileNotFoundError, NotADirectoryError):
        return JSONResponse({})
    files: list[dict[str, Any]] = []
    for entry in entries:
        name = entry.path[len(prefix) :].lstrip("/") if prefix else entry.path
        item: dict[str, Any] = {"path": name, "is_dir": entry.is_dir}
        if not entry.is_dir and entry.size is not None:
            item["file_size"] = entry.size
        files.append(item)
    return JSONResponse({"files": files} if files else {})


async def delete(request: Request, artifact_path: str) -> JSONResponse:
    state = server_state(request)
    await run_in_threadpool(state.artifact_objects.delete_tree, workspace_of(request), _safe(artifact_path))
    return JSONResponse({})


_P = Permission
for method, suffix, endpoint, permission in (
    ("PUT", "/{artifact_path:path}", upload, _P.LOG_RUNS),
    ("GET", "/{artifact_path:path}", download, _P.READ),
    ("GET", "", list_artifacts, _P.READ),
    ("DELETE", "/{artifact_path:path}", delete, _P.DELETE_ASSETS),
):
    for prefixed in (True, False):
        url = ARTIFACTS_ROOT + suffix
        router.add_api_route(
            f"/workspaces/{{workspace_name}}{url}" if prefixed else url,
            endpoint,
            methods=[method],
            include_in_schema=prefixed,
            openapi_extra=requires(permission, default_workspace=None if prefixed else DEFAULT_WORKSPACE),
            name=f"mlflow-artifacts{'' if prefixed else '-default'}:{method}:{suffix}",
            tags=["mlflow"],
        )
