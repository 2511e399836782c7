"""The FastAPI application: the project's API, the thesis's API, health, docs."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from modeltrail import __version__
from modeltrail.server import auth, compat, observability, problems, ui
from modeltrail.server.routers import (
    argo,
    batch,
    edges,
    entities,
    health,
    kinds,
    lineage,
    openlineage,
    plugins,
)
from modeltrail.services.metadata import Metadata

API_PREFIX = "/api/v1"


def create_app(metadata: Metadata, *, auth_settings: auth.AuthSettings | None = None) -> FastAPI:
    app = FastAPI(
        title="modeltrail",
        version=__version__,
        description="Metadata and lineage of the whole life of machine-learning models.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        dependencies=[Depends(auth.authorize)],
    )
    app.state.metadata = metadata
    app.state.auth = auth_settings or auth.AuthSettings()
    problems.install(app)

    api = APIRouter(prefix=API_PREFIX)
    ingest = [batch.router, openlineage.router, argo.router, plugins.router]
    for router in [*entities.routers(), edges.router, kinds.router, lineage.router, *ingest]:
        api.include_router(router)
    api.include_router(auth.router)
    api.include_router(auth.whoami_router)
    app.include_router(api)
    app.include_router(compat.router)
    app.include_router(health.router)
    observability.install(app)
    ui.install(app)
    _document_problems(app)
    return app


def _document_problems(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict:  # type: ignore[type-arg]
        if app.openapi_schema is None:
            app.openapi_schema = problems.document_problems(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
