"""``POST /lineage`` and ``/lineage/batch``: the OpenLineage HTTP receiver.

Accepts what the official clients send with their HTTP transport: a JSON event, optionally
gzip-compressed (``Content-Encoding: gzip``, inflated with every other body by
``server.transport``), with a bearer key when the server sets ``MODELTRAIL_OPENLINEAGE_API_KEY``.
With access control on, the key a client sends is its modeltrail token instead (both read
``Authorization``): the token's writer role is checked like any other write's.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from modeltrail.domain.errors import InvalidInput, ModeltrailError
from modeltrail.integrations.openlineage import translator as openlineage
from modeltrail.integrations.openlineage import validation
from modeltrail.server.deps import MetadataDep, access_control, read_json

router = APIRouter(prefix="/lineage", tags=["OpenLineage"])

API_KEY_ENV = "MODELTRAIL_OPENLINEAGE_API_KEY"


class Unauthorized(ModeltrailError):
    type_slug, status, title = "unauthorized", 401, "Unauthorized"


def _check_key(request: Request) -> None:
    key = os.environ.get(API_KEY_ENV)
    if not key or access_control(request):
        # With access control on, the request got here with a token that may write: the
        # token is the key (one Authorization header cannot carry both).
        return
    sent = request.headers.get("authorization", "")
    scheme, _, token = sent.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), key.encode()):
        raise Unauthorized("send 'Authorization: Bearer <key>' with the key the server was given")


async def _body(request: Request) -> Any:
    _check_key(request)
    return await read_json(request)


@router.post(
    "",
    operation_id="receiveOpenLineageEvent",
    status_code=status.HTTP_200_OK,
    summary="Receive one OpenLineage RunEvent, JobEvent or DatasetEvent",
    description="Validated against the OpenLineage 2-0-2 JSON Schema. Events may arrive "
    "late, twice or out of order: the stored result is the same.",
)
async def receive(request: Request, meta: MetadataDep) -> JSONResponse:
    event = await _body(request)
    validation.validate_event(event)
    result = await run_in_threadpool(openlineage.ingest, meta, event, validated=True)
    return JSONResponse(result)


@router.post(
    "/batch",
    operation_id="receiveOpenLineageBatch",
    status_code=status.HTTP_200_OK,
    summary="Receive a list of OpenLineage events",
    description='A JSON array of events (or {"events": [...]}). Every event is validated '
    "first; if any is invalid nothing is stored and each problem names its event's index. "
    "Valid events are then stored in order, each in its own transaction; if the store still "
    "refuses one, the problem's `stored` says how many before it were stored.",
)
async def receive_batch(request: Request, meta: MetadataDep) -> JSONResponse:
    body = await _body(request)
    events = body.get("events") if isinstance(body, dict) else body
    if not isinstance(events, list):
        raise InvalidInput(
            'a batch is a JSON array of events or {"events": [...]}',
            errors=[{"pointer": "/", "detail": "not an array"}],
        )
    errors: list[dict[str, str]] = []
    for i, event in enumerate(events):
        try:
            errors += validation.validation_errors(event, f"/{i}")
        except InvalidInput as exc:
            errors += exc.errors
    if errors:
        raise InvalidInput(
            f"{len({e['pointer'].split('/')[1] for e in errors})} event(s) of {len(events)} "
            "are invalid; nothing was stored",
            errors=errors,
        )
    # Each event is a fact of its own and is stored in its own transaction, in order (as if
    # sent one by one). One the store still refuses stops the batch; the answer says how many
    # before it were stored, so that a client resends the rest.
    items = []
    for i, event in enumerate(events):
        try:
            items.append(
                await run_in_threadpool(
                    openlineage.ingest, meta, event, validated=True, pointer=f"/{i}"
                )
            )
        except ModeltrailError as exc:
            exc.detail = (
                f"{exc.detail}; the {i} event(s) before it were stored, it and the ones after "
                "it were not"
            )
            exc.extra = {**exc.extra, "stored": i}
            raise
    return JSONResponse({"items": items})
