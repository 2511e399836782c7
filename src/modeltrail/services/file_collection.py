"""The collection of what the file store holds and no artifact's file needs any more: content
no file records, uploads started and never completed, and staged leftovers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from modeltrail.services.files import CLAIM_LEASE, FileService
from modeltrail.store.files import catalog

# Content younger than this is never collected: an upload under way has put its bytes in
# place (or found them there, and made them young again) and is about to record them.
GC_GRACE = timedelta(hours=1)
# An upload not completed this long after it started is abandoned: it is aborted and
# its parts removed. Staged leftovers go at the same age, not at ``GC_GRACE``: object
# storage dates a multipart upload, and the object it becomes, by when it started, so a
# large upload still under way can look older than the grace period.
UPLOAD_MAX_AGE = timedelta(hours=24)


@dataclass
class Collected:
    """What ``collect_garbage`` found (and removed unless it was a dry run)."""

    dry_run: bool
    blobs: list[tuple[str, int]] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    # Uploads started (``POST .../uploads``) and never completed nor aborted, by id.
    abandoned: list[str] = field(default_factory=list)
    kept: int = 0

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.blobs)


def collect_garbage(
    files: FileService,
    meta: Any,
    *,
    dry_run: bool = True,
    grace: timedelta = GC_GRACE,
    uploads_older_than: timedelta = UPLOAD_MAX_AGE,
) -> Collected:
    """Find (and unless ``dry_run`` remove) content that no artifact's file holds, older
    than ``grace``; uploads started more than ``uploads_older_than`` ago and never
    completed (aborted, their parts removed), and the file store's staged leftovers of
    that age. Content an artifact still holds is never removed, whatever its age:
    lineage may need it."""
    now = datetime.now(UTC)
    cutoff = now - grace
    upload_cutoff = now - uploads_older_than
    report = Collected(dry_run=dry_run)
    batch: list[tuple[str, int]] = []

    def sweep() -> None:
        held = meta.query(catalog.referenced, sha256s=[s for s, _ in batch])
        for sha256, size in batch:
            # Looked at again after the database said nothing holds it: an upload that
            # found this content in place made it young before recording it.
            modified = None if sha256 in held else files.blobs.modified(sha256)
            if modified is None or modified > cutoff:
                report.kept += 1
                continue
            report.blobs.append((sha256, size))
            if not dry_run:
                files.blobs.delete(sha256)
        batch.clear()

    for blob in files.blobs.blobs():
        if blob.modified > cutoff:
            report.kept += 1
            continue
        batch.append((blob.sha256, blob.size))
        if len(batch) >= 500:
            sweep()
    sweep()
    stale = now - CLAIM_LEASE
    for row in meta.query(catalog.uploads_started_before, before=upload_cutoff, stale_before=stale):
        # Claimed first, so that an upload a request is completing right now is left alone.
        if dry_run or files.drop_upload(meta, row):
            report.abandoned.append(row.id)
    live = meta.query(catalog.upload_handles)
    for handle, started in files.blobs.uploads():
        if handle in live or started > upload_cutoff:
            continue
        report.leftovers.append(handle)
        if not dry_run:
            files.blobs.remove_leftover(handle)
    return report
