"""``/api/2.0/mlflow-artifacts/...``: MLflow's artifact proxy over the file store.

Files go up whole (``PUT artifacts/{path}``) or, when large and the server says it takes them
so (``/api/3.0/mlflow/server-info``, unless ``MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD`` says
otherwise), in parts: ``mpu/create`` answers one URL per part,
the client PUTs each part to its URL, then ``mpu/complete`` puts them together into the file
(or ``mpu/abort`` drops them). MLflow's S3 store hands out presigned S3 URLs; here the URLs
point back at this server (``mpu/part``), where the parts go to the file store's multipart
upload.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from modeltrail.domain.files import UploadCreate
from modeltrail.integrations.mlflow import artifacts, params
from modeltrail.integrations.mlflow.errors import invalid
from modeltrail.server.deps import MetadataDep, content_length, receive_into, streams_body
from modeltrail.services.files import MAX_PARTS
from modeltrail.services.metadata import Metadata

PREFIX = "/api/2.0/mlflow-artifacts"
# Uploads, whole or in parts, are files of any type, streamed to the file store (``transport``).
STREAMED_BODIES = r"^/api/2\.0/mlflow-artifacts/(artifacts|mpu/part)/"

router = APIRouter(include_in_schema=False)
# The routes a token with grants on single experiments may call: each checks the run whose
# files it names (``artifacts.check_access``).
SCOPED_ROUTES = frozenset(
    (method, PREFIX + path)
    for method, path in (
        ("GET", "/artifacts"),
        ("GET", "/artifacts/{path:filepath}"),
        ("PUT", "/artifacts/{path:filepath}"),
        ("DELETE", "/artifacts/{path:filepath}"),
        ("POST", "/mpu/create/{path:filepath}"),
        ("PUT", "/mpu/part/{path:filepath}"),
        ("POST", "/mpu/complete/{path:filepath}"),
        ("POST", "/mpu/abort/{path:filepath}"),
    )
)


async def _check_access(meta: Metadata, place: artifacts.Place, *, write: bool) -> None:
    """Refuse the place to a token with grants unless it may read (``write``: change) its
    run; an unscoped request goes on without a trip to a thread."""
    if meta.scope is not None:
        await run_in_threadpool(artifacts.check_access, meta, place, write=write)


@router.get(PREFIX + "/artifacts")
async def list_proxied(request: Request, meta: MetadataDep) -> JSONResponse:
    path = request.query_params.get("path") or ""
    place = artifacts.locate(path) if path else None
    if place is not None:
        await _check_access(meta, place, write=False)
    files = [] if place is None else await run_in_threadpool(artifacts.list_dir, meta, place)
    return JSONResponse({"files": files} if files else {})


@router.put(PREFIX + "/artifacts/{path:filepath}")
@streams_body
async def upload(path: str, request: Request, meta: MetadataDep) -> JSONResponse:
    place = artifacts.locate(path)
    await _check_access(meta, place, write=True)
    await run_in_threadpool(artifacts.prepare_upload, meta, place)
    pending = await run_in_threadpool(
        meta.files.begin_put, meta, place.artifact, place.path, length=content_length(request)
    )
    await receive_into(request, pending)
    await run_in_threadpool(pending.finish)
    return JSONResponse({})


@router.get(PREFIX + "/artifacts/{path:filepath}")
async def download(path: str, meta: MetadataDep) -> StreamingResponse:
    place = artifacts.locate(path)
    await _check_access(meta, place, write=False)
    opened = await run_in_threadpool(artifacts.open_file, meta, place)
    return StreamingResponse(
        opened.chunks,
        headers={"Content-Length": str(opened.file.size)},
        media_type="application/octet-stream",
    )


@router.delete(PREFIX + "/artifacts/{path:filepath}")
async def delete(path: str, meta: MetadataDep) -> JSONResponse:
    """MLflow's ``delete_artifacts``: a file, or a folder with all it holds; nothing to
    delete is no error, as in MLflow's artifact stores."""
    place = artifacts.locate(path)
    await _check_access(meta, place, write=True)
    if await run_in_threadpool(artifacts.exists, meta, place):
        await run_in_threadpool(meta.files.delete_tree, meta, place.artifact, place.path)
    return JSONResponse({})


# ---------------------------------------------------------------- multipart uploads


@router.post(PREFIX + "/mpu/create/{path:filepath}")
async def create_multipart_upload(path: str, request: Request, meta: MetadataDep) -> JSONResponse:
    """Start the upload of the file ``path`` (a folder) / base name of the body's ``path``,
    with one URL for each of ``num_parts`` parts."""
    sent = await params.sent(request)
    place = artifacts.multipart_place(path, sent.get("path"))
    parts = params.integer(sent, "num_parts", 1, high=MAX_PARTS)
    await _check_access(meta, place, write=True)
    await run_in_threadpool(artifacts.prepare_upload, meta, place)
    made = await run_in_threadpool(
        meta.files.create_upload, meta, place.artifact, UploadCreate(path=place.path)
    )
    folder = artifacts.check(path)
    url = f"{str(request.base_url).rstrip('/')}{PREFIX}/mpu/part/{quote(folder)}/"
    url += quote(place.path.rpartition("/")[2])
    # MLflow's client sends a part with the headers it is given and nothing else: a server
    # that asks for a token gets the one this request came with.
    headers = {}
    if "authorization" in request.headers:
        headers["Authorization"] = request.headers["authorization"]
    credentials = [
        {
            "url": f"{url}?{urlencode({'upload_id': made.id, 'part_number': n})}",
            "part_number": n,
            "headers": headers,
        }
        for n in range(1, parts + 1)
    ]
    return JSONResponse({"upload_id": made.id, "credentials": credentials})


@router.put(PREFIX + "/mpu/part/{path:filepath}")
@streams_body
async def upload_part(path: str, request: Request, meta: MetadataDep) -> JSONResponse:
    """One part of a multipart upload, at the URL ``mpu/create`` answered for it."""
    query = dict(request.query_params)
    upload_id = params.string(query, "upload_id", required=True)
    number = _part_number(query, "part_number")
    place = artifacts.locate(path)
    assert upload_id is not None
    await _check_access(meta, place, write=True)
    await run_in_threadpool(artifacts.check_upload, meta, place, upload_id)
    pending = await run_in_threadpool(
        meta.files.begin_part,
        meta,
        place.artifact,
        upload_id,
        number,
        length=content_length(request),
    )
    await receive_into(request, pending)
    part = await run_in_threadpool(pending.finish)
    return JSONResponse({}, headers={"ETag": f'"{part.number}-{part.size}"'})


@router.post(PREFIX + "/mpu/complete/{path:filepath}")
async def complete_multipart_upload(path: str, request: Request, meta: MetadataDep) -> JSONResponse:
    """Put the parts the body lists together into the file, and record it."""
    sent, place, upload_id = await _upload_of(path, request, meta)
    if "parts" not in sent:
        raise invalid("Missing value for required parameter 'parts'.")
    numbers = []
    for i, part in enumerate(params.listed(sent, "parts")):
        if not isinstance(part, dict):
            raise invalid(f"Invalid value for parameter 'parts[{i}]': a {{part_number, etag}}")
        numbers.append(_part_number(part, f"parts[{i}].part_number", key="part_number"))
    await run_in_threadpool(artifacts.check_upload, meta, place, upload_id)
    await run_in_threadpool(
        meta.files.complete_upload, meta, place.artifact, upload_id, parts=numbers
    )
    return JSONResponse({})


@router.post(PREFIX + "/mpu/abort/{path:filepath}")
async def abort_multipart_upload(path: str, request: Request, meta: MetadataDep) -> JSONResponse:
    """Drop an upload and the parts it received."""
    _, place, upload_id = await _upload_of(path, request, meta)
    await run_in_threadpool(artifacts.check_upload, meta, place, upload_id)
    await run_in_threadpool(meta.files.abort_upload, meta, place.artifact, upload_id)
    return JSONResponse({})


async def _upload_of(
    path: str, request: Request, meta: Metadata
) -> tuple[dict[str, Any], artifacts.Place, str]:
    """The body of a ``complete`` or ``abort``, where its file lands (refused to a token that
    may not write it), and the upload it names."""
    sent = await params.sent(request)
    place = artifacts.multipart_place(path, sent.get("path"))
    await _check_access(meta, place, write=True)
    upload_id = params.string(sent, "upload_id", required=True)
    assert upload_id is not None
    return sent, place, upload_id


def _part_number(sent: dict[str, Any], name: str, *, key: str | None = None) -> int:
    value = sent.get(key or name)
    if value in (None, ""):
        raise invalid(f"Missing value for required parameter '{name}'.")
    return params.integer({name: value}, name, 1, high=MAX_PARTS)
