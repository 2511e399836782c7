"""Operations: request ids, structured JSON logs, Prometheus metrics.

One pure-ASGI middleware does the per-request work (it sees every response, errors included,
and costs no extra task per request). Metrics are process-local: each server process is scraped
on its own ``/metrics``, as Prometheus expects of stateless replicas.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
access_log = logging.getLogger("modeltrail.access")

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "modeltrail_http_requests_total",
    "HTTP requests answered",
    ["method", "route", "status"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "modeltrail_http_errors_total",
    "HTTP requests answered with a 5xx status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "modeltrail_http_request_duration_seconds",
    "Time to answer a request",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INGESTED = Counter(
    "modeltrail_ingested_total",
    "Entities stored by successful creates",
    ["route"],
    registry=REGISTRY,
)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id of the request being served."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            entry["requestId"] = rid
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "info", *, fmt: str = "json") -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Migrations say what they do at INFO on every start; only their problems matter here.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))


class OperationsMiddleware:
    """Request id, access log and metrics of every request, refusals included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        sent_id = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = sent_id if _REQUEST_ID.match(sent_id) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - start, rid)
            request_id_var.reset(token)

    @staticmethod
    def _record(scope: Scope, status: int, seconds: float, rid: str) -> None:
        route = _route_label(scope)
        method = scope.get("method", "")
        REQUESTS.labels(method, route, str(status)).inc()
        LATENCY.labels(method, route).observe(seconds)
        if status >= 500:
            ERRORS.labels(method, route, str(status)).inc()
        if method == "POST" and status == 201:
            INGESTED.labels(route).inc()
        fields: dict[str, Any] = {
            "requestId": rid,
            "method": method,
            "path": scope.get("path", ""),
            "route": route,
            "status": status,
            "durationMs": round(seconds * 1000, 2),
        }
        # Who made the request: the token access control accepted (``auth.authorize``).
        principal = (scope.get("state") or {}).get("principal")
        if principal is not None:
            fields["principal"] = {
                "name": principal.name,
                "id": str(principal.token_id) if principal.token_id else None,
            }
        access_log.info("%s %s %s", method, scope.get("path", ""), status, extra={"fields": fields})


def _route_label(scope: Scope) -> str:
    """The path with its parameters as ``{name}``: a bounded set of label values."""
    if scope.get("route") is None:
        return "unmatched"
    path = scope.get("path", "")
    for name, value in (scope.get("path_params") or {}).items():
        path = path.replace(f"/{value}", f"/{{{name}}}", 1)
    return str(path)


router = APIRouter(tags=["Health"])


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics of this process",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> None:
    app.add_middleware(OperationsMiddleware)
    app.include_router(router)
