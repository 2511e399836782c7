"""A local file store starts the disk on an upload's bytes while more of them arrive."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from modeltrail.store.files import local
from modeltrail.store.files.local import WRITEBACK_BYTES, LocalBlobStore


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux's")
def test_the_system_call_is_found_on_linux() -> None:
    assert local._start_writeback is not None


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The (offset, length) ranges the store hands to the disk, in order."""
    ranges: list[tuple[int, int]] = []
    monkeypatch.setattr(
        local, "_start_writeback", lambda fd, offset, length: ranges.append((offset, length))
    )
    return ranges


def test_written_ranges_are_handed_to_the_disk_in_order_and_once(
    tmp_path: Path, started: list[tuple[int, int]]
) -> None:
    store = LocalBlobStore(tmp_path)
    staged = store.writer()
    data = os.urandom(WRITEBACK_BYTES // 3 + 5)
    for _ in range(7):
        staged.write(data)
    size = 7 * len(data)
    # Each range starts where the last one ended, once at least WRITEBACK_BYTES are new.
    assert started, "nothing was handed to the disk"
    assert started[0][0] == 0
    for (offset, length), (following, _) in zip(started, started[1:], strict=False):
        assert length >= WRITEBACK_BYTES
        assert following == offset + length
    assert started[-1][0] + started[-1][1] <= size
    staged.commit()
    stored = store.path_of(hashlib.sha256(data * 7).hexdigest())
    assert stored.read_bytes() == data * 7


def test_a_part_of_an_upload_is_handed_to_the_disk_too(
    tmp_path: Path, started: list[tuple[int, int]]
) -> None:
    store = LocalBlobStore(tmp_path)
    handle = store.start_upload()
    part = store.part_writer(handle, 1)
    part.write(os.urandom(WRITEBACK_BYTES + 1))
    part.commit()
    assert started == [(0, WRITEBACK_BYTES + 1)]
    assert store.parts(handle) == {1: WRITEBACK_BYTES + 1}
