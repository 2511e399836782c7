"""CRUD and list endpoints for the six entity types, built from one description of each.

(No ``from __future__ import annotations`` here: FastAPI reads the closure's model types from
the endpoint signatures.)

The endpoints are ``async`` and hand the store's work to the thread pool themselves: FastAPI
runs a plain ``def`` endpoint in a thread and then validates its answer in another trip to
a thread, and each trip costs a thread's wake-up (a third of a millisecond on a small
machine, as much as a single read's own work). The answer of one entity or one page is
checked on the event loop instead.
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request, Response, status
from starlette.concurrency import run_in_threadpool

from modeltrail.domain.models import Page
from modeltrail.server.deps import IfMatchDep, ListOptionsDep, MetadataDep, etag, located
from modeltrail.server.routers.runs import add_runs_grid
from modeltrail.services.metadata import ENTITIES, EntityType


def _camel(name: str) -> str:
    return name[0].upper() + name[1:]


def _a(name: str) -> str:
    return ("an " if name[0] in "aeiou" else "a ") + name


def entity_router(etype: EntityType) -> APIRouter:
    router = APIRouter(prefix=f"/{etype.plural}", tags=[_camel(etype.plural)])
    name, Cap = etype.name, _camel(etype.name)
    Create, Update, Model = etype.create_model, etype.update_model, etype.model
    IdPath = Annotated[uuid.UUID, Path(description=f"the {name}'s id")]

    @router.post(
        "",
        response_model=Model,
        status_code=status.HTTP_201_CREATED,
        operation_id=f"create{Cap}",
        summary=f"Create {_a(name)}",
        description="Send an `id` of your own to make the create idempotent: a retry with the "
        "same content answers 200 with the stored entity, different content 409.",
        responses={200: {"description": "already stored (an idempotent retry)"}},
    )
    async def create(
        body: Annotated[Create, Body()],  # type: ignore[valid-type]
        meta: MetadataDep,
        request: Request,
        response: Response,
    ) -> Any:
        result, created = await run_in_threadpool(meta.create, name, body)
        response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        response.headers["Location"] = located(request, f"/api/v1/{etype.plural}/{result.id}")
        response.headers["ETag"] = etag(result.revision)
        return result

    if name == "run":
        add_runs_grid(router)
    else:

        @router.get(
            "",
            response_model=Page[Model],  # type: ignore[valid-type]
            operation_id=f"list{_camel(etype.plural)}",
            summary=f"List {etype.plural}, filtered, sorted and paged",
        )
        async def list_(meta: MetadataDep, options: ListOptionsDep) -> Any:
            return await run_in_threadpool(meta.list, name, options)

    @router.get(
        "/{entity_id}", response_model=Model, operation_id=f"get{Cap}", summary=f"Read {_a(name)}"
    )
    async def read(entity_id: IdPath, meta: MetadataDep, response: Response) -> Any:
        result = await run_in_threadpool(meta.read, name, entity_id)
        response.headers["ETag"] = etag(result.revision)
        return result

    @router.patch(
        "/{entity_id}",
        response_model=Model,
        operation_id=f"update{Cap}",
        summary=f"Change {_a(name)}",
        description="Only the fields sent are changed. Send `If-Match` with the ETag you read "
        "so that a concurrent change is refused (412) instead of overwritten.",
    )
    async def update(
        entity_id: IdPath,
        body: Annotated[Update, Body()],  # type: ignore[valid-type]
        meta: MetadataDep,
        revision: IfMatchDep,
        response: Response,
    ) -> Any:
        result = await run_in_threadpool(meta.update, name, entity_id, body, if_match=revision)
        response.headers["ETag"] = etag(result.revision)
        return result

    @router.delete(
        "/{entity_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        operation_id=f"delete{Cap}",
        summary=f"Delete {_a(name)}",
        description="Refused with 409 and the list of referrers while lineage depends on it.",
    )
    async def delete(entity_id: IdPath, meta: MetadataDep) -> Response:
        await run_in_threadpool(meta.delete, name, entity_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router


def routers() -> list[APIRouter]:
    return [entity_router(e) for e in ENTITIES.values()]
