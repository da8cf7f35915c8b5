"""One error shape for the Stratus API: ``{"error": {"code", "message", "field"}}``; never a stack trace.

Not found is ``NOT_FOUND`` on ``/api/v1`` and ``RESOURCE_DOES_NOT_EXIST`` on the MLflow routes, always."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from stratus.artifacts.errors import UnsafePathError
from stratus.errors import InvalidInputError, NotFoundError, StratusError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "ALREADY_EXISTS",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
}

_FASTAPI_BODY_PARSE_ERROR = "There was an error parsing the body"

_VALIDATION_CODES = {
    "missing": "MISSING_FIELD",
    "extra_forbidden": "UNKNOWN_FIELD",
    "json_invalid": "MALFORMED_JSON",
    "model_attributes_type": "WRONG_TYPE",
    "dict_type": "WRONG_TYPE",
    "list_type": "WRONG_TYPE",
    "string_type": "WRONG_TYPE",
    "int_type": "WRONG_TYPE",
    "int_parsing": "WRONG_TYPE",
    "bool_type": "WRONG_TYPE",
    "bool_parsing": "WRONG_TYPE",
    "float_type": "WRONG_TYPE",
    "float_parsing": "WRONG_TYPE",
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


# MLflow's own error codes and the HTTP status its client expects with each (mlflow.exceptions).
_MLFLOW_STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "MALFORMED_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "INTERNAL_ERROR": 500,
    "TEMPORARILY_UNAVAILABLE": 503,
}
_MLFLOW_CODE_BY_STATUS = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    405: "ENDPOINT_NOT_FOUND",
    409: "RESOURCE_ALREADY_EXISTS",
    413: "INVALID_PARAMETER_VALUE",
    414: "INVALID_PARAMETER_VALUE",
    415: "INVALID_PARAMETER_VALUE",
    422: "INVALID_PARAMETER_VALUE",
    503: "TEMPORARILY_UNAVAILABLE",  # the client retries these
}


# Statuses kept as they are on MLflow routes (with the code above): the client has no code for them, and
# a caller must tell "too large" or "wrong media type" from any other bad parameter.
_MLFLOW_KEPT_STATUSES = frozenset({413, 414, 415})


def mlflow_error(path: str, status: int, code: str, message: str) -> tuple[int, dict[str, str]] | None:
    """(status, body) in MLflow's error shape for a path of the MLflow API, ``None`` elsewhere."""
    from stratus.server.routers.mlflow import is_mlflow_path

    if not is_mlflow_path(path):
        return None
    mlflow_code = code if code in _MLFLOW_STATUS else _MLFLOW_CODE_BY_STATUS.get(status, "INTERNAL_ERROR")
    if status not in _MLFLOW_KEPT_STATUSES:
        status = _MLFLOW_STATUS.get(mlflow_code, status)
    return status, {"error_code": mlflow_code, "message": message}


def _mlflow_response(request: Request, status: int, code: str, message: str) -> JSONResponse | None:
    """MLflow's error shape on MLflow routes, ``None`` elsewhere."""
    shaped = mlflow_error(request.url.path, status, code, message)
    if shaped is None:
        return None
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(shaped[1], status_code=shaped[0], headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str | None:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or None


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first = errors[0] if errors else {"type": "invalid", "loc": (), "msg": "invalid request"}
    kind = str(first.get("type", "invalid"))
    code = _VALIDATION_CODES.get(kind, "INVALID_VALUE")
    field = _field_path(tuple(first.get("loc", ())))
    if kind == "json_invalid":
        context = first.get("ctx") or {}
        detail = context.get("error") if isinstance(context, dict) else None
        message = f"malformed JSON body: {detail or first.get('msg')}"
        field = None
    elif kind == "extra_forbidden":
        message = f"unknown field {field!r}; remove it (see /docs for the fields this call takes)"
    elif kind == "missing" and field is None:
        message = "a JSON request body is required"
    elif kind == "missing":
        message = f"missing required field {field!r}"
    else:
        message = f"{field or 'request'}: {first.get('msg', 'invalid value')}"
    body = error_body(code, message, field)
    if len(errors) > 1:
        body["error"]["details"] = [
            {"field": _field_path(tuple(e.get("loc", ()))), "message": str(e.get("msg"))} for e in errors[:20]
        ]
    return JSONResponse(body, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StratusError)
    async def _stratus_error(request: Request, exc: StratusError) -> JSONResponse:
        mlflow = _mlflow_response(request, exc.status_code, exc.code, exc.message)
        if mlflow is not None:
            return mlflow
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        body = exc.to_dict()
        if isinstance(exc, NotFoundError):  # one not-found code on /api/v1, whatever the service said
            body["error"]["code"] = NotFoundError.code  # type: ignore[index]
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(UnsafePathError)
    async def _unsafe_path(request: Request, exc: UnsafePathError) -> JSONResponse:
        # Routes canonicalise paths up front; this catches a path refused deeper down (by the store).
        return await _stratus_error(request, InvalidInputError(str(exc), field="path", code="INVALID_PATH"))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == _FASTAPI_BODY_PARSE_ERROR:
            # FastAPI raises this for bodies json.loads cannot even start on (bad UTF-8, deep nesting).
            return JSONResponse(error_body("MALFORMED_JSON", "malformed JSON body"), status_code=422)
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        message = exc.detail if isinstance(exc.detail, str) else code.lower().replace("_", " ")
        if exc.status_code == 404:  # on MLflow routes: an endpoint MLflow's client does not know
            mlflow = _mlflow_response(request, 404, "ENDPOINT_NOT_FOUND", message)
        else:
            mlflow = _mlflow_response(request, exc.status_code, code, message)
        if mlflow is not None:
            return mlflow
        return JSONResponse(
            error_body(code, message), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        mlflow = _mlflow_response(
            request, 500, "INTERNAL_ERROR", "internal error; the server log has the details"
        )
        if mlflow is not None:
            return mlflow
        return JSONResponse(
            error_body("INTERNAL_ERROR", "internal error; the server log has the details"), status_code=500
        )
