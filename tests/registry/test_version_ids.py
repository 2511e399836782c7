"""The ids of a page of versions, dashed all at once, read as ``uuid.UUID`` writes them."""

from __future__ import annotations

import uuid

from modeltrail.services.registry.versions import _dashed, _dashed_each


def test_ids_are_dashed_as_uuid_writes_them_and_none_stays_none() -> None:
    ids = [uuid.uuid4() for _ in range(50)]
    hexed: list[str | None] = [i.hex for i in ids]
    hexed[3] = hexed[17] = None
    want = [None if h is None else str(i) for h, i in zip(hexed, ids, strict=True)]
    assert _dashed_each(hexed) == want
    assert _dashed_each([None, None]) == [None, None]
    assert _dashed_each([]) == []


def test_an_id_that_is_not_32_digits_is_dashed_by_itself() -> None:
    # A store's ids are all 32 digits; ones that are not must not shift the others' digits,
    # even where their lengths add up to a whole number of ids.
    good = uuid.uuid4()
    odd = ["a" * 31, "b" * 33]
    want = [str(good), _dashed(odd[0]), _dashed(odd[1]), None]
    assert _dashed_each([good.hex, *odd, None]) == want
