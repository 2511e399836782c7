"""RFC 9457 problem details: every error the API answers has this one shape.

``{"type", "title", "status", "detail", "instance", "errors": [{"pointer", "detail"}]}`` with
media type ``application/problem+json``. Domain errors are mapped here once; nothing else in
the server builds an error body.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from modeltrail.domain import text
from modeltrail.domain.errors import ModeltrailError, json_pointer

log = logging.getLogger("modeltrail.server")

TYPE_BASE = "https://modeltrail.dev/problems/"
MEDIA_TYPE = "application/problem+json"
# Seconds a client is asked to wait before it tries again after a 503.
RETRY_AFTER = "5"


class FieldError(BaseModel):
    pointer: str
    detail: str
    model_config = ConfigDict(extra="allow")


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong, and for invalid input, which fields."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None
    model_config = ConfigDict(extra="allow")


def document_problems(spec: dict[str, Any]) -> dict[str, Any]:
    """Describe error responses as problem+json in the OpenAPI document (FastAPI's default
    422 schema is not what this server answers)."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["FieldError"] = FieldError.model_json_schema()
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    problem_schema.pop("$defs", None)
    schemas["Problem"] = problem_schema
    ref = {"$ref": "#/components/schemas/Problem"}
    for methods in spec.get("paths", {}).values():
        for op in methods.values():
            responses = op.setdefault("responses", {})
            if "422" in responses or op.get("parameters") or op.get("requestBody"):
                responses["422"] = {
                    "description": "Invalid input: the failing fields are in `errors`",
                    "content": {MEDIA_TYPE: {"schema": ref}},
                }
            responses.setdefault(
                "default",
                {
                    "description": "Any other error, as a problem",
                    "content": {MEDIA_TYPE: {"schema": ref}},
                },
            )
    return spec


# Renders an error for a client of another API served beside the project's own (MLflow's client
# branches on MLflow's error body): (status, slug, detail, headers, extra) -> the answer.
ErrorShape = Callable[[int, str, str, dict[str, str] | None, dict[str, Any]], JSONResponse]
_SHAPES: dict[str, ErrorShape] = {}


def add_error_shape(prefix: str, render: ErrorShape) -> None:
    """Answer every error on paths under ``prefix`` with ``render`` instead of a problem:
    those of its own routes and those raised before them (a token refused, a body too large,
    a path that does not exist). The prefix is matched against the routed path, below the
    app's root, whatever prefix the app is served under."""
    _SHAPES[prefix] = render


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    route_path: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """The answer to an error at ``instance``, the path the client sent. ``route_path``, the
    path the router matched (``instance`` when not given), picks the error's shape: where the
    app is served under a prefix, ``instance`` starts with that prefix."""
    routed = instance if route_path is None else route_path
    if routed:
        for prefix, render in _SHAPES.items():
            if routed.startswith(prefix):
                return render(status, slug, text.shown(detail), headers, extra)
    # The path or a detail may quote text that is not Unicode, which no answer can hold.
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": text.shown(detail),
    }
    if instance:
        body["instance"] = text.shown(instance)
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _pointer(loc: tuple[Any, ...]) -> tuple[str, str]:
    where = str(loc[0]) if loc else "body"
    return where, json_pointer(*loc[1:]) or "/"


def validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        if e.get("type") == "json_invalid":  # loc holds a character offset, not a field
            reason = (e.get("ctx") or {}).get("error", "JSON decode error")
            out.append({"pointer": "/", "detail": f"the body is not JSON: {reason}"})
            continue
        where, pointer = _pointer(tuple(e.get("loc", ())))
        # A pointer or message may quote text that is not Unicode, which no answer can hold.
        item = {"pointer": text.shown(pointer), "detail": text.shown(e.get("msg", "invalid"))}
        if where != "body":
            item["in"] = where
        out.append(item)
    return out


def _unreadable_body(exc: StarletteHTTPException) -> str | None:
    """Why a body could not be read, when FastAPI's JSON parsing failed on something other
    than a syntax error (it answers those with a bare 400 and keeps the cause)."""
    cause = exc.__cause__
    if exc.status_code != 400 or cause is None:
        return None
    if isinstance(cause, UnicodeDecodeError):
        return "the body is not JSON: it is not valid UTF-8"
    if isinstance(cause, RecursionError):
        return "the body is not JSON this server reads: it nests too deeply"
    if isinstance(cause, ValueError):  # e.g. an integer of more than 4,300 digits
        return f"the body is not JSON this server reads: {cause}"
    return None


def install(app: FastAPI) -> None:
    @app.exception_handler(ModeltrailError)
    async def domain_error(request: Request, exc: ModeltrailError) -> JSONResponse:
        retry = {"Retry-After": RETRY_AFTER} if exc.status == 503 else None
        headers = getattr(exc, "headers", None) or retry
        return problem(
            exc.status,
            exc.type_slug,
            exc.title,
            exc.detail,
            instance=request.url.path,
            route_path=get_route_path(request.scope),
            errors=exc.errors,
            headers=headers,
            **exc.extra,
        )

    @app.exception_handler(PoolTimeout)
    async def pool_timeout(request: Request, exc: PoolTimeout) -> JSONResponse:
        # The services answer it as Unavailable; this covers a connection taken anywhere else.
        return problem(
            503,
            "unavailable",
            "Database unavailable",
            "every database connection is busy; try again shortly",
            instance=request.url.path,
            route_path=get_route_path(request.scope),
            headers={"Retry-After": RETRY_AFTER},
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(list(exc.errors()))
        fields = ", ".join(e["pointer"] for e in errors[:5])
        return problem(
            422,
            "validation",
            "Invalid request",
            f"{len(errors)} field(s) are invalid: {fields}",
            instance=request.url.path,
            route_path=get_route_path(request.scope),
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, ModeltrailError):  # raised while the body was parsed
            return await domain_error(request, exc.__cause__)
        reason = _unreadable_body(exc)
        if reason is not None:  # answered like any body that is not JSON
            return problem(
                422,
                "validation",
                "Invalid request",
                f"1 field(s) are invalid: / ({reason})",
                instance=request.url.path,
                route_path=get_route_path(request.scope),
                errors=[{"pointer": "/", "detail": reason}],
            )
        slug = {
            404: "not-found",
            405: "method-not-allowed",
            413: "too-large",
            401: "unauthorized",
            403: "forbidden",
        }.get(exc.status_code, "http-error")
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        return problem(
            exc.status_code,
            slug,
            detail,
            detail,
            instance=request.url.path,
            route_path=get_route_path(request.scope),
            headers=headers,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Never leak a stack trace or SQL: log it, answer a generic problem.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(
            500,
            "internal",
            "Internal error",
            "the server failed; the error was logged",
            instance=request.url.path,
            route_path=get_route_path(request.scope),
        )


def _allowed_methods(request: Request) -> str:
    """Every method the path answers. Starlette's own 405 names those of the first route that
    matched the path, though a path's GET and POST are two routes."""
    methods = {
        method
        for route in request.app.router.routes
        if isinstance(route, Route) and route.matches(request.scope)[0] is not Match.NONE
        for method in route.methods or ()
    }
    if "GET" in methods:
        methods.add("HEAD")  # answered for every GET route (server/transport.py)
    return ", ".join(sorted(methods))
