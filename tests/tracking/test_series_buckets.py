"""Downsampling a series into buckets, held against a plain rule applied point by point."""

from __future__ import annotations

import math
import random
import uuid
from array import array
from typing import Any

import pytest

from modeltrail.domain import series as d
from modeltrail.services.tracking import points as series_points
from modeltrail.store import series as store


class _Row:
    execution_id = None


def _plain(
    steps: list[int], values: list[float], buckets: int, start: int | None, end: int | None
) -> dict[str, list[Any]]:
    """Bucket k holds the steps in [lo + span*k // buckets, lo + span*(k+1) // buckets)."""
    lo = steps[0] if start is None else start
    span = (steps[-1] if end is None else end) - lo + 1
    groups: dict[int, list[int]] = {}
    for i, s in enumerate(steps):
        k = next(k for k in range(buckets) if s < lo + span * (k + 1) // buckets)
        groups.setdefault(k, []).append(i)
    out: dict[str, list[Any]] = {
        "startSteps": [], "endSteps": [], "counts": [], "mins": [], "maxs": [], "lasts": []
    }  # fmt: skip
    for k in sorted(groups):
        at = groups[k]
        numbers = [values[i] for i in at if not math.isnan(values[i])]
        out["startSteps"].append(steps[at[0]])
        out["endSteps"].append(steps[at[-1]])
        out["counts"].append(len(at))
        out["mins"].append(d.shown(min(numbers)) if numbers else None)
        out["maxs"].append(d.shown(max(numbers)) if numbers else None)
        out["lasts"].append(d.shown(values[at[-1]]))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_buckets_follow_the_plain_rule(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.choice([1, 2, 7, 50, 300, 2000])
    steps = sorted(rng.randrange(0, rng.choice([n, 3 * n, 100 * n])) for _ in range(n))
    values = [rng.choice([rng.uniform(-5, 5), float(rng.randrange(3))]) for _ in range(n)]
    nonfinite = seed % 3 == 0
    if nonfinite:
        for _ in range(max(1, n // 10)):
            values[rng.randrange(n)] = rng.choice([math.nan, math.inf, -math.inf])
    buckets = rng.choice([1, 2, 3, 10, 100, 1000, n, n + 5])
    start = end = None
    if seed % 4 == 1:
        start = steps[0] - rng.randrange(5)
        end = steps[-1] + rng.randrange(5)
    points = store.Points(array("q", steps), array("q", [0] * n), array("d", values))
    run = uuid.uuid4()
    got = series_points._bucketed(run, "k", [_Row()], points, nonfinite, buckets, None, start, end)
    answer = {
        "startSteps": got.start_steps,
        "endSteps": got.end_steps,
        "counts": got.counts,
        "mins": got.mins,
        "maxs": got.maxs,
        "lasts": got.lasts,
    }
    expected = _plain(steps, values, buckets, start, end)
    if not nonfinite:
        expected["lasts"] = [float(v) for v in expected["lasts"]]
    assert answer == expected
    assert got.count == n and got.buckets == len(expected["counts"]) <= buckets


@pytest.mark.parametrize(("start", "end"), [(None, 10_000), (-10_000, None), (-10_000, 10_000)])
def test_a_range_far_wider_than_the_points_answers_their_buckets(
    start: int | None, end: int | None
) -> None:
    steps, values = list(range(100)), [float(i % 7) for i in range(100)]
    points = store.Points(array("q", steps), array("q", [0] * 100), array("d", values))
    got = series_points._bucketed(uuid.uuid4(), "k", [_Row()], points, False, 10, None, start, end)
    expected = _plain(steps, values, 10, start, end)
    assert [got.start_steps, got.end_steps, got.counts, got.mins, got.maxs, got.lasts] == [
        expected[name] for name in ("startSteps", "endSteps", "counts", "mins", "maxs", "lasts")
    ]


@pytest.mark.parametrize("seed", range(6))
def test_equal_zeros_answer_as_min_and_max_do(seed: int) -> None:
    # 0.0 and -0.0 are equal: the least and the greatest of a bucket is the first of them,
    # as the plain rule's min and max answer it.
    rng = random.Random(seed)
    n = rng.choice([40, 2000])
    # Runs of one zero then the other, long enough for numpy's vectorised loops.
    values: list[float] = []
    while len(values) < n:
        values += [rng.choice([0.0, -0.0, math.nan, 1.0])] * rng.randrange(1, 60)
    values = values[:n]
    steps = list(range(n))
    points = store.Points(array("q", steps), array("q", [0] * n), array("d", values))
    got = series_points._bucketed(uuid.uuid4(), "k", [_Row()], points, True, 10, None)
    expected = _plain(steps, values, 10, None, None)
    signs = [[math.copysign(1, v) if isinstance(v, float) else v for v in column]
             for column in (got.mins, got.maxs, expected["mins"], expected["maxs"])]  # fmt: skip
    assert signs[:2] == signs[2:]
    assert [got.mins, got.maxs] == [expected["mins"], expected["maxs"]]


@pytest.mark.parametrize("seed", range(4))
def test_steps_across_the_whole_int64_range_follow_the_plain_rule(seed: int) -> None:
    # The span times the buckets passes int64 here: the bounds are worked out another way.
    rng = random.Random(seed)
    n, buckets = 300, rng.choice([7, 100, 300])
    steps = sorted({d.INT64_MIN, d.INT64_MAX, *(rng.randrange(-(2**63), 2**63) for _ in range(n))})
    values = [rng.uniform(-1, 1) for _ in steps]
    points = store.Points(array("q", steps), array("q", [0] * len(steps)), array("d", values))
    got = series_points._bucketed(uuid.uuid4(), "k", [_Row()], points, False, buckets, None)
    expected = _plain(steps, values, buckets, None, None)
    assert [got.start_steps, got.end_steps, got.counts, got.mins, got.maxs, got.lasts] == [
        expected[name] for name in ("startSteps", "endSteps", "counts", "mins", "maxs", "lasts")
    ]
