"""JSON request bodies: the media type every JSON route requires and the one bounded parse they share.

A body on a JSON route must say it is JSON: a browser page can send ``text/plain`` (or no type at all)
cross-site without a CORS preflight, so a route that would parse such a body as JSON could be driven from
any web page. The stock ``mlflow`` client and the SDK always send ``application/json``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from stratus.errors import InvalidInputError, UnsupportedMediaTypeError
from stratus.parsing import loads_json


def is_json_media_type(content_type: str | None) -> bool:
    """``application/json`` or ``application/<anything>+json``, parameters (charset) aside."""
    if not content_type:
        return False
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def require_json_media_type(request: Request) -> None:
    content_type = request.headers.get("content-type")
    if not is_json_media_type(content_type):
        sent = f"Content-Type {content_type!r}" if content_type else "no Content-Type"
        raise UnsupportedMediaTypeError(
            f"this route takes a JSON body: send it with 'Content-Type: application/json' ({sent} was sent)",
            field="Content-Type",
        )


class _ParsedJsonRequest(Request):
    """The request with its body read and parsed once, for FastAPI's body handling to reuse."""

    def __init__(self, request: Request, body: bytes, parsed: Any) -> None:
        super().__init__(request.scope, request.receive)
        self._raw_body = body
        self._parsed = parsed

    async def body(self) -> bytes:
        return self._raw_body

    async def json(self) -> Any:
        return self._parsed


async def with_parsed_json(request: Request) -> Request:
    """For a route with a JSON body model: check the media type and parse the body within the bounds of
    ``stratus.parsing`` (422 ``MALFORMED_JSON`` otherwise); an empty body is left for FastAPI to report."""
    body = await request.body()
    if not body:
        return request
    require_json_media_type(request)
    try:
        parsed = loads_json(body)
    except ValueError as exc:
        raise InvalidInputError(f"malformed JSON body: {exc}", code="MALFORMED_JSON") from None
    return _ParsedJsonRequest(request, body, parsed)
