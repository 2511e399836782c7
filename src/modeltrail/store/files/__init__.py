"""Where artifact files' bytes live: a local directory or object storage, by sha256.

``open_blob_store`` picks the backend from a root: a path (or ``file://``) is a directory,
``s3://bucket/prefix`` an S3 or S3-compatible bucket. ``catalog`` maps an artifact's paths to
sha256s in the database.
"""

from __future__ import annotations

from pathlib import Path

from modeltrail.domain.errors import InvalidInput
from modeltrail.store.files.blobs import BlobStore, Staged
from modeltrail.store.files.local import LocalBlobStore


def open_blob_store(root: str | Path) -> BlobStore:
    """The blob store at ``root``: a directory (made if missing) or ``s3://BUCKET/PREFIX``."""
    text = str(root)
    if text.startswith("s3://"):
        from modeltrail.store.files.s3 import S3BlobStore

        return S3BlobStore.from_url(text)
    if "://" in text and not text.startswith("file://"):
        scheme = text.split("://", 1)[0]
        raise InvalidInput(
            f"'{scheme}://' is not a file store modeltrail can use: give a directory or "
            "s3://BUCKET/PREFIX (S3 or an S3-compatible store)"
        )
    return LocalBlobStore(Path(text.removeprefix("file://")))


def default_root(database_file: Path) -> Path:
    """The directory next to an SQLite file that holds its artifacts' files."""
    return database_file.with_name(database_file.stem + "-artifacts")


__all__ = ["BlobStore", "LocalBlobStore", "Staged", "default_root", "open_blob_store"]
