"""The FastAPI application: the project's API, the thesis's API, health, docs."""

from __future__ import annotations

import inspect
from importlib import import_module
from types import ModuleType
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute

from modeltrail import integrations
from modeltrail.integrations import API
from modeltrail.server import apidocs, auth, bodies, observability, problems, transport, ui
from modeltrail.server.prefix import RootPath, check_collision
from modeltrail.server.routers import (
    batch,
    edges,
    entities,
    files,
    health,
    kinds,
    lineage,
    metrics,
    models,
    plugins,
    runs,
    search,
)
from modeltrail.services.metadata import Metadata
from modeltrail.version import __version__


def create_app(
    metadata: Metadata,
    *,
    auth_settings: auth.AuthSettings | None = None,
    http_settings: transport.HttpSettings | None = None,
) -> FastAPI:
    """The application on ``metadata``. ``http_settings`` says which host names it answers
    and which origins may call it from a browser; the default suits an app that is only
    called in-process (``modeltrail server`` passes what it serves)."""
    return attach(routed_app(http_settings), metadata, auth_settings)


def attach(
    app: FastAPI, metadata: Metadata, auth_settings: auth.AuthSettings | None = None
) -> FastAPI:
    """``app`` answering from ``metadata``, guarded by ``auth_settings`` (none: open)."""
    app.state.metadata = metadata
    app.state.auth = auth_settings or auth.AuthSettings()
    return app


def routed_app(http_settings: transport.HttpSettings | None = None) -> FastAPI:
    """The application's routes and middleware, before it is given a store (``attach``):
    what ``http_settings`` asks of them is checked (a ``ValueError`` says what is wrong)
    without a store being opened, let alone created."""
    app = FastAPI(
        title="modeltrail",
        version=__version__,
        description="Metadata and lineage of the whole life of machine-learning models.",
        openapi_url="/openapi.json",
        docs_url=None,  # served by apidocs, from the package
        redoc_url=None,
        dependencies=[Depends(auth.authorize)],
    )
    problems.install(app)

    slices = [
        (i.prefix, _mount(import_module(i.routes))) for i in integrations.INTEGRATIONS if i.routes
    ]
    api = [
        *entities.routers(),
        edges.router,
        files.router,
        kinds.router,
        lineage.router,
        metrics.router,
        models.router,
        models.artifacts_router,
        runs.router,
        search.router,
        batch.router,
        *(router for prefix, router in slices if prefix == API),
        plugins.router,
    ]
    for router in [*api, auth.router, auth.whoami_router]:
        _add_routes(app, router, prefix=API)
    for prefix, router in slices:
        if prefix != API:
            _add_routes(app, router, prefix=prefix)
    _add_routes(app, health.router)
    _add_routes(app, apidocs.router)
    # The last middleware added is the outermost: the access log and metrics see every
    # request, the guard's refusals too.
    http_settings = http_settings or transport.HttpSettings()
    transport.install(app, http_settings)
    observability.install(app)
    ui.install(app)
    if http_settings.root_path:
        taken = {getattr(r, "path", "/").split("/")[1] for r in app.routes}
        check_collision(http_settings.root_path, taken | ui.bundle_entries())
        # Outermost: every other middleware sees the prefixed request.
        app.add_middleware(RootPath, root_path=http_settings.root_path)
    _document_problems(app)
    return app


def _mount(routes: ModuleType) -> APIRouter:
    """An integration's router, with what its module tells the server (see
    ``modeltrail.integrations``): the paths it guards outside ``/api/v1``, the POSTs there
    that only read and the routes that decide per experiment for a token with grants, the
    shape of every error under them, and the paths whose bodies are streamed files."""
    guarded = getattr(routes, "GUARDED", None)
    for prefix in (guarded,) if isinstance(guarded, str) else guarded or ():
        auth.guard(
            prefix,
            read_only_posts=getattr(routes, "READ_ONLY_POSTS", ()),
            scoped=getattr(routes, "SCOPED_ROUTES", ()),
        )
        render = getattr(routes, "render_error", None)
        if render is not None:
            problems.add_error_shape(prefix, render)
    streamed = getattr(routes, "STREAMED_BODIES", None)
    if streamed is not None:
        transport.stream_bodies(streamed)
    router: APIRouter = routes.router
    return router


# Every setting of a route that ``add_api_route`` takes, read off the route itself.
_ROUTE_SETTINGS = [
    name
    for name in inspect.signature(APIRouter.add_api_route).parameters
    if name not in ("self", "path", "endpoint", "route_class_override")
]


def _add_routes(app: FastAPI, router: APIRouter, *, prefix: str = "") -> None:
    """Add the routes of ``router`` to the app's own router rather than include it. Every
    route, the project's and each integration's, then reads its body through
    ``bodies.BodyRoute`` and carries the app's dependencies (authorization) without its
    router having to ask for them; the app's route list stays flat, which is what the 405
    answer's ``Allow`` header reads (``problems``); and a request is matched by Starlette's
    plain loop over compiled patterns, not through FastAPI's lazily matched included
    routers (the difference is measured in the commit that kept this)."""
    for route in router.routes:
        assert isinstance(route, APIRoute), f"{route!r} is not an API route"
        settings = {name: getattr(route, name) for name in _ROUTE_SETTINGS}
        app.router.add_api_route(
            prefix + route.path,
            route.endpoint,
            route_class_override=bodies.BodyRoute,
            **settings,
        )


def _document_problems(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = auth.document_open_paths(problems.document_problems(build()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
