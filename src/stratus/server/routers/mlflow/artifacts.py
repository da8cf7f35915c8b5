"""Proxied artifacts: ``/api/2.0/mlflow-artifacts/artifacts[/<path>]`` over the workspace's artifact store,
and multipart uploads: ``/api/2.0/mlflow-artifacts/mpu/{create,complete,abort}/<folder>`` plus the part
PUTs to the signed URLs that create returns, ``/workspaces/<ws>/api/2.0/mlflow-artifacts/mpu/part/<path>``.

Every path goes through the one canonicaliser (``ArtifactService``), uploads and parts stream to the store
without being held in memory (under ``STRATUS_MAX_UPLOAD_BYTES``), and each object's size and sha256 are
recorded.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import anyio.from_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from stratus.artifacts import ArtifactTooLargeError, UnsafePathError
from stratus.entities.roles import Permission
from stratus.errors import BadRequestError, NotFoundError, PayloadTooLargeError
from stratus.server.authz import (
    MPU_PART_SCOPE,
    SecuredRoute,
    current_caller,
    part_grant,
    requires,
    requires_signed_url,
    server_state,
)
from stratus.server.routers.mlflow import integer, json_object, read_params, text, workspace_of
from stratus.server.services.multipart import MultipartUploads, PartCredential
from stratus.server.services.workspaces import DEFAULT_WORKSPACE
from stratus.store.access import WorkspaceRecord

ARTIFACTS_ROOT = "/api/2.0/mlflow-artifacts/artifacts"
MPU_ROOT = "/api/2.0/mlflow-artifacts/mpu"
# complete lists every part (up to 10,000, each with its URL): more than the JSON limit allows.
COMPLETE_BODY_LIMIT = 16 << 20
router = APIRouter(route_class=SecuredRoute)


def is_artifact_upload_path(path: str) -> bool:
    """Routes whose bodies are held to their own limit instead of the JSON body limit."""
    return any(
        marker in path for marker in (ARTIFACTS_ROOT + "/", MPU_ROOT + "/part/", MPU_ROOT + "/complete/")
    )


def _safe(path: str) -> str:
    from stratus.artifacts import canonicalize

    try:
        return canonicalize(path)
    except UnsafePathError as exc:
        raise BadRequestError(
            f"invalid artifact path: {exc}", field="path", code="INVALID_PARAMETER_VALUE"
        ) from None


def _route_path(request: Request, artifact_path: str) -> str:
    """The canonical path of a request to ``artifacts/<path>``. These routes take no query string: a
    '?' in a path is the start of one (so ``a?/../x`` arrives as ``a``), and it is refused rather than
    served as another path than the client named."""
    if request.url.query:
        raise BadRequestError(
            "artifact paths may not contain '?' (this route takes no query string)",
            field="path",
            code="INVALID_PARAMETER_VALUE",
        )
    return _safe(artifact_path)


def _missing(path: str) -> NotFoundError:
    return NotFoundError(f"no such artifact: {path!r}", field="path", code="RESOURCE_DOES_NOT_EXIST")


_TRIP_BYTES = 1024 * 1024


def _body_chunks(request: Request) -> Iterator[bytes]:
    """The request body for a worker thread, pulled chunk by chunk from the event loop."""
    stream = request.stream().__aiter__()

    async def next_chunk() -> bytes | None:
        # Gather the socket's small reads (~64 KiB) into about 1 MiB per trip between the threads: one
        # hop per read cost as much as the copying itself.
        parts: list[bytes] = []
        size = 0
        while size < _TRIP_BYTES:
            try:
                part = await stream.__anext__()
            except StopAsyncIteration:
                break
            parts.append(part)
            size += len(part)
        return b"".join(parts) if parts else None

    def chunks() -> Iterator[bytes]:
        while (chunk := anyio.from_thread.run(next_chunk)) is not None:
            if chunk:
                yield chunk

    return chunks()


async def upload(request: Request, artifact_path: str) -> JSONResponse:
    state = server_state(request)
    workspace = workspace_of(request)
    path = _route_path(request, artifact_path)
    if not path:  # ".../artifacts/" (or one followed by '#' or '?'): the root is no file
        raise BadRequestError(
            "name the artifact file to write after /artifacts/", field="path", code="INVALID_PARAMETER_VALUE"
        )
    try:
        await run_in_threadpool(
            state.artifact_objects.write,
            workspace,
            path,
            _body_chunks(request),
            max_bytes=state.settings.max_upload_bytes,
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
    path = _route_path(request, artifact_path)
    try:
        entry = await run_in_threadpool(objects.info, path)
    except (FileNotFoundError, NotADirectoryError):
        raise _missing(path) from None
    if entry.is_dir:
        raise BadRequestError(
            f"{path!r} is a directory: list it instead", field="path", code="INVALID_PARAMETER_VALUE"
        )
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
    path = _route_path(request, artifact_path)
    if not path:  # "", ".", "%2e"...: the whole workspace store is never one request away
        raise BadRequestError(
            "name the artifact or folder to delete; the artifact root itself cannot be deleted",
            field="path",
            code="INVALID_PARAMETER_VALUE",
        )
    await run_in_threadpool(state.artifact_objects.delete_tree, workspace_of(request), path)
    return JSONResponse({})


# -- multipart uploads ------------------------------------------------------------------------------


def _uploads(request: Request) -> MultipartUploads:
    state = server_state(request)
    return MultipartUploads(state.artifact_objects, state.master_key)


def _required(params: dict[str, Any], key: str) -> str:
    value = text(params, key)
    if not value:
        raise BadRequestError(
            f"Missing value for required parameter '{key}'", field=key, code="INVALID_PARAMETER_VALUE"
        )
    return value


def _part_url(request: Request, workspace: WorkspaceRecord, credential: PartCredential) -> str:
    # Built from the request's own base URL, whose Host the request guard checked against the allow-list.
    grant = credential.grant
    query = {
        "upload_id": grant.upload_id,
        "part_number": grant.part_number,
        "expires": grant.expires,
        "signature": credential.signature,
    }
    base = str(request.base_url).rstrip("/")
    where = f"/workspaces/{quote(workspace.name, safe='')}{MPU_ROOT}/part/{quote(grant.path, safe='/')}"
    return f"{base}{where}?{urlencode(query)}"


async def create_multipart(request: Request, artifact_path: str) -> JSONResponse:
    workspace = workspace_of(request)
    params = await read_params(request)
    file_name = _required(params, "path")
    num_parts = integer(params, "num_parts")
    if num_parts is None:
        raise BadRequestError(
            "Missing value for required parameter 'num_parts'",
            field="num_parts",
            code="INVALID_PARAMETER_VALUE",
        )
    created = await run_in_threadpool(
        _uploads(request).create,
        workspace,
        artifact_path,
        file_name,
        num_parts,
        created_by=current_caller(request).user_name,
    )
    credentials = [
        {"url": _part_url(request, workspace, c), "part_number": c.grant.part_number, "headers": {}}
        for c in created.credentials
    ]
    return JSONResponse({"upload_id": created.upload_id, "credentials": credentials})


async def upload_part(request: Request) -> JSONResponse:
    # The choke point verified the signature for this path; the grant, not the URL, says what to write.
    grant = part_grant(request)
    workspace: WorkspaceRecord = request.state.workspace
    etag = await run_in_threadpool(
        _uploads(request).write_part,
        workspace,
        grant,
        _body_chunks(request),
        max_bytes=server_state(request).settings.max_upload_bytes,
    )
    return JSONResponse({}, headers={"ETag": f'"{etag}"'})


async def _bounded_params(request: Request, limit: int) -> dict[str, Any]:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLargeError(f"request body larger than {limit} bytes")
    return json_object(request, bytes(body))


def _parts(params: dict[str, Any]) -> list[tuple[int, object]]:
    value = params.get("parts")
    if not isinstance(value, list) or not value or not all(isinstance(p, dict) for p in value):
        raise BadRequestError(
            "parameter 'parts' must be a non-empty list of {part_number, etag} objects",
            field="parts",
            code="INVALID_PARAMETER_VALUE",
        )
    parts = []
    for index, part in enumerate(value):
        number = integer(part, "part_number")
        if number is None:
            raise BadRequestError(
                f"parts[{index}].part_number is required", field="parts", code="INVALID_PARAMETER_VALUE"
            )
        parts.append((number, part.get("etag")))
    return parts


async def complete_multipart(request: Request, artifact_path: str) -> JSONResponse:
    workspace = workspace_of(request)
    params = await _bounded_params(request, COMPLETE_BODY_LIMIT)
    file_name, upload_id, parts = _required(params, "path"), _required(params, "upload_id"), _parts(params)
    await run_in_threadpool(
        _uploads(request).complete,
        workspace,
        artifact_path,
        file_name,
        upload_id,
        parts,
        max_bytes=server_state(request).settings.max_upload_bytes,
    )
    return JSONResponse({})


async def abort_multipart(request: Request, artifact_path: str) -> JSONResponse:
    workspace = workspace_of(request)
    params = await read_params(request)
    file_name, upload_id = _required(params, "path"), _required(params, "upload_id")
    await run_in_threadpool(_uploads(request).abort, workspace, artifact_path, file_name, upload_id)
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
for action, endpoint in (
    ("create", create_multipart),
    ("complete", complete_multipart),
    ("abort", abort_multipart),
):
    for prefixed in (True, False):
        url = f"{MPU_ROOT}/{action}/{{artifact_path:path}}"
        router.add_api_route(
            f"/workspaces/{{workspace_name}}{url}" if prefixed else url,
            endpoint,
            methods=["POST"],
            include_in_schema=prefixed,
            openapi_extra=requires(_P.LOG_RUNS, default_workspace=None if prefixed else DEFAULT_WORKSPACE),
            name=f"mlflow-artifacts{'' if prefixed else '-default'}:POST:/mpu/{action}",
            tags=["mlflow"],
        )
# Part URLs always name their workspace, so the part route has no unprefixed alias.
router.add_api_route(
    f"/workspaces/{{workspace_name}}{MPU_ROOT}/part/{{artifact_path:path}}",
    upload_part,
    methods=["PUT"],
    openapi_extra=requires_signed_url(_P.LOG_RUNS, MPU_PART_SCOPE),
    name="mlflow-artifacts:PUT:/mpu/part",
    tags=["mlflow"],
)
