"""The FastAPI application: the project's API, the thesis's API, health, docs."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from modeltrail import __version__
from modeltrail.server import problems
from modeltrail.server.routers import batch, edges, entities, health, kinds
from modeltrail.services.metadata import Metadata

API_PREFIX = "/api/v1"


def create_app(metadata: Metadata) -> FastAPI:
    app = FastAPI(
        title="modeltrail",
        version=__version__,
        description="Metadata and lineage of the whole life of machine-learning models.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.metadata = metadata
    problems.install(app)

    api = APIRouter(prefix=API_PREFIX)
    for router in [*entities.routers(), edges.router, kinds.router, batch.router]:
        api.include_router(router)
    app.include_router(api)
    app.include_router(health.router)
    return app
