"""Pure ASGI middleware: Host allow-list, JSON body size limit, request metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": None}}


def host_of(header: str) -> str:
    """``host[:port]`` or ``[v6]:port`` to the bare lower-case host."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostAllowListMiddleware:
    """Refuse Host headers we do not serve: DNS-rebinding pages cannot then reach a loopback server."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(h.lower() for h in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = dict(scope.get("headers") or [])
            host = host_of(headers.get(b"host", b"").decode("latin-1"))
            if host not in self.allowed and "*" not in self.allowed:
                if scope["type"] == "http":
                    await _send_json(
                        send,
                        400,
                        _error("BAD_HOST", f"Host {host!r} is not served here; see STRATUS_ALLOWED_HOSTS"),
                    )
                return
        await self.app(scope, receive, send)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


class BodyLimitMiddleware:
    """413 before buffering: on Content-Length up front, else as soon as the streamed body passes the limit.

    Upload routes (``exempt_prefixes``) stream to the artifact store under their own limit instead.
    """

    def __init__(self, app: ASGIApp, limit: int, exempt_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.limit = limit
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.limit
            except ValueError:
                await _send_json(send, 400, _error("BAD_REQUEST", "invalid Content-Length header"))
                return
            if too_big:
                await _send_json(
                    send, 413, _error("PAYLOAD_TOO_LARGE", f"request body larger than {self.limit} bytes")
                )
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, limited_receive, send)


class MetricsMiddleware:
    """Request counts and latencies by route template, for ``/metrics``."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "stratus_http_requests", "HTTP requests served", ["method", "route", "status"], registry=registry
        )
        self.latency = Histogram(
            "stratus_http_request_seconds", "HTTP request latency", ["method", "route"], registry=registry
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.requests.labels(scope["method"], template, str(status)).inc()
            self.latency.labels(scope["method"], template).observe(time.perf_counter() - start)
