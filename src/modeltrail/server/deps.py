"""What routes are built with, the project's and each integration's: the store as the request
may use it (the registry too), list options, If-Match revisions, a JSON body read the
server's way.

They are ``async`` although nothing in them waits: FastAPI runs a plain ``def`` dependency in
its thread pool, and each trip to a thread and back costs a thread's wake-up (about a third
of a millisecond on a 2-core machine, as much as a single read's own work). They only look
at the request, so they run on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

import orjson
from fastapi import Depends, Header, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.convertors import PathConvertor, register_url_convertor

from modeltrail.domain import limits, text
from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.filters import ListOptions, parse_filters, parse_sort
from modeltrail.domain.query import parse_query
from modeltrail.domain.scope import Scope
from modeltrail.domain.tokens import Role
from modeltrail.server.bodies import PARSE_IN_PLACE_BYTES, UnreadableBody
from modeltrail.services.file_transfers import Receiving
from modeltrail.services.metadata import Metadata
from modeltrail.services.registry import Registry


async def get_metadata(request: Request) -> Metadata:
    """The store as the request's token may use it: its writes recorded as made by the token
    (``auth.authorize`` runs first and leaves the token's principal on the request when access
    control is on), and for a token with grants on single experiments a scoped view
    (``Metadata.scoped``) that the services consult."""
    meta: Metadata = request.app.state.metadata
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return meta
    meta = meta.acting_as(principal.actor())
    return meta.scoped(Scope.of(principal)) if principal.experiments else meta


MetadataDep = Annotated[Metadata, Depends(get_metadata)]


def registry(request: Request, meta: MetadataDep) -> Registry:
    """The registry as the request's token may use it: protected aliases change only for a
    deployer or an admin (anyone, on a store without access control)."""
    principal = getattr(request.state, "principal", None)
    if not request.app.state.auth.enabled:
        deployer = True
    else:
        deployer = (
            principal is not None
            and principal.role is not None
            and principal.role.allows(Role.DEPLOYER)
        )
    return Registry(meta, deployer=deployer)


async def registry_dependency(request: Request, meta: MetadataDep) -> Registry:
    """``registry`` as a dependency: it only looks at the request, so it runs on the event
    loop (a plain function would cost a trip to a thread)."""
    return registry(request, meta)


RegistryDep = Annotated[Registry, Depends(registry_dependency)]


async def list_options(
    filter: Annotated[
        list[str],
        Query(
            description="FIELD:OP:VALUE, repeatable; OP is eq ne lt le gt ge in prefix contains. "
            "FIELD may be a dotted path: annotations.KEY, configuration.KEY, attributes.a.b",
            max_length=1000,
        ),
    ] = [],  # noqa: B006 - FastAPI copies defaults
    sort: Annotated[
        str | None,
        Query(description="field to sort on, '-' in front for descending", max_length=1000),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=limits.MAX_PAGE_SIZE)] = limits.DEFAULT_PAGE_SIZE,
    cursor: Annotated[
        str | None, Query(description="nextCursor of the previous page", max_length=4096)
    ] = None,
    count: Annotated[
        bool, Query(description="also count every match (slower on large stores)")
    ] = False,
    q: Annotated[
        str | None,
        Query(
            description="an expression over the same fields, ANDed with the filters: "
            'metrics.accuracy > 0.9 and (configuration.optimizer = "adam" or '
            'configuration.optimizer = "sgd") and not annotations.team = "legacy". '
            "Operators = != < <= > >= in, like, ilike, prefix, contains, is [not] null; "
            "and, or, not, parentheses. MLflow's search_runs filters are accepted as written.",
            max_length=limits.MAX_QUERY_TEXT * 4,
        ),
    ] = None,
) -> ListOptions:
    return ListOptions(
        query=parse_query(q),
        filters=tuple(parse_filters(filter)),
        sort=parse_sort(sort),
        limit=limit,
        cursor=cursor,
        count=count,
    )


ListOptionsDep = Annotated[ListOptions, Depends(list_options)]


async def if_match(
    value: Annotated[str | None, Header(alias="If-Match", description="the ETag you read")] = None,
) -> int | None:
    if value is None or value.strip() == "*":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(
            f"If-Match must be an ETag this server issued, not {value!r}",
            errors=[{"pointer": "/If-Match", "in": "header", "detail": "not a revision ETag"}],
        ) from None


IfMatchDep = Annotated[int | None, Depends(if_match)]


def etag(revision: int) -> str:
    return f'"{revision}"'


def access_control(request: Request) -> bool:
    """Whether the server checks tokens (then every write came with one that may write)."""
    return bool(request.app.state.auth.enabled)


async def read_json(request: Request) -> Any:
    """The request's body as JSON, for a route that reads it itself: bounded and inflated if
    it was gzip (``bodies.BodyRoute``), a large one parsed off the event loop. A body that
    is not JSON is refused (400); one holding a lone surrogate names its field (422)."""
    raw = await request.body()
    try:
        if len(raw) <= PARSE_IN_PLACE_BYTES:
            return orjson.loads(raw)
        return await run_in_threadpool(orjson.loads, raw)
    except orjson.JSONDecodeError as exc:
        reason = exc
    # orjson refuses a lone surrogate as it refuses broken JSON: the shared parser tells
    # which field holds it (``InvalidText``, 422), or confirms that the body is not JSON.
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        await run_in_threadpool(text.loads, raw)
    raise UnreadableBody(f"the body is not JSON: {reason}")


# ---------------------------------------------------------------- streamed files


class FilePathConvertor(PathConvertor):
    """A path of any characters, line breaks too (Starlette's ``path`` stops at one): a path
    the file store refuses is answered with the reason (422), not as a route that is not."""

    regex = r"[\s\S]*"


register_url_convertor("filepath", FilePathConvertor())


# Received bytes are handed to the file store in buffers of about this size: one trip to a
# worker thread per buffer rather than per network read. On a busy machine each trip waits
# for the thread to be given a CPU, so the fewer the better; two buffers are held at most.
FLUSH_BYTES = 4 << 20


def content_length(request: Request) -> int | None:
    """The length the request declares for its body, if it declares one."""
    value = request.headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


def streams_body(endpoint: Any) -> Any:
    """Mark a route whose body is streamed by the route itself (see ``transport``)."""
    endpoint.streams_body = True
    return endpoint


async def receive_into(request: Request, pending: Receiving) -> None:
    """Feed the request's body to ``pending``; an interrupted or refused body leaves nothing.

    One buffer is hashed and written in a worker thread while the next one is received: the
    network and the disk (and the hash) work at once instead of in turn. At most two buffers
    are held. A buffer is the network's reads as they came, not joined: the worker thread
    writes and hashes each while it is still in the CPU's cache."""
    buffered: list[bytes] = []
    size = 0
    writing: asyncio.Future[None] | None = None

    async def hand_over(chunks: list[bytes]) -> None:
        nonlocal writing
        if writing is not None:
            await writing
        writing = asyncio.ensure_future(run_in_threadpool(pending.write_each, chunks))

    try:
        async for chunk in request.stream():
            buffered.append(chunk)
            size += len(chunk)
            if size >= FLUSH_BYTES:
                chunks, buffered, size = buffered, [], 0
                await hand_over(chunks)
        if buffered:
            await hand_over(buffered)
        if writing is not None:
            await writing
    except BaseException:
        if writing is not None:
            # The file store's writer is used by one thread at a time: the last buffer's
            # write ends before the staged bytes are removed.
            with contextlib.suppress(BaseException):
                await asyncio.shield(writing)
        await run_in_threadpool(pending.abort)
        raise


def located(request: Request, path: str) -> str:
    """The ``Location`` of ``path`` (``/api/v1/...``) where the app is served under a path
    prefix (``modeltrail.server.prefix``): a client follows it through the same proxy."""
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/") + path
