"""The model registry's routes: registered models, versions, tags, aliases and their history,
and references (``models:/NAME@ALIAS``, ``models:/NAME/3``) resolved.

(No ``from __future__ import annotations`` here: FastAPI reads the parameter types.)
"""

import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Body, Path, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from modeltrail.domain import limits
from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.models import Page, in_utc
from modeltrail.domain.registry import (
    Alias,
    AliasEvent,
    AliasProtection,
    AliasSet,
    ModelVersion,
    ModelVersionCreate,
    ModelVersionUpdate,
    RegisteredModel,
    RegisteredModelCreate,
    RegisteredModelUpdate,
    TagSet,
)
from modeltrail.server.deps import RegistryDep, located

router = APIRouter(prefix="/models", tags=["Models"])
# An artifact's page asks which versions it is, knowing no model's name: from the artifact's side.
artifacts_router = APIRouter(prefix="/artifacts", tags=["Models"])


class JsonDocument(Response):
    """A page the service built from the store, serialized as it is: a thousand versions
    are not validated once more on their way out."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z)


Name = Annotated[str, Path(max_length=limits.MAX_NAME, description="the registered model's name")]
VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="the version's number")]
AliasPath = Annotated[str, Path(max_length=limits.MAX_NAME, description="the alias")]
TagKey = Annotated[str, Path(max_length=limits.MAX_NAME, description="the tag's key")]
At = Annotated[
    datetime | None,
    Query(
        description="a past time (ISO 8601; without a zone, UTC): the answer as it was then",
    ),
]
Limit = Annotated[int, Query(ge=1, le=limits.MAX_PAGE_SIZE)]
Cursor = Annotated[
    str | None, Query(max_length=4096, description="nextCursor of the previous page")
]


def _at(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    try:
        return in_utc(value)
    except ValueError as exc:
        raise InvalidInput(
            str(exc), errors=[{"pointer": "/at", "in": "query", "detail": str(exc)}]
        ) from None


def _tags(items: list[str]) -> dict[str, str]:
    out = {}
    for i, item in enumerate(items):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(
                f"tag filter {item[:200]!r} is not KEY=VALUE",
                errors=[{"pointer": f"/tag/{i}", "in": "query", "detail": "expected KEY=VALUE"}],
            )
        out[key] = value
    return out


@router.get(
    "/resolve",
    response_model=ModelVersion,
    operation_id="resolveModel",
    summary="The version a model reference names",
    description="`models:/NAME@ALIAS` (with `at`: where the alias pointed then), "
    "`models:/NAME/3`, or `models:/NAME` and `models:/NAME/latest` (the newest version).",
)
async def resolve(
    reg: RegistryDep,
    uri: Annotated[str, Query(max_length=limits.MAX_URI, description="models:/...")],
    at: At = None,
) -> Any:
    return JsonDocument(await run_in_threadpool(reg.resolve_document, uri, at=_at(at)))


@router.post(
    "",
    response_model=RegisteredModel,
    status_code=status.HTTP_201_CREATED,
    operation_id="createRegisteredModel",
    summary="Register a model name (409 if it is taken)",
)
async def create_model(
    body: Annotated[RegisteredModelCreate, Body()],
    reg: RegistryDep,
    request: Request,
    response: Response,
) -> Any:
    result = await run_in_threadpool(reg.create_model, body)
    response.headers["Location"] = located(request, f"/api/v1/models/{quote(result.name, safe='')}")
    return result


@router.get(
    "",
    response_model=Page[RegisteredModel],
    operation_id="listRegisteredModels",
    summary="List registered models by name, filtered by name and tags",
)
async def list_models(
    reg: RegistryDep,
    name_contains: Annotated[
        str | None,
        Query(alias="nameContains", max_length=limits.MAX_NAME, description="any case"),
    ] = None,
    tag: Annotated[
        list[str], Query(max_length=limits.MAX_FILTERS, description="KEY=VALUE, repeatable")
    ] = [],  # noqa: B006 - FastAPI copies defaults
    limit: Limit = limits.DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Any:
    return await run_in_threadpool(
        reg.search_models, name_contains=name_contains, tags=_tags(tag), limit=limit, cursor=cursor
    )


@router.get(
    "/{name}",
    response_model=RegisteredModel,
    operation_id="getRegisteredModel",
    summary="A registered model with its aliases",
)
async def get_model(name: Name, reg: RegistryDep) -> Any:
    return await run_in_threadpool(reg.get_model, name)


@router.patch(
    "/{name}",
    response_model=RegisteredModel,
    operation_id="updateRegisteredModel",
    summary="Change a model's description or tags, or rename it",
    description="A new `name` renames the model; its versions, aliases and history follow. "
    "`tags` replaces all of its tags.",
)
async def update_model(
    name: Name, body: Annotated[RegisteredModelUpdate, Body()], reg: RegistryDep
) -> Any:
    return await run_in_threadpool(reg.update_model, name, body)


@router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="deleteRegisteredModel",
    summary="Delete a model with its versions and aliases (the artifacts stay)",
    description="While a protected alias points at one of its versions, only a deployer or "
    "an admin may (403).",
)
async def delete_model(name: Name, reg: RegistryDep) -> Response:
    await run_in_threadpool(reg.delete_model, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/{name}/tags/{key}",
    response_model=RegisteredModel,
    operation_id="setRegisteredModelTag",
    summary="Set one tag of a model",
)
async def set_model_tag(
    name: Name, key: TagKey, body: Annotated[TagSet, Body()], reg: RegistryDep
) -> Any:
    return await run_in_threadpool(reg.set_model_tag, name, key, body.value)


@router.delete(
    "/{name}/tags/{key}",
    response_model=RegisteredModel,
    operation_id="deleteRegisteredModelTag",
    summary="Remove one tag of a model",
)
async def delete_model_tag(name: Name, key: TagKey, reg: RegistryDep) -> Any:
    return await run_in_threadpool(reg.delete_model_tag, name, key)


# ---------------------------------------------------------------- versions


@router.post(
    "/{name}/versions",
    response_model=ModelVersion,
    status_code=status.HTTP_201_CREATED,
    operation_id="createModelVersion",
    summary="Register an artifact as the model's next version",
    description="An artifact already registered as a version of this model answers that "
    "version (200), so a retry makes no second version. With `createModel=true` the model "
    "is registered too if it is not.",
    responses={200: {"description": "the artifact is already this version"}},
)
async def create_version(
    name: Name,
    body: Annotated[ModelVersionCreate, Body()],
    reg: RegistryDep,
    request: Request,
    response: Response,
    create_model: Annotated[
        bool, Query(alias="createModel", description="register the model if it is not")
    ] = False,
) -> Any:
    result, created = await run_in_threadpool(
        reg.create_version, name, body, create_model=create_model
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    response.headers["Location"] = located(
        request, f"/api/v1/models/{quote(result.model, safe='')}/versions/{result.version}"
    )
    return result


@router.get(
    "/{name}/versions",
    response_model=Page[ModelVersion],
    operation_id="listModelVersions",
    summary="A model's versions, newest first, with their metrics and runs",
)
async def list_versions(
    name: Name,
    reg: RegistryDep,
    limit: Limit = limits.DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    metrics: Annotated[bool, Query(description="with each version's metrics")] = True,
) -> Any:
    page = await run_in_threadpool(
        reg.list_version_json, name, limit=limit, cursor=cursor, metrics=metrics
    )
    return Response(page, media_type="application/json")


@router.get(
    "/{name}/versions/latest",
    response_model=ModelVersion,
    operation_id="getLatestModelVersion",
    summary="A model's newest version",
)
async def latest_version(name: Name, reg: RegistryDep) -> Any:
    return await run_in_threadpool(reg.latest_version, name)


@router.get(
    "/{name}/versions/{version}",
    response_model=ModelVersion,
    operation_id="getModelVersion",
    summary="One version of a model",
)
async def get_version(name: Name, version: VersionPath, reg: RegistryDep) -> Any:
    return await run_in_threadpool(reg.get_version, name, version)


@router.patch(
    "/{name}/versions/{version}",
    response_model=ModelVersion,
    operation_id="updateModelVersion",
    summary="Change a version's description or tags",
)
async def update_version(
    name: Name,
    version: VersionPath,
    body: Annotated[ModelVersionUpdate, Body()],
    reg: RegistryDep,
) -> Any:
    return await run_in_threadpool(reg.update_version, name, version, body)


@router.delete(
    "/{name}/versions/{version}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="deleteModelVersion",
    summary="Delete a version (refused with 409 while an alias points at it)",
)
async def delete_version(name: Name, version: VersionPath, reg: RegistryDep) -> Response:
    await run_in_threadpool(reg.delete_version, name, version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/{name}/versions/{version}/tags/{key}",
    response_model=ModelVersion,
    operation_id="setModelVersionTag",
    summary="Set one tag of a version",
)
async def set_version_tag(
    name: Name,
    version: VersionPath,
    key: TagKey,
    body: Annotated[TagSet, Body()],
    reg: RegistryDep,
) -> Any:
    return await run_in_threadpool(reg.set_version_tag, name, version, key, body.value)


@router.delete(
    "/{name}/versions/{version}/tags/{key}",
    response_model=ModelVersion,
    operation_id="deleteModelVersionTag",
    summary="Remove one tag of a version",
)
async def delete_version_tag(
    name: Name, version: VersionPath, key: TagKey, reg: RegistryDep
) -> Any:
    return await run_in_threadpool(reg.delete_version_tag, name, version, key)


# ---------------------------------------------------------------- aliases


@router.get(
    "/{name}/aliases",
    response_model=list[Alias],
    operation_id="listModelAliases",
    summary="A model's aliases, now or (at) as they were at a past time",
)
async def list_aliases(name: Name, reg: RegistryDep, at: At = None) -> Any:
    return await run_in_threadpool(reg.list_aliases, name, at=_at(at))


@router.get(
    "/{name}/aliases/{alias}",
    response_model=Alias,
    operation_id="getModelAlias",
    summary="Where an alias points, or (at) pointed at a past time",
)
async def get_alias(name: Name, alias: AliasPath, reg: RegistryDep, at: At = None) -> Any:
    return await run_in_threadpool(reg.get_alias, name, alias, at=_at(at))


@router.put(
    "/{name}/aliases/{alias}",
    response_model=Alias,
    operation_id="setModelAlias",
    summary="Point an alias at a version (set or move it), with a reason",
    description="The move is kept in the alias's history with who made it, when and why. A "
    "protected alias is moved only by a deployer or an admin (403); a version of another "
    "model is refused (409).",
)
async def set_alias(
    name: Name, alias: AliasPath, body: Annotated[AliasSet, Body()], reg: RegistryDep
) -> Any:
    return await run_in_threadpool(reg.set_alias, name, alias, body)


@router.delete(
    "/{name}/aliases/{alias}",
    response_model=AliasEvent,
    operation_id="removeModelAlias",
    summary="Make an alias point at nothing, with a reason",
)
async def remove_alias(
    name: Name,
    alias: AliasPath,
    reg: RegistryDep,
    reason: Annotated[
        str | None, Query(max_length=limits.MAX_TEXT, description="kept in its history")
    ] = None,
) -> Any:
    if reason is not None and "\x00" in reason:
        raise InvalidInput(
            "the reason may not contain NUL characters",
            errors=[{"pointer": "/reason", "in": "query", "detail": "NUL character"}],
        )
    return await run_in_threadpool(reg.remove_alias, name, alias, reason=reason)


@router.put(
    "/{name}/aliases/{alias}/protection",
    response_model=Alias,
    operation_id="protectModelAlias",
    summary="Protect an alias, or lift its protection (deployer or admin)",
)
async def protect_alias(
    name: Name, alias: AliasPath, body: Annotated[AliasProtection, Body()], reg: RegistryDep
) -> Any:
    return await run_in_threadpool(reg.protect_alias, name, alias, body)


@router.get(
    "/{name}/history",
    response_model=list[AliasEvent],
    operation_id="getModelAliasHistory",
    summary="Every change of a model's aliases (or of one), newest first",
)
async def alias_history(
    name: Name,
    reg: RegistryDep,
    alias: Annotated[str | None, Query(max_length=limits.MAX_NAME)] = None,
    limit: Limit = limits.DEFAULT_PAGE_SIZE,
) -> Any:
    return await run_in_threadpool(reg.alias_history, name, alias=alias, limit=limit)


@artifacts_router.get(
    "/{artifact_id}/versions",
    response_model=list[ModelVersion],
    operation_id="listArtifactModelVersions",
    summary="The model versions an artifact is registered as, with their aliases",
    description="In every model, by model name, the newest version first; an empty list for "
    "an artifact registered nowhere.",
)
async def artifact_versions(
    artifact_id: Annotated[uuid.UUID, Path(description="the artifact's id")],
    reg: RegistryDep,
    metrics: Annotated[bool, Query(description="with each version's metrics")] = False,
) -> Any:
    return await run_in_threadpool(reg.versions_of_artifact, artifact_id, metrics=metrics)
