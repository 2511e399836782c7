"""Files of artifacts: put a stream, get a stream (a byte range of it), list, delete, presign,
and multipart uploads (``file_collection`` removes the content nothing holds any more).

``FileService`` joins the blob store (the bytes, by sha256) and the database (which artifact's
path holds which sha256). Every operation first checks the artifact: it must exist, and the
request's token must be allowed to write it (to put or delete) or read it (to get or list).
A file is recorded only once its bytes are whole and in place under their sha256, and a
declared sha256 or size that the bytes do not have is refused with nothing recorded. The bytes on
their way in or out are ``file_transfers``'s.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from modeltrail.domain.errors import (
    Conflict,
    Forbidden,
    HashMismatch,
    InvalidInput,
    NotFound,
    TooLarge,
)
from modeltrail.domain.files import (
    ArtifactFile,
    ArtifactFiles,
    Presigned,
    Upload,
    UploadCreate,
    UploadPart,
    check_path,
    check_prefix,
    check_sha256,
    parse_range,
)
from modeltrail.services import access
from modeltrail.services.file_transfers import (
    Opened,
    PendingPart,
    PendingPut,
    artifact_file,
    chunks_of,
    length_mismatch,
)
from modeltrail.store.database import sqlite_file
from modeltrail.store.files import catalog, default_root, open_blob_store
from modeltrail.store.files.blobs import BlobStore
from modeltrail.store.tables import FileUploadRow

DEFAULT_MAX_FILE_BYTES = 64 << 30
MAX_PARTS = 10_000
# S3's bound on one part; a local store takes the same, so that a client does not care.
MAX_PART_BYTES = 5 << 30
# A claim to complete an upload older than this is that of a request that died (a server
# stopped half way): another request may take it over. Longer than the largest completion
# takes (on S3 the whole file is copied and read back to be hashed).
CLAIM_LEASE = timedelta(hours=1)
# Where a size declared too large was announced: the query's (or the body's) size, the header.
_SIZE = {"pointer": "/size", "in": "query"}
_CONTENT_LENGTH = {"pointer": "/Content-Length", "in": "header"}


def _check_artifact(session: Session, artifact_id: uuid.UUID, write: bool) -> None:
    if not catalog.artifact_exists(session, artifact_id=artifact_id):
        raise NotFound(f"there is no artifact {artifact_id}")
    scope = access.scope_of(session)
    if scope is None:
        return
    if write:
        access.check_artifact(session, artifact_id, {})
    elif not access.can_read_artifact(session, scope, artifact_id):
        raise Forbidden(f"artifact {artifact_id} is of an experiment this token may not read")


class FileService:
    """The files of a store's artifacts, kept in ``blobs``."""

    def __init__(self, blobs: BlobStore, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> None:
        self.blobs = blobs
        self.max_file_bytes = max_file_bytes

    def _too_large(self, announced: int, field: dict[str, str]) -> TooLarge:
        """The refusal of a file declared ``announced`` bytes long in ``field``."""
        return TooLarge(
            f"the file ({announced} bytes) is larger than this server's limit of "
            f"{self.max_file_bytes} bytes",
            errors=[{**field, "detail": f"{announced} bytes is over {self.max_file_bytes}"}],
        )

    def check(self, meta: Any, artifact_id: uuid.UUID, *, write: bool) -> None:
        meta.query(_check_artifact, artifact_id, write)

    # ------------------------------------------------------------ put

    def begin_put(
        self,
        meta: Any,
        artifact_id: uuid.UUID,
        path: str,
        *,
        sha256: str | None = None,
        size: int | None = None,
        length: int | None = None,
    ) -> PendingPut:
        """Start receiving a file. ``sha256`` and ``size`` are what the client declares;
        ``length`` the body's announced length (refused at once when over the limit)."""
        path = check_path(path)
        sha256 = check_sha256(sha256)
        if size is not None and size < 0:
            raise InvalidInput(
                "a size is 0 or more", errors=[{"pointer": "/size", "detail": "negative"}]
            )
        for announced, field in ((length, _CONTENT_LENGTH), (size, _SIZE)):
            if announced is not None and announced > self.max_file_bytes:
                raise self._too_large(announced, field)
        if size is not None and length is not None and size != length:
            raise length_mismatch(size, length)
        self.check(meta, artifact_id, write=True)
        return PendingPut(
            self.blobs.writer(),
            self.max_file_bytes,
            size,
            meta=meta,
            artifact_id=artifact_id,
            path=path,
            sha256=sha256,
        )

    def put(
        self,
        meta: Any,
        artifact_id: uuid.UUID,
        path: str,
        source: BinaryIO | Iterable[bytes],
        *,
        sha256: str | None = None,
        size: int | None = None,
    ) -> ArtifactFile:
        """Store ``source`` (a binary file or chunks) as the artifact's ``path``."""
        pending = self.begin_put(meta, artifact_id, path, sha256=sha256, size=size)
        try:
            for chunk in chunks_of(source):
                pending.write(chunk)
        except BaseException:
            pending.abort()
            raise
        return pending.finish()

    # ------------------------------------------------------------ get, list, delete

    def stat(self, meta: Any, artifact_id: uuid.UUID, path: str) -> ArtifactFile:
        path = check_path(path)
        self.check(meta, artifact_id, write=False)
        row = meta.query(catalog.read_file, artifact_id=artifact_id, path=path)
        if row is None:
            raise NotFound(f"artifact {artifact_id} has no file {path!r}")
        return artifact_file(row)

    def open(
        self, meta: Any, artifact_id: uuid.UUID, path: str, *, range_header: str | None = None
    ) -> Opened:
        """The file's bytes, or the range ``range_header`` asks for."""
        found = self.stat(meta, artifact_id, path)
        wanted = parse_range(range_header, found.size)
        start, end = (wanted.start, wanted.end) if wanted else (0, None)
        return Opened(found, wanted, self.blobs.read(found.sha256, start, end))

    def list_files(
        self,
        meta: Any,
        artifact_id: uuid.UUID,
        *,
        prefix: str | None = None,
        verify: bool = False,
    ) -> ArtifactFiles:
        """The artifact's files (in the folder ``prefix``); with ``verify``, which of them
        have lost their content (a file store restored from an older copy, a bucket emptied)."""
        folder = check_prefix(prefix)
        self.check(meta, artifact_id, write=False)
        rows = meta.query(catalog.list_files, artifact_id=artifact_id, prefix=folder)
        items = [artifact_file(r) for r in rows]
        missing = [f.path for f in items if not self.blobs.exists(f.sha256)] if verify else None
        return ArtifactFiles(items=items, total_size=sum(f.size for f in items), missing=missing)

    def delete(self, meta: Any, artifact_id: uuid.UUID, path: str) -> None:
        """Forget the artifact's file (its content goes with the next ``gc`` once nothing
        else holds it)."""
        path = check_path(path)
        self.check(meta, artifact_id, write=True)
        if not meta.call(catalog.delete_file, artifact_id=artifact_id, path=path):
            raise NotFound(f"artifact {artifact_id} has no file {path!r}")

    def delete_tree(self, meta: Any, artifact_id: uuid.UUID, path: str) -> int:
        """Forget the artifact's file ``path``, or every file in the folder ``path`` (all of
        them when it is empty), in one transaction; how many were forgotten."""
        folder = check_prefix(path)
        self.check(meta, artifact_id, write=True)

        def forget(session: Session) -> int:
            paths = [
                r.path for r in catalog.list_files(session, artifact_id=artifact_id, prefix=folder)
            ]
            if folder:
                paths.append(folder)
            return sum(catalog.delete_file(session, artifact_id=artifact_id, path=p) for p in paths)

        return int(meta.call(forget))

    def presign(
        self, meta: Any, artifact_id: uuid.UUID, path: str, *, expires_in: int = 3600
    ) -> Presigned:
        """A URL that downloads the file from object storage directly, for ``expires_in``
        seconds."""
        found = self.stat(meta, artifact_id, path)
        name = found.path.rsplit("/", 1)[-1]
        url = self.blobs.presign_get(found.sha256, expires_in=expires_in, filename=name)
        return Presigned(url=url, method="GET", expires_in=expires_in)

    def missing(self, meta: Any, artifact_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Of ``artifact_ids``, those with a file whose content is gone from the store."""
        held = meta.query(catalog.files_of, artifact_ids=list(artifact_ids))
        return {a for a, hashes in held.items() if not all(self.blobs.exists(h) for h in hashes)}

    # ------------------------------------------------------------ multipart uploads

    def create_upload(self, meta: Any, artifact_id: uuid.UUID, body: UploadCreate) -> Upload:
        path = check_path(body.path)
        sha256 = check_sha256(body.sha256)
        if body.size is not None and body.size > self.max_file_bytes:
            raise self._too_large(body.size, {"pointer": "/size"})
        self.check(meta, artifact_id, write=True)
        expires_in = 3600
        url = None
        if body.direct:
            if sha256 is None or body.size is None:
                raise InvalidInput(
                    "a direct upload declares the file's sha256 and size",
                    errors=[
                        {
                            "pointer": "/sha256" if sha256 is None else "/size",
                            "detail": "required for a direct upload",
                        }
                    ],
                )
            handle = self.blobs.start_direct_upload()
            url = self.blobs.presign_put(
                handle, expires_in=expires_in, sha256=sha256, size=body.size
            )
        else:
            handle = self.blobs.start_upload()
        row = FileUploadRow(
            id=uuid.uuid4().hex,
            artifact_id=artifact_id,
            path=path,
            sha256=sha256,
            size=body.size,
            handle=handle,
            direct=body.direct,
        )
        try:
            meta.call(catalog.create_upload, row=row)
        except BaseException:
            self.blobs.abort_upload(handle)
            raise
        return Upload(
            id=row.id,
            path=path,
            sha256=sha256,
            size=body.size,
            part_size=self.blobs.part_size,
            url=url,
            expires_in=expires_in if url else None,
        )

    def _upload(self, meta: Any, artifact_id: uuid.UUID, upload_id: str) -> FileUploadRow:
        row = meta.query(catalog.read_upload, artifact_id=artifact_id, upload_id=upload_id)
        if row is None:
            raise NotFound(f"artifact {artifact_id} has no upload {upload_id!r} under way")
        return row  # type: ignore[no-any-return]

    def read_upload(self, meta: Any, artifact_id: uuid.UUID, upload_id: str) -> Upload:
        self.check(meta, artifact_id, write=False)
        row = self._upload(meta, artifact_id, upload_id)
        parts = self.blobs.parts(row.handle)
        return Upload(
            id=row.id,
            path=row.path,
            sha256=row.sha256,
            size=row.size,
            part_size=self.blobs.part_size,
            parts=[UploadPart(number=n, size=s) for n, s in sorted(parts.items())],
        )

    def begin_part(
        self,
        meta: Any,
        artifact_id: uuid.UUID,
        upload_id: str,
        number: int,
        *,
        length: int | None = None,
    ) -> PendingPart:
        if not 1 <= number <= MAX_PARTS:
            raise InvalidInput(
                f"a part's number is 1 to {MAX_PARTS}",
                errors=[{"pointer": "/number", "in": "path", "detail": f"1 to {MAX_PARTS}"}],
            )
        limit = min(MAX_PART_BYTES, self.max_file_bytes)
        if length is not None and length > limit:
            raise TooLarge(
                f"a part is at most {limit} bytes",
                errors=[{**_CONTENT_LENGTH, "detail": f"{length} bytes is over {limit}"}],
            )
        self.check(meta, artifact_id, write=True)
        row = self._upload(meta, artifact_id, upload_id)
        if row.direct:
            raise InvalidInput(
                "this upload goes to its presigned URL, not in parts through the server",
                errors=[{"pointer": "/direct", "detail": "a direct upload"}],
            )
        return PendingPart(self.blobs.part_writer(row.handle, number), limit, number=number)

    def complete_upload(
        self, meta: Any, artifact_id: uuid.UUID, upload_id: str, *, parts: list[int] | None = None
    ) -> ArtifactFile:
        """Put the parts (all received, in order, unless ``parts`` names them) together into
        the file, check its declared sha256 and size, and record it."""
        self.check(meta, artifact_id, write=True)
        row = self._claim(meta, artifact_id, upload_id)
        try:
            return self._complete(meta, row, parts)
        except BaseException:
            # Open again: the parts that were wrong or missing can be sent, and it completed.
            meta.call(catalog.release_upload, upload_id=row.id)
            raise

    def _claim(self, meta: Any, artifact_id: uuid.UUID, upload_id: str) -> FileUploadRow:
        """The upload, claimed for this request alone to complete or abort it."""
        row = self._upload(meta, artifact_id, upload_id)
        if not meta.call(catalog.claim_upload, upload_id=row.id, stale_before=_stale_before()):
            raise Conflict(
                f"upload {upload_id!r} is being completed or abandoned by another request; "
                f"once it is completed its file is at {row.path!r} and the upload is gone",
                errors=[
                    {
                        "pointer": "/uploadId",
                        "in": "path",
                        "detail": "being completed or abandoned by another request",
                    }
                ],
            )
        return row

    def _complete(self, meta: Any, row: FileUploadRow, parts: list[int] | None) -> ArtifactFile:
        received = self.blobs.parts(row.handle)
        numbers = list(range(1, max(received, default=0) + 1)) if parts is None else parts
        if any(b <= a for a, b in itertools.pairwise(numbers)):
            # A local directory would join part 1 to itself; S3 refuses such a list.
            detail = "each part is named once, in ascending order"
            raise InvalidInput(
                f"the upload cannot be completed: {detail}",
                errors=[{"pointer": "/parts", "detail": detail}],
            )
        if not row.direct:
            absent = [n for n in numbers if n not in received]
            if not numbers or absent:
                detail = f"part {absent[0]} was not received" if absent else "no part was received"
                raise InvalidInput(
                    f"the upload cannot be completed: {detail}",
                    errors=[{"pointer": "/parts", "detail": detail}],
                )
            total = sum(received[n] for n in numbers)
            if row.size is not None and total != row.size:
                # Kept: the parts that are wrong can be sent again.
                raise length_mismatch(row.size, total)
            if total > self.max_file_bytes:
                raise TooLarge(
                    f"the parts hold more than the limit of {self.max_file_bytes} bytes",
                    errors=[{"pointer": "/parts", "detail": f"{total} bytes in all"}],
                )
        staged = self.blobs.complete_upload(row.handle, numbers)
        pending = PendingPut(
            staged,
            self.max_file_bytes,
            row.size,
            meta=meta,
            artifact_id=row.artifact_id,
            path=row.path,
            sha256=row.sha256,
        )
        pending.received = staged.size
        try:
            result = pending.finish()
        except HashMismatch:
            # The upload is over either way: its bytes are not what it promised.
            self.drop_upload(meta, row, claimed=True)
            raise
        self.drop_upload(meta, row, claimed=True)
        return result

    def abort_upload(self, meta: Any, artifact_id: uuid.UUID, upload_id: str) -> None:
        """Abandon the upload; refused (409) while another request completes it."""
        self.check(meta, artifact_id, write=True)
        self.drop_upload(meta, self._claim(meta, artifact_id, upload_id), claimed=True)

    def drop_upload(self, meta: Any, row: FileUploadRow, *, claimed: bool = False) -> bool:
        """Abort the upload ``row`` records: its parts removed, its record gone. Unless this
        request holds its claim (``claimed``), it is claimed first; whether it was dropped
        (not when another request is completing it)."""
        if not claimed and not meta.call(
            catalog.claim_upload, upload_id=row.id, stale_before=_stale_before()
        ):
            return False
        self.blobs.abort_upload(row.handle)
        meta.call(catalog.delete_upload, upload_id=row.id)
        return True


def _stale_before() -> datetime:
    return datetime.now(UTC) - CLAIM_LEASE


def default_file_service(
    database_url: str, *, root: str | None = None, max_file_bytes: int | None = None
) -> FileService:
    """The file store of the database at ``database_url``: ``root`` (a directory or
    ``s3://BUCKET/PREFIX``), else ``MODELTRAIL_ARTIFACTS_ROOT``, else the directory next to an
    SQLite file. A PostgreSQL store is shared by servers on several machines: its file store
    is named explicitly."""
    root = root or os.environ.get("MODELTRAIL_ARTIFACTS_ROOT") or None
    if root is None:
        database = sqlite_file(database_url)
        if database is None:
            raise Conflict(
                "this store keeps no files: start its server with --artifacts-root (a shared "
                "directory or s3://BUCKET/PREFIX) or set MODELTRAIL_ARTIFACTS_ROOT"
            )
        root = str(default_root(database.resolve()))
    if max_file_bytes is None:
        max_file_bytes = int(os.environ.get("MODELTRAIL_MAX_FILE_BYTES") or DEFAULT_MAX_FILE_BYTES)
    return FileService(open_blob_store(root), max_file_bytes=max_file_bytes)
