"""Which file of which artifact holds which content: rows of ``artifact_files``, and the
multipart uploads under way (``file_uploads``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from modeltrail.store.tables import ArtifactFileRow, ArtifactRow, FileUploadRow, utcnow


def artifact_exists(session: Session, *, artifact_id: uuid.UUID) -> bool:
    found = session.execute(select(ArtifactRow.id).where(ArtifactRow.id == artifact_id))
    return found.first() is not None


def read_file(session: Session, *, artifact_id: uuid.UUID, path: str) -> ArtifactFileRow | None:
    return session.get(ArtifactFileRow, (artifact_id, path))


def put_file(
    session: Session, *, artifact_id: uuid.UUID, path: str, sha256: str, size: int
) -> ArtifactFileRow:
    """Map ``path`` of the artifact to the content ``sha256`` (replacing what it held)."""
    row = session.get(ArtifactFileRow, (artifact_id, path))
    if row is None:
        row = ArtifactFileRow(artifact_id=artifact_id, path=path, sha256=sha256, size=size)
        session.add(row)
    else:
        row.sha256, row.size, row.create_time = sha256, size, utcnow()
    session.flush()
    return row


def list_files(
    session: Session, *, artifact_id: uuid.UUID, prefix: str = ""
) -> list[ArtifactFileRow]:
    query = select(ArtifactFileRow).where(ArtifactFileRow.artifact_id == artifact_id)
    if prefix:
        # A folder's files: ``prefix/...``, compared by range so that no LIKE escapes matter.
        query = query.where(
            ArtifactFileRow.path > prefix + "/", ArtifactFileRow.path < prefix + "0"
        )
    return list(session.scalars(query.order_by(ArtifactFileRow.path)))


def delete_file(session: Session, *, artifact_id: uuid.UUID, path: str) -> bool:
    done = session.execute(
        delete(ArtifactFileRow).where(
            ArtifactFileRow.artifact_id == artifact_id, ArtifactFileRow.path == path
        )
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def referenced(session: Session, *, sha256s: Iterable[str]) -> set[str]:
    """Of ``sha256s``, those some artifact's file holds."""
    wanted = list(sha256s)
    found: set[str] = set()
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        found |= set(
            session.scalars(
                select(ArtifactFileRow.sha256).where(ArtifactFileRow.sha256.in_(chunk)).distinct()
            )
        )
    return found


def files_of(session: Session, *, artifact_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The sha256s each artifact's files hold (an artifact without files is left out)."""
    ids = list(artifact_ids)
    found: dict[uuid.UUID, list[str]] = {}
    for i in range(0, len(ids), 500):
        rows = session.execute(
            select(ArtifactFileRow.artifact_id, ArtifactFileRow.sha256).where(
                ArtifactFileRow.artifact_id.in_(ids[i : i + 500])
            )
        )
        for artifact_id, sha256 in rows:
            found.setdefault(artifact_id, []).append(sha256)
    return found


def create_upload(session: Session, *, row: FileUploadRow) -> FileUploadRow:
    session.add(row)
    session.flush()
    return row


def read_upload(
    session: Session, *, artifact_id: uuid.UUID, upload_id: str
) -> FileUploadRow | None:
    row = session.get(FileUploadRow, upload_id)
    return row if row is not None and row.artifact_id == artifact_id else None


def claim_upload(session: Session, *, upload_id: str, stale_before: datetime) -> bool:
    """Claim the upload for the one request that completes or aborts it: whether this
    request won. One conditional UPDATE decides (PostgreSQL re-checks its condition after
    waiting for a concurrent claim's commit; SQLite runs one writer at a time). A claim made
    before ``stale_before`` is that of a request that died and is taken over."""
    claimed = session.execute(
        update(FileUploadRow)
        .where(
            FileUploadRow.id == upload_id,
            or_(FileUploadRow.claim_time.is_(None), FileUploadRow.claim_time < stale_before),
        )
        .values(claim_time=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def release_upload(session: Session, *, upload_id: str) -> None:
    """Give the claim up: the upload is open again (its completion failed and can be
    retried)."""
    session.execute(
        update(FileUploadRow)
        .where(FileUploadRow.id == upload_id)
        .values(claim_time=None)
        .execution_options(synchronize_session=False)
    )


def delete_upload(session: Session, *, upload_id: str) -> None:
    session.execute(delete(FileUploadRow).where(FileUploadRow.id == upload_id))


def uploads_started_before(
    session: Session, *, before: datetime, stale_before: datetime
) -> list[FileUploadRow]:
    """Uploads under way that were started before ``before``, oldest first, but for those a
    request claimed since ``stale_before`` (being completed)."""
    return list(
        session.scalars(
            select(FileUploadRow)
            .where(
                FileUploadRow.create_time < before,
                or_(FileUploadRow.claim_time.is_(None), FileUploadRow.claim_time < stale_before),
            )
            .order_by(FileUploadRow.create_time)
        )
    )


def upload_handles(session: Session) -> set[str]:
    return set(session.scalars(select(FileUploadRow.handle)))
