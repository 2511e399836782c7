"""The artifact-kind registry over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from modeltrail.domain.models import Kind, KindCreate
from modeltrail.server.deps import MetadataDep
from modeltrail.services import kinds

router = APIRouter(prefix="/kinds", tags=["Kinds"])
KindName = Annotated[str, Path(max_length=256)]
KindVersion = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post(
    "",
    response_model=Kind,
    status_code=status.HTTP_201_CREATED,
    operation_id="registerKind",
    summary="Register a kind or a new version of it",
    description="A new version may only add optional attributes or relax constraints; any other "
    "change is refused with 422 naming the change. Registering the current schema again is a "
    "no-op (200).",
    responses={200: {"description": "the same schema was already the latest version"}},
)
def register(body: KindCreate, meta: MetadataDep, response: Response) -> Kind:
    kind, created = meta.call(kinds.register_kind, body)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return kind


@router.get("", response_model=list[Kind], operation_id="listKinds", summary="List kinds")
def list_(
    meta: MetadataDep,
    all_versions: Annotated[bool, Query(alias="allVersions")] = False,
) -> list[Kind]:
    return meta.query(kinds.list_kinds, all_versions=all_versions)


@router.get(
    "/{name}", response_model=Kind, operation_id="getKind", summary="Latest version of a kind"
)
def read(name: KindName, meta: MetadataDep) -> Kind:
    return meta.query(kinds.read_kind, name)


@router.get(
    "/{name}/versions/{version}",
    response_model=Kind,
    operation_id="getKindVersion",
    summary="One version of a kind",
)
def read_version(name: KindName, version: KindVersion, meta: MetadataDep) -> Kind:
    return meta.query(kinds.read_kind, name, version)


@router.delete(
    "/{name}/versions/{version}",
    status_code=204,
    operation_id="deleteKindVersion",
    summary="Delete an unused version of a kind",
)
def delete(name: KindName, version: KindVersion, meta: MetadataDep) -> Response:
    meta.call(kinds.delete_kind_version, name, version)
    return Response(status_code=204)
