"""The files of an artifact: ``/api/v1/artifacts/{id}/files/{path}`` and multipart uploads.

Bodies stream both ways: an upload is handed to the file store a buffer at a time as it
arrives (``streams_body``: the transport neither reads it whole nor asks it to be JSON), and
a download is read from the file store a chunk at a time as the client takes it. Neither
holds a whole file in memory.
"""

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from modeltrail.domain.errors import RangeNotSatisfiable
from modeltrail.domain.files import (
    MAX_PATH,
    ArtifactFile,
    ArtifactFiles,
    Presigned,
    Upload,
    UploadCreate,
    UploadPart,
)
from modeltrail.server.deps import MetadataDep, content_length, receive_into, streams_body
from modeltrail.server.transport import HEAD_KEY

router = APIRouter(prefix="/artifacts/{artifact_id}", tags=["Files"])

ArtifactId = Annotated[uuid.UUID, Path(description="the artifact's id")]
FilePath = Annotated[
    str,
    Path(
        description="the file's path within the artifact (`model.joblib`, `data/train.csv`)",
        max_length=MAX_PATH,
    ),
]
Sha256 = Annotated[
    str | None,
    Query(description="the file's sha256: content that has another is refused (422)"),
]
Size = Annotated[
    int | None, Query(ge=0, description="the file's size in bytes: another size is refused")
]


def _attachment(name: str) -> str:
    """``Content-Disposition`` for a file name of any characters (RFC 6266): an ASCII name
    for old clients, the name itself percent-encoded in UTF-8 for the others."""
    plain = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in name)
    if plain == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def _file_headers(found: ArtifactFile) -> dict[str, str]:
    return {"ETag": f'"{found.sha256}"', "X-Content-SHA256": found.sha256}


@router.get(
    "/files",
    response_model=ArtifactFiles,
    response_model_exclude_none=True,
    operation_id="listArtifactFiles",
    summary="List an artifact's files with their sizes and sha256",
)
async def list_files(
    artifact_id: ArtifactId,
    meta: MetadataDep,
    prefix: Annotated[
        str | None, Query(description="only the files in this folder", max_length=MAX_PATH)
    ] = None,
    verify: Annotated[
        bool, Query(description="also check that each file's content is in the file store")
    ] = False,
) -> Any:
    return await run_in_threadpool(
        meta.files.list_files, meta, artifact_id, prefix=prefix, verify=verify
    )


@router.put(
    "/files/{path:filepath}",
    response_model=ArtifactFile,
    status_code=status.HTTP_201_CREATED,
    operation_id="putArtifactFile",
    summary="Upload a file of an artifact (the body is the file's bytes, of any type)",
    description="The body is streamed into the file store; the file is recorded only once it "
    "is whole. A file already at the path is replaced. Content is stored once per sha256, "
    "whichever artifacts hold it.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    },
)
@streams_body
async def put_file(
    artifact_id: ArtifactId,
    path: FilePath,
    request: Request,
    meta: MetadataDep,
    sha256: Sha256 = None,
    size: Size = None,
) -> Any:
    files = meta.files
    pending = await run_in_threadpool(
        files.begin_put,
        meta,
        artifact_id,
        path,
        sha256=sha256,
        size=size,
        length=content_length(request),
    )
    await receive_into(request, pending)
    stored: ArtifactFile = await run_in_threadpool(pending.finish)
    headers = {**_file_headers(stored), "Location": quote(request.url.path)}
    return Response(
        stored.model_dump_json(by_alias=True),
        status_code=status.HTTP_201_CREATED,
        media_type="application/json",
        headers=headers,
    )


@router.get(
    "/files/{path:filepath}",
    operation_id="getArtifactFile",
    summary="Download a file of an artifact (a byte range with `Range`)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "the file"},
        206: {"content": {"application/octet-stream": {}}, "description": "the range asked for"},
    },
)
async def get_file(artifact_id: ArtifactId, path: FilePath, request: Request, meta: MetadataDep):  # type: ignore[no-untyped-def]
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    files = meta.files
    if request.scope.get(HEAD_KEY):
        found = await run_in_threadpool(files.stat, meta, artifact_id, path)
        headers = {
            **_file_headers(found),
            "Accept-Ranges": "bytes",
            "Content-Length": str(found.size),
            "Content-Type": "application/octet-stream",
        }
        return Response(status_code=status.HTTP_200_OK, headers=headers)
    try:
        opened = await run_in_threadpool(files.open, meta, artifact_id, path, range_header=wanted)
    except RangeNotSatisfiable as exc:
        exc.headers = {"Content-Range": f"bytes */{exc.extra.get('size', 0)}"}  # type: ignore[attr-defined]
        raise
    found = opened.file
    if opened.range is not None and if_range is not None and if_range != f'"{found.sha256}"':
        # The client's copy is of other content: it gets the whole file instead.
        opened.close()
        opened = await run_in_threadpool(files.open, meta, artifact_id, path)
    headers = {
        **_file_headers(found),
        "Accept-Ranges": "bytes",
        # Never rendered by a browser on the UI's origin, whatever the file holds.
        "Content-Disposition": _attachment(found.path.rsplit("/", 1)[-1]),
        "X-Content-Type-Options": "nosniff",
    }
    code = status.HTTP_200_OK
    length = found.size
    if opened.range is not None:
        code = status.HTTP_206_PARTIAL_CONTENT
        headers["Content-Range"] = opened.range.content_range()
        length = opened.range.length
    headers["Content-Length"] = str(length)
    return StreamingResponse(
        opened.chunks, status_code=code, headers=headers, media_type="application/octet-stream"
    )


@router.delete(
    "/files/{path:filepath}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="deleteArtifactFile",
    summary="Remove a file from an artifact",
    description="Its content stays in the file store while any artifact holds it; "
    "`modeltrail gc` removes what nothing holds.",
)
async def delete_file(artifact_id: ArtifactId, path: FilePath, meta: MetadataDep) -> Response:
    await run_in_threadpool(meta.files.delete, meta, artifact_id, path)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/links/{path:filepath}",
    response_model=Presigned,
    operation_id="getArtifactFileLink",
    summary="A presigned URL that downloads a file from object storage directly",
)
async def link(
    artifact_id: ArtifactId,
    path: FilePath,
    meta: MetadataDep,
    expires_in: Annotated[int, Query(alias="expiresIn", ge=1, le=7 * 24 * 3600)] = 3600,
) -> Any:
    return await run_in_threadpool(
        meta.files.presign, meta, artifact_id, path, expires_in=expires_in
    )


# ---------------------------------------------------------------- multipart uploads

UploadId = Annotated[str, Path(description="the upload's id", max_length=64)]


class UploadComplete(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parts: list[int] | None = None


@router.post(
    "/uploads",
    response_model=Upload,
    status_code=status.HTTP_201_CREATED,
    operation_id="createUpload",
    summary="Start a multipart (resumable) upload of a large file",
    description="Send the parts with `PUT .../uploads/{uploadId}/parts/{n}` (again after a "
    "failure: `GET .../uploads/{uploadId}` lists those received), then complete it. With "
    "`direct` (object storage), the answer holds a presigned URL to PUT the whole file to.",
)
async def create_upload(
    artifact_id: ArtifactId, body: Annotated[UploadCreate, Body()], meta: MetadataDep
) -> Any:
    return await run_in_threadpool(meta.files.create_upload, meta, artifact_id, body)


@router.get(
    "/uploads/{upload_id}",
    response_model=Upload,
    operation_id="getUpload",
    summary="An upload under way, with the parts received",
)
async def read_upload(artifact_id: ArtifactId, upload_id: UploadId, meta: MetadataDep) -> Any:
    return await run_in_threadpool(meta.files.read_upload, meta, artifact_id, upload_id)


@router.put(
    "/uploads/{upload_id}/parts/{number}",
    response_model=UploadPart,
    operation_id="putUploadPart",
    summary="Send one part of a multipart upload (again, to replace it)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    },
)
@streams_body
async def put_part(
    artifact_id: ArtifactId,
    upload_id: UploadId,
    number: Annotated[int, Path(description="1, 2, ...")],
    request: Request,
    meta: MetadataDep,
) -> Any:
    pending = await run_in_threadpool(
        meta.files.begin_part, meta, artifact_id, upload_id, number, length=content_length(request)
    )
    await receive_into(request, pending)
    return await run_in_threadpool(pending.finish)


@router.post(
    "/uploads/{upload_id}/complete",
    response_model=ArtifactFile,
    status_code=status.HTTP_201_CREATED,
    operation_id="completeUpload",
    summary="Put the parts together into the file and record it",
)
async def complete_upload(
    artifact_id: ArtifactId,
    upload_id: UploadId,
    meta: MetadataDep,
    body: Annotated[UploadComplete | None, Body()] = None,
) -> Any:
    parts = body.parts if body is not None else None
    return await run_in_threadpool(
        meta.files.complete_upload, meta, artifact_id, upload_id, parts=parts
    )


@router.delete(
    "/uploads/{upload_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="abortUpload",
    summary="Abandon an upload and the parts it received",
)
async def abort_upload(artifact_id: ArtifactId, upload_id: UploadId, meta: MetadataDep) -> Response:
    await run_in_threadpool(meta.files.abort_upload, meta, artifact_id, upload_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
