"""Pure ASGI middleware: Host allow-list, JSON body size limit, request metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stratus.server.errors import error_body, mlflow_error
from stratus.server.origins import SAFE_METHODS, OriginPolicy

# Query strings carry names, ids and filters: far below this. A longer one is refused before any parsing.
MAX_QUERY_BYTES = 64 << 10


async def _send_json(send: Send, scope: Scope, status: int, code: str, message: str) -> None:
    """An error answered before routing, in MLflow's shape on MLflow paths (the client parses it)."""
    body: dict[str, object] = error_body(code, message)
    shaped = mlflow_error(str(scope.get("path", "")), status, code, message)
    if shaped is not None:
        status, body = shaped[0], dict(shaped[1])
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


def host_of(header: str) -> str:
    """``host[:port]`` or ``[v6]:port`` to the bare lower-case host."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class RequestGuardMiddleware:
    """Checks on the request line and headers before anything else reads them.

    - The Host must be one we serve: a DNS-rebinding page cannot then reach a loopback server, and links
      we build from the Host (``next_link``, tracking URIs) cannot point elsewhere. Exactly one Host header:
      with two, this check and the framework could each read a different one.
    - No NUL bytes in the path or query: no store keeps them (PostgreSQL text refuses them outright), and
      no query string longer than ``MAX_QUERY_BYTES``.
    - A write (or a WebSocket handshake) whose ``Origin`` is present must come from an origin the
      ``OriginPolicy`` allows, whatever credentials it carries (``stratus.server.origins``).
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str], origins: OriginPolicy) -> None:
        self.app = app
        self.allowed = frozenset(h.lower() for h in allowed_hosts)
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        problem = self._problem(scope)
        if problem is not None:
            if scope["type"] == "http":
                await _send_json(send, scope, *problem)
            return
        await self.app(scope, receive, send)

    def _problem(self, scope: Scope) -> tuple[int, str, str] | None:
        headers = scope.get("headers") or []
        hosts = [value for name, value in headers if name == b"host"]
        if len(hosts) != 1:
            return 400, "BAD_HOST", "send exactly one Host header"
        host_header = hosts[0].decode("latin-1")
        host = host_of(host_header)
        if host not in self.allowed and "*" not in self.allowed:
            return 400, "BAD_HOST", f"Host {host!r} is not served here; see STRATUS_ALLOWED_HOSTS"
        raw_path = scope.get("raw_path") or scope.get("path", "").encode()
        query = scope.get("query_string", b"")
        if b"\x00" in raw_path or b"%00" in raw_path or b"%00" in query or b"\x00" in query:
            return 400, "BAD_REQUEST", "NUL characters are not allowed in the path or query"
        if len(query) > MAX_QUERY_BYTES:
            return 414, "URI_TOO_LONG", f"query string longer than {MAX_QUERY_BYTES} bytes"
        if scope["type"] == "websocket" or scope["method"] not in SAFE_METHODS:
            origins = [value.decode("latin-1") for name, value in headers if name == b"origin"]
            if len(origins) > 1:
                return 403, "PERMISSION_DENIED", "send at most one Origin header"
            if origins and not self.origins.allows(origins[0], host_header):
                return (
                    403,
                    "PERMISSION_DENIED",
                    f"cross-origin request refused: a page of {origins[0]!r} may not write here; "
                    "list that origin in STRATUS_ALLOWED_ORIGINS to allow it",
                )
        return None


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


class BodyLimitMiddleware:
    """413 before buffering: on Content-Length up front, else as soon as the streamed body passes the limit.

    Upload routes (``is_upload(path)``) stream to the artifact store under their own limit instead.
    """

    def __init__(
        self, app: ASGIApp, limit: int, is_upload: Callable[[str], bool] = lambda _path: False
    ) -> None:
        self.app = app
        self.limit = limit
        self.is_upload = is_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.is_upload(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.limit
            except ValueError:
                await _send_json(send, scope, 400, "BAD_REQUEST", "invalid Content-Length header")
                return
            if too_big:
                await _send_json(
                    send, scope, 413, "PAYLOAD_TOO_LARGE", f"request body larger than {self.limit} bytes"
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
