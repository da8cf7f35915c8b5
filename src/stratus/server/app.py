"""``create_app``: the FastAPI application over a bootstrapped ``ServerState``."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry

from stratus._version import __version__
from stratus.server.errors import install_error_handlers
from stratus.server.middleware import BodyLimitMiddleware, MetricsMiddleware, RequestGuardMiddleware
from stratus.server.routers import access, assets, environments, meta, secrets, tracking, workspaces
from stratus.server.routers.mlflow import experiments as mlflow_experiments
from stratus.server.routers.mlflow import logged_models as mlflow_logged_models
from stratus.server.routers.mlflow import registry as mlflow_registry
from stratus.server.routers.mlflow import runs as mlflow_runs
from stratus.server.routers.mlflow import server_info as mlflow_server_info
from stratus.server.routers.mlflow.artifacts import is_artifact_upload_path
from stratus.server.routers.mlflow.artifacts import router as mlflow_artifacts_router
from stratus.server.routing import memoize_routes
from stratus.server.state import ServerState

ANONYMOUS_MOUNTS = ("/docs/assets",)


def create_app(state: ServerState) -> FastAPI:
    app = FastAPI(
        title="Stratus",
        version=__version__,
        description="The Stratus API: a self-hosted ML platform shaped like Azure Machine Learning.",
        openapi_url=None,  # served by our own route, which needs a token
        docs_url=None,
        redoc_url=None,
    )
    app.state.stratus = state
    app.state.metrics_registry = CollectorRegistry()
    for router in (
        meta.router,
        workspaces.router,
        access.router,
        tracking.router,
        secrets.router,
        assets.router,
        environments.router,
        mlflow_experiments.router,
        mlflow_runs.router,
        mlflow_logged_models.router,
        mlflow_registry.router,
        mlflow_artifacts_router,
        mlflow_server_info.router,
    ):
        # The routes themselves, not include_router's lazy wrappers: the route table stays a flat list
        # of SecuredRoutes that the route-table test (and anyone reading) can walk.
        app.router.routes.extend(router.routes)
    app.mount("/docs/assets", StaticFiles(directory=_swagger_assets()), name="docs-assets")
    install_error_handlers(app)
    _add_security_scheme(app)
    # Outermost first: Host check before anything else reads the request.
    app.add_middleware(MetricsMiddleware, registry=app.state.metrics_registry)
    app.add_middleware(
        BodyLimitMiddleware, limit=state.settings.max_json_bytes, is_upload=is_artifact_upload_path
    )
    app.add_middleware(
        RequestGuardMiddleware,
        allowed_hosts=state.settings.allowed_host_set(),
        origins=state.origins,
    )
    memoize_routes(app)
    return app


def api_routes(app: FastAPI) -> list[APIRoute]:
    return [r for r in app.routes if isinstance(r, APIRoute)]


def _swagger_assets() -> str:
    import swagger_ui_bundle

    return str(swagger_ui_bundle.swagger_ui_path)


def _add_security_scheme(app: FastAPI) -> None:
    original = app.openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema is None:
            schema = original()
            components = schema.setdefault("components", {})
            components["securitySchemes"] = {"bearerAuth": {"type": "http", "scheme": "bearer"}}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
