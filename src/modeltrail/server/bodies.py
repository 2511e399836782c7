"""How a route reads its request: every route reads its body through ``BodyRoute``. A gzip
body is inflated in bounded chunks in a worker thread and refused at the same limit once
inflated; the JSON document is parsed by ``domain.text.loads`` (UTF-8 only: a lone surrogate in
any key or value is a 422 naming its pointer, as is a query or path parameter holding one), in
a worker thread when it is over 64 KiB; and a request whose body is over 1 MiB is handled whole
(its document validated, its answer serialized) in a worker thread, so that no body holds the
event loop for long (health probes and every other request wait on it). What a request must be
before any route reads it is ``transport``'s."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import unquote_to_bytes

import anyio
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from modeltrail.domain import limits, text
from modeltrail.domain.errors import ModeltrailError, json_pointer
from modeltrail.server.transport import GZIP, SAFE_METHODS, too_large

# Documents up to this size are parsed where they arrive: a trip to a worker thread costs
# about as much as parsing them.
PARSE_IN_PLACE_BYTES = 64 * 1024
INFLATE_CHUNK_BYTES = 256 * 1024
# A request whose body is larger than this is handled whole in a worker thread: validating
# the document and serializing the answer take as long as parsing it.
HANDLE_IN_PLACE_BYTES = 1024 * 1024


class UnreadableBody(ModeltrailError):
    type_slug, status, title = "invalid-body", 400, "The body cannot be read"


def inflate(data: bytes, limit: int) -> bytes:
    """The content of a gzip body (one member or several), refused once it passes ``limit``
    bytes: at most one chunk more than the limit is ever held."""
    out: list[bytes] = []
    size = 0
    pending = data
    try:
        while True:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            while True:
                chunk = inflater.decompress(pending, INFLATE_CHUNK_BYTES)
                pending = inflater.unconsumed_tail
                size += len(chunk)
                if size > limit:
                    raise too_large(limit, inflated=True)
                out.append(chunk)
                if inflater.eof:
                    break
                if not pending and not chunk:
                    raise UnreadableBody("Content-Encoding is gzip but the body ends early")
            pending = inflater.unused_data
            if not pending.strip(b"\0"):  # trailing zeros are padding, as gzip reads them
                return b"".join(out)
    except zlib.error as exc:
        raise UnreadableBody(f"Content-Encoding is gzip but the body is not: {exc}") from None


async def read_body(request: Request, *, parse: bool) -> None:
    """Read the request's body as sent (the guard bounds it), inflate it off the event loop if
    it is gzip, and, when ``parse``, parse a large one off the event loop; FastAPI and
    ``request.body()``/``request.json()`` then find the results."""
    raw = await request.body()
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if raw and encoding in GZIP:
        raw = await run_in_threadpool(inflate, raw, limits.MAX_BODY_BYTES)
        request._body = raw
    if not parse or len(raw) <= PARSE_IN_PLACE_BYTES:
        return
    try:
        request._json = await run_in_threadpool(text.loads, raw)
    except json.JSONDecodeError as exc:  # answered as FastAPI answers a body it cannot parse
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", exc.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": exc.msg},
                }
            ]
        ) from None
    except (ValueError, RecursionError) as exc:
        raise HTTPException(400, "There was an error parsing the body") from exc


class TextCheckedRequest(Request):
    """A request whose JSON body is parsed by ``domain.text.loads``."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = text.loads(await self.body())
        return self._json


def _not_utf8(raw: bytes) -> str | None:
    """The first bytes of the percent-encoded URL part ``raw`` that are not UTF-8, spelled as
    sent (``%FF``); None when it is all UTF-8."""
    if raw.isascii() and b"%" not in raw:
        return None
    decoded = unquote_to_bytes(raw)
    try:
        decoded.decode("utf-8")
    except UnicodeDecodeError as exc:
        return "".join(f"%{b:02X}" for b in decoded[exc.start : exc.end])
    return None


def check_parameters(request: Request) -> None:
    """Refuse query and path parameters that are not valid Unicode, naming each: a lone
    surrogate (a request built in-process), or bytes that are not UTF-8 in the URL, which
    Starlette decodes into U+FFFD and so into another name than the one sent."""
    errors: list[dict[str, Any]] = []
    for where, items, raw in (
        ("query", request.query_params.multi_items(), request.scope.get("query_string")),
        ("path", list(request.path_params.items()), request.scope.get("raw_path")),
    ):
        # Only a value holding U+FFFD can have come from bytes that are not UTF-8: the raw
        # URL is decoded again for such a value alone, once per part of the URL.
        undecodable: str | None = None
        looked = False
        for name, value in items:
            if text.REPLACEMENT in value:
                if not looked:
                    undecodable = _not_utf8(raw) if isinstance(raw, bytes) else None
                    looked = True
                if undecodable is not None:
                    errors.append(
                        {
                            "pointer": json_pointer(name),
                            "in": where,
                            "detail": f"{value!r} was sent with bytes that are not UTF-8 "
                            f"({undecodable}): percent-encode the UTF-8 bytes of its "
                            "characters",
                        }
                    )
                    continue
            if text.is_valid(name) and text.is_valid(value):
                continue
            for error in text.invalid_text({name: value}):
                errors.append({**error, "in": where})
    if errors:
        fields = ", ".join(e["pointer"] for e in errors[:5])
        raise text.InvalidText(
            f"the parameters: text that is not valid Unicode at {fields}", errors=errors
        )


class BodyRoute(APIRoute):
    """A route whose parameters are checked and whose body is read by ``read_body`` before
    FastAPI sees them."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        parse = self.body_field is not None
        if getattr(self.endpoint, "streams_body", False):

            async def check_then_handle(request: Request) -> Response:
                check_parameters(request)
                return await handle(request)

            return check_then_handle

        async def read_then_handle(request: Request) -> Response:
            # Starlette decodes a URL with U+FFFD for what is not UTF-8, so a parameter holds
            # a lone surrogate only when the request was built in-process (the embedded
            # store, a test client); the check costs a few string tests.
            check_parameters(request)
            request = TextCheckedRequest(request.scope, request.receive, request._send)
            if request.method not in SAFE_METHODS:
                await read_body(request, parse=parse)
                if len(await request.body()) > HANDLE_IN_PLACE_BYTES:
                    # The body is read, so nothing here waits on the connection: the
                    # request is handled in an event loop of its own, in a worker thread.
                    return await run_in_threadpool(anyio.run, handle, request)
            return await handle(request)

        return read_then_handle
