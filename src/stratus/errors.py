"""Domain errors shared by services, the server and the SDK.

Services raise these; the server maps each to one HTTP status and the JSON error shape
``{"error": {"code", "message", "field"}}``; the SDK raises the same classes from responses.
"""

from __future__ import annotations


class StratusError(Exception):
    status_code = 500
    code = "INTERNAL_ERROR"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class InvalidInputError(StratusError):
    status_code = 422
    code = "INVALID_INPUT"


class BadRequestError(InvalidInputError):
    """Bad input the MLflow API reports as 400 (``INVALID_PARAMETER_VALUE``); still an input error."""

    status_code = 400
    code = "BAD_REQUEST"


class AuthenticationError(StratusError):
    status_code = 401
    code = "UNAUTHENTICATED"


class PermissionDeniedError(StratusError):
    status_code = 403
    code = "PERMISSION_DENIED"


class NotFoundError(StratusError):
    status_code = 404
    code = "NOT_FOUND"


class ConflictError(StratusError):
    status_code = 409
    code = "ALREADY_EXISTS"


class PayloadTooLargeError(StratusError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaTypeError(StratusError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class ServiceUnavailableError(StratusError):
    status_code = 503
    code = "UNAVAILABLE"


ERRORS_BY_STATUS: dict[int, type[StratusError]] = {
    cls.status_code: cls
    for cls in (
        InvalidInputError,
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
        ServiceUnavailableError,
    )
}
