"""Bytes on their way into or out of the file store: a file or a part of an upload being
received, counted against the server's limit and the size the client declared, and only put in
place (and recorded) when whole and as declared; a file or a range of it being sent."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from modeltrail.domain.errors import HashMismatch, TooLarge
from modeltrail.domain.files import ArtifactFile, ByteRange, UploadPart
from modeltrail.store.files import catalog
from modeltrail.store.files.blobs import CHUNK, BlobWriter, PartWriter
from modeltrail.store.tables import ArtifactFileRow


def artifact_file(row: ArtifactFileRow) -> ArtifactFile:
    """The file a catalog row records."""
    return ArtifactFile(
        path=row.path, size=row.size, sha256=row.sha256, create_time=row.create_time
    )


def length_mismatch(declared: int, got: int) -> HashMismatch:
    """The refusal of bytes that are not as many as were declared."""
    return HashMismatch(
        f"the file was declared as {declared} bytes but {got} arrived; nothing was stored",
        errors=[{"pointer": "/size", "detail": f"declared {declared}, received {got}"}],
    )


@dataclass
class Receiving:
    """Bytes being received, counted against a limit and a declared size as they come."""

    staged: BlobWriter | PartWriter
    limit: int
    size: int | None = None
    received: int = 0
    done: bool = False

    def write(self, data: bytes) -> None:
        self.received += len(data)
        if self.received > self.limit:
            self.abort()
            raise TooLarge(
                f"the file is larger than this server's limit of {self.limit} bytes; "
                "nothing was stored"
            )
        if self.size is not None and self.received > self.size:
            self.abort()
            raise length_mismatch(self.size, self.received)
        self.staged.write(data)

    def write_each(self, chunks: Iterable[bytes]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def abort(self) -> None:
        if not self.done:
            self.done = True
            self.staged.abort()


@dataclass
class PendingPart(Receiving):
    """A part of a multipart upload being received; ``finish`` puts it in place."""

    number: int = 0

    def finish(self) -> UploadPart:
        try:
            self.staged.commit()
            self.done = True
        except BaseException:
            self.abort()
            raise
        return UploadPart(number=self.number, size=self.received)


@dataclass
class PendingPut(Receiving):
    """A file being received: written to the blob store's staging place and hashed as it
    comes. ``finish`` records it; anything else (``abort``, an error) leaves nothing."""

    meta: Any = None
    artifact_id: uuid.UUID | None = None
    path: str = ""
    sha256: str | None = None

    def finish(self) -> ArtifactFile:
        try:
            staged = self.staged
            if self.size is not None and self.received != self.size:
                raise length_mismatch(self.size, self.received)
            digest = getattr(staged, "sha256", None)
            if self.sha256 is not None and digest is not None and digest != self.sha256:
                raise HashMismatch(
                    f"the file's sha256 is {digest}, not the {self.sha256} it was declared "
                    "with; nothing was stored",
                    errors=[{"pointer": "/sha256", "detail": f"the content's sha256 is {digest}"}],
                )
            staged.commit()
            self.done = True
        except BaseException:
            self.abort()
            raise
        assert digest is not None
        row = self.meta.call(
            catalog.put_file,
            artifact_id=self.artifact_id,
            path=self.path,
            sha256=digest,
            size=self.received,
        )
        return artifact_file(row)


@dataclass
class Opened:
    """A file to send: what it is, the range asked for (None: all of it), its bytes."""

    file: ArtifactFile
    range: ByteRange | None
    chunks: Iterator[bytes]

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


def chunks_of(source: BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    """The chunks of ``source``: read from a binary file, or as they are."""
    read = getattr(source, "read", None)
    if read is None:
        yield from source
        return
    while chunk := read(CHUNK):
        yield chunk
