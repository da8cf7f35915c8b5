"""Liveness, readiness, the API page and contract, metrics, version and who-am-I."""

from __future__ import annotations

from fastapi import Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from stratus._version import __version__
from stratus.entities import Principal
from stratus.entities.roles import Permission
from stratus.server.authz import client_ip, requires
from stratus.server.routers._common import CallerDep, StateDep, call, secured_router
from stratus.server.schemas import VersionInfo

router = secured_router()

_ROOT_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Stratus</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>Stratus workspace server</h1>
<p>The studio is not built yet. Meanwhile:</p>
<ul><li><a href="/docs">/docs</a> the interactive API page (paste a token in its Authorize box)</li>
<li><a href="/health">/health</a> liveness</li></ul></body></html>"""


@router.get("/", include_in_schema=False, openapi_extra=requires(Permission.ANONYMOUS))
async def root() -> HTMLResponse:
    return HTMLResponse(_ROOT_PAGE)


@router.get("/health", tags=["meta"], openapi_extra=requires(Permission.ANONYMOUS))
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", tags=["meta"], openapi_extra=requires(Permission.ANONYMOUS))
async def ready(state: StateDep) -> JSONResponse:
    try:
        await call(state.store.ping)
    except Exception:  # any failure to reach the store means not ready
        return JSONResponse({"status": "unavailable", "store": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/openapi.json", include_in_schema=False, openapi_extra=requires(Permission.AUTHENTICATED))
async def openapi_contract(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/metrics", include_in_schema=False, openapi_extra=requires(Permission.AUTHENTICATED))
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/api/v1/version",
    tags=["meta"],
    response_model=VersionInfo,
    openapi_extra=requires(Permission.AUTHENTICATED),
)
async def version() -> VersionInfo:
    return VersionInfo(version=__version__)


@router.get(
    "/api/v1/me", tags=["meta"], response_model=Principal, openapi_extra=requires(Permission.AUTHENTICATED)
)
async def me(
    request: Request,
    caller: CallerDep,
    state: StateDep,
    login: bool = Query(False, description="Set by 'stratus login': records the login in the audit log"),
) -> Principal:
    def build() -> Principal:
        assignments = state.store.role_assignments.list(user_id=caller.user_id, limit=10_000).items
        roles: dict[str, list[str]] = {}
        for a in assignments:
            if caller.token_workspace_id is None or a.workspace_id == caller.token_workspace_id:
                roles.setdefault(a.workspace_name, []).append(a.role)
        if login:
            state.store.audit.append(
                "auth.login", actor=caller.user_name, target=caller.token_id, client_ip=client_ip(request)
            )
        return Principal(
            user=caller.user_name,
            is_server_admin=caller.is_server_admin,
            token_id=caller.token_id,
            token_workspace=caller.token_workspace_name,
            roles={k: sorted(v) for k, v in sorted(roles.items())},
        )

    return await call(build)


def docs_html(openapi_url: str) -> str:
    return _DOCS_PAGE.replace("__OPENAPI__", openapi_url)


_DOCS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Stratus API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head><body>
<form id="auth" style="font-family:sans-serif;padding:1em;background:#f4f4f4">
<label>Token <input id="token" type="password" size="60" autocomplete="off"></label>
<button type="submit">Authorize</button>
<span id="status" style="margin-left:1em"></span>
<div style="font-size:small">The API contract needs a token too: paste one
(e.g. from ~/.stratus/admin-token).</div>
</form><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>
document.getElementById('auth').addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = document.getElementById('token').value.trim();
  const status = document.getElementById('status');
  const response = await fetch('__OPENAPI__', {headers: {Authorization: 'Bearer ' + token}});
  if (!response.ok) { status.textContent = 'Refused: ' + response.status; return; }
  status.textContent = 'Authorized';
  const spec = await response.json();
  // The bundled Swagger UI 4 refuses 'openapi: 3.1.x' outright but renders these schemas fine.
  spec.openapi = '3.0.3';
  const ui = SwaggerUIBundle({spec: spec, dom_id: '#swagger-ui'});
  ui.preauthorizeApiKey('bearerAuth', token);
});
</script></body></html>"""


@router.get("/docs", include_in_schema=False, openapi_extra=requires(Permission.ANONYMOUS))
async def docs() -> HTMLResponse:
    return HTMLResponse(docs_html("/openapi.json"))
