"""Blobs in a local directory: ``blobs/ab/<sha256>``, staged in ``tmp/``, parts in
``uploads/<handle>/``.

A blob is written to a file in ``tmp/`` (on the same file system, so that moving it is a
rename), flushed to disk, and renamed to its sha256's name: the rename is atomic, so a reader
sees the whole blob or none.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from modeltrail.domain.errors import InvalidInput, NotFound
from modeltrail.store.files.blobs import CHUNK, BlobInfo, Hasher, slices

# Written bytes are handed to the disk every so many of them while more arrive, as
# PostgreSQL's ``*_flush_after`` settings do: the fsync that ends a write then waits for the
# last few, not for the whole file.
WRITEBACK_BYTES = 8 << 20
# ``sync_file_range``'s flag: start writing the range back, wait for nothing.
_SYNC_FILE_RANGE_WRITE = 2


def _find_writeback() -> Callable[[int, int, int], object] | None:
    """Linux's ``sync_file_range`` (which Python's ``os`` does not offer), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    call.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    call.restype = ctypes.c_int
    return lambda fd, offset, length: call(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


_start_writeback = _find_writeback()


class Writeback:
    """Starts the disk on what has been written to a file, a few MiB at a time, without
    waiting for it (a hint: a failure is the final fsync's to report)."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._written = 0
        self._started = 0

    def wrote(self, size: int) -> None:
        self._written += size
        if _start_writeback is None or self._written - self._started < WRITEBACK_BYTES:
            return
        self._file.flush()
        _start_writeback(self._file.fileno(), self._started, self._written - self._started)
        self._started = self._written


class LocalStaged:
    """A file in ``tmp/`` with its hash, written or assembled."""

    def __init__(self, store: LocalBlobStore) -> None:
        self._store = store
        self._path = store.root / "tmp" / uuid.uuid4().hex
        self._file: BinaryIO | None = open(self._path, "xb")  # noqa: SIM115 - closed by commit
        self._hasher = Hasher()
        self._writeback = Writeback(self._file)

    @property
    def sha256(self) -> str:
        return self._hasher.sha256

    @property
    def size(self) -> int:
        return self._hasher.size

    def write(self, data: bytes) -> None:
        assert self._file is not None, "written after commit or abort"
        for piece in slices(data):
            self._file.write(piece)
            self._hasher.update(piece)
        self._writeback.wrote(len(data))

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def commit(self) -> None:
        assert self._file is not None, "committed twice"
        self._file.flush()
        # On disk before it has its name: after a crash a blob's name is never a lie.
        os.fsync(self._file.fileno())
        self._close()
        target = self._store.path_of(self.sha256)
        if target.exists():
            # Stored already: made young again, so that ``gc`` (which removes only old
            # content that nothing holds) leaves it to the upload about to record it.
            with contextlib.suppress(FileNotFoundError):
                os.utime(target)
            if target.exists():
                self._path.unlink(missing_ok=True)
                return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path, target)

    def abort(self) -> None:
        self._close()
        self._path.unlink(missing_ok=True)


class LocalPart:
    """One part of a multipart upload, written beside its final name and renamed at commit
    (a part sent again replaces the earlier one whole, or not at all)."""

    def __init__(self, folder: Path, number: int) -> None:
        self._target = folder / str(number)
        self._path = folder / f"{number}.{uuid.uuid4().hex}.partial"
        self._file: BinaryIO | None = open(self._path, "xb")  # noqa: SIM115 - closed by commit
        self._writeback = Writeback(self._file)
        self.size = 0

    def write(self, data: bytes) -> None:
        assert self._file is not None
        self._file.write(data)
        self.size += len(data)
        self._writeback.wrote(len(data))

    def commit(self) -> None:
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        os.replace(self._path, self._target)

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._path.unlink(missing_ok=True)


class LocalBlobStore:
    kind = "local"
    presigns = False
    part_size = 64 << 20

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        for folder in ("blobs", "tmp", "uploads"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    def describe(self) -> str:
        return str(self.root)

    def path_of(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256[:2] / sha256

    def writer(self) -> LocalStaged:
        return LocalStaged(self)

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def read(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        try:
            f = open(self.path_of(sha256), "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError:
            raise NotFound(f"the content {sha256} is missing from the file store") from None
        return _chunks(f, start, end)

    def delete(self, sha256: str) -> None:
        self.path_of(sha256).unlink(missing_ok=True)

    def modified(self, sha256: str) -> datetime | None:
        try:
            return datetime.fromtimestamp(self.path_of(sha256).stat().st_mtime, UTC)
        except FileNotFoundError:
            return None

    def blobs(self) -> Iterator[BlobInfo]:
        for folder in sorted((self.root / "blobs").iterdir()):
            for blob in sorted(folder.iterdir()):
                st = blob.stat()
                yield BlobInfo(blob.name, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def presign_get(self, sha256: str, *, expires_in: int, filename: str) -> str:
        raise _no_presigning()

    def start_direct_upload(self) -> str:
        raise _no_presigning()

    def presign_put(self, handle: str, *, expires_in: int, sha256: str, size: int) -> str:
        raise _no_presigning()

    # ---------------------------------------------------------------- multipart uploads

    def _upload(self, handle: str) -> Path:
        folder = self.root / "uploads" / handle
        if not handle.isalnum() or not folder.is_dir():
            raise NotFound(f"there is no upload {handle!r} in the file store")
        return folder

    def start_upload(self) -> str:
        handle = uuid.uuid4().hex
        (self.root / "uploads" / handle).mkdir()
        return handle

    def part_writer(self, handle: str, number: int) -> LocalPart:
        return LocalPart(self._upload(handle), number)

    def parts(self, handle: str) -> dict[int, int]:
        folder = self._upload(handle)
        return {int(p.name): p.stat().st_size for p in folder.iterdir() if p.name.isdigit()}

    def complete_upload(self, handle: str, numbers: list[int]) -> LocalStaged:
        folder = self._upload(handle)
        staged = self.writer()
        try:
            for number in numbers:
                with open(folder / str(number), "rb") as f:
                    while chunk := f.read(CHUNK):
                        staged.write(chunk)
        except BaseException:
            staged.abort()
            raise
        return staged

    def abort_upload(self, handle: str) -> None:
        with contextlib.suppress(NotFound):
            shutil.rmtree(self._upload(handle), ignore_errors=True)

    def uploads(self) -> Iterator[tuple[str, datetime]]:
        for entry in [*(self.root / "uploads").iterdir(), *(self.root / "tmp").iterdir()]:
            started = datetime.fromtimestamp(entry.stat().st_mtime, UTC)
            yield (entry.name if entry.parent.name == "uploads" else f"tmp/{entry.name}"), started

    def remove_leftover(self, handle: str) -> None:
        """Remove an upload or a staged file (``tmp/NAME``) that ``uploads`` listed."""
        if handle.startswith("tmp/"):
            (self.root / "tmp" / handle[4:]).unlink(missing_ok=True)
        else:
            self.abort_upload(handle)


def _chunks(f: BinaryIO, start: int, end: int | None) -> Iterator[bytes]:
    with f:
        f.seek(start)
        left = None if end is None else end - start + 1
        while left is None or left > 0:
            chunk = f.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk


def _no_presigning() -> InvalidInput:
    return InvalidInput(
        "this server keeps files in a local directory: download and upload them through it "
        "(presigned URLs need object storage)",
        errors=[{"pointer": "/direct", "detail": "needs object storage"}],
    )
