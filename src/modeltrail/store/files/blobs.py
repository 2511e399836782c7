"""What every blob store offers: content stored by sha256, written through a staging area.

A blob is written to a staging place first (a temporary file or object) while its sha256 is
computed, and moved under its sha256 only once it is whole (``Staged.commit``): an upload cut
off half-way leaves at most a staged leftover, never a blob, and a blob's name is always the
hash of what it holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

CHUNK = 1 << 20
# Bytes are written and hashed a slice of this size at a time, each slice twice in a row:
# the second pass finds a slice this small still in the CPU's cache, where a whole buffer
# of a few MiB has been pushed out to memory by the first pass (``benchmarks/files.py``).
SLICE = 256 << 10


@dataclass(frozen=True)
class BlobInfo:
    sha256: str
    size: int
    modified: datetime


class Staged(Protocol):
    """Bytes written and hashed, not yet in place."""

    @property
    def sha256(self) -> str: ...

    @property
    def size(self) -> int: ...

    def commit(self) -> None:
        """Put the bytes in place under their sha256 (nothing to do when a blob of that
        sha256 is there already: the content is stored once)."""

    def abort(self) -> None:
        """Remove the staged bytes."""


class BlobWriter(Staged, Protocol):
    def write(self, data: bytes) -> None: ...


class Hasher:
    """The sha256 and size of what went through it."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self.size = 0

    def update(self, data: bytes | memoryview) -> None:
        self._digest.update(data)
        self.size += len(data)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()


def slices(data: bytes) -> Iterator[memoryview]:
    """``data`` in views of at most ``SLICE`` bytes, without copying it."""
    view = memoryview(data)
    for start in range(0, len(view), SLICE):
        yield view[start : start + SLICE]


class PartWriter(Protocol):
    size: int

    def write(self, data: bytes) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class BlobStore(Protocol):
    """Blobs by sha256, and multipart uploads on their way to becoming one."""

    kind: str
    # Whether clients may be handed presigned URLs (object storage).
    presigns: bool
    # The size every part of a multipart upload but the last should have.
    part_size: int

    def describe(self) -> str: ...

    def writer(self) -> BlobWriter: ...

    def exists(self, sha256: str) -> bool: ...

    def read(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes ``start`` to ``end`` (inclusive; None: to the end), in chunks."""
        ...

    def delete(self, sha256: str) -> None: ...

    def modified(self, sha256: str) -> datetime | None:
        """When the blob was stored, or last found in place by an upload of the same
        content (None: there is no such blob)."""
        ...

    def blobs(self) -> Iterator[BlobInfo]: ...

    def presign_get(self, sha256: str, *, expires_in: int, filename: str) -> str: ...

    def start_upload(self) -> str:
        """A new multipart upload's handle."""
        ...

    def part_writer(self, handle: str, number: int) -> PartWriter:
        """A writer of part ``number`` (replacing one sent before, at its commit)."""
        ...

    def parts(self, handle: str) -> dict[int, int]:
        """The parts received so far: number -> size."""
        ...

    def complete_upload(self, handle: str, numbers: list[int]) -> BlobWriter:
        """The parts ``numbers``, in that order, as one staged blob."""
        ...

    def abort_upload(self, handle: str) -> None: ...

    def start_direct_upload(self) -> str:
        """A handle for a whole file uploaded to a presigned URL (object storage only)."""
        ...

    def presign_put(self, handle: str, *, expires_in: int, sha256: str, size: int) -> str: ...

    def uploads(self) -> Iterator[tuple[str, datetime]]:
        """Multipart uploads and staged leftovers: (handle, started)."""
        ...

    def remove_leftover(self, handle: str) -> None:
        """Remove an upload or staged leftover that ``uploads`` listed."""
        ...
