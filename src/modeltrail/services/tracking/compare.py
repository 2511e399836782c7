"""Many runs side by side: their parameters and tags (those that differ, those that are equal),
each metric's latest, least and greatest value per run, the artifacts each read and wrote
(the ones whose content differs marked, by fingerprint), and the series of chosen metrics
downsampled for overlaid charts."""

from __future__ import annotations

import math
import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from modeltrail.domain import limits
from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.grid import (
    ArtifactAcross,
    MetricAcross,
    RunComparison,
    RunSummary,
    SeriesAcross,
    SeriesOfRun,
    ValuesAcross,
)
from modeltrail.domain.series import SeriesBuckets, check_key, stored_shown
from modeltrail.services import access
from modeltrail.services.tracking.grid import column_name, leaves
from modeltrail.services.tracking.points import series_buckets, series_buckets_of_runs
from modeltrail.store.metric_columns import points_from_artifacts
from modeltrail.store.series import read_run_metric_rows
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    RunMetricRow,
    RunRow,
)

MAX_RUNS = 100
MAX_POINTS = 1_000


def _refused(message: str, pointer: str = "/ids") -> InvalidInput:
    return InvalidInput(message, errors=[{"pointer": pointer, "detail": message}])


def resolve_runs(session: Session, refs: list[str]) -> list[RunRow]:
    """The runs named by ``refs`` (ids, or names: a name means every run of that name), in
    the order given, each once."""
    if not refs:
        raise _refused("name the runs to compare: ids=ID,ID,... (ids or names)")
    if len(refs) > MAX_RUNS:
        raise _refused(f"at most {MAX_RUNS} runs are compared at once; {len(refs)} given")
    ids: list[uuid.UUID] = []
    names: list[str] = []
    for ref in refs:
        try:
            ids.append(uuid.UUID(ref))
        except ValueError:
            names.append(ref)
    query = access.readable_rows(session, RunRow, select(RunRow))
    clauses = []
    if ids:
        clauses.append(RunRow.id.in_(ids))
    if names:
        clauses.append(RunRow.name.in_(names))
    found = list(session.scalars(query.where(or_(*clauses)).order_by(RunRow.create_time)))
    by_id = {r.id: r for r in found}
    by_name: dict[str, list[RunRow]] = {}
    for r in found:
        by_name.setdefault(r.name, []).append(r)
    out: dict[uuid.UUID, RunRow] = {}
    for i, ref in enumerate(refs):
        try:
            matched = [by_id[uuid.UUID(ref)]] if uuid.UUID(ref) in by_id else []
        except ValueError:
            matched = by_name.get(ref, [])
        if not matched:
            raise InvalidInput(
                f"no run is {ref!r}",
                errors=[{"pointer": f"/ids/{i}", "detail": f"no run has the id or name {ref!r}"}],
            )
        for r in matched:
            out.setdefault(r.id, r)
    if len(out) > MAX_RUNS:
        raise _refused(f"the names match {len(out)} runs; at most {MAX_RUNS} are compared at once")
    return list(out.values())


def _across(documents: list[dict[str, Any]]) -> tuple[list[ValuesAcross], list[ValuesAcross]]:
    flat = [leaves(doc or {}) for doc in documents]
    paths = sorted({p for f in flat for p in f})
    differing: list[ValuesAcross] = []
    equal: list[ValuesAcross] = []
    for path in paths:
        values = [f.get(path) for f in flat]
        same = all(path in f for f in flat) and all(v == values[0] for v in values)
        item = ValuesAcross(key=column_name(path), values=values, equal=same)
        (equal if same else differing).append(item)
    return differing, equal


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def _downsample(values: list[float | None], points: int, bands: bool) -> SeriesOfRun:
    """At most ``points`` points: the last value of each of ``points`` equal buckets of steps
    (with ``bands``, the buckets' least and greatest values alongside)."""
    steps = list(range(len(values)))
    if len(values) <= points:
        return SeriesOfRun(steps=steps, values=[_finite(v) for v in values])
    out_steps, out_values, lows, highs = [], [], [], []
    size = len(values) / points
    for b in range(points):
        start, end = int(b * size), int((b + 1) * size)
        bucket = [v for v in values[start:end] if v is not None and math.isfinite(v)]
        out_steps.append(end - 1)
        out_values.append(_finite(values[end - 1]))
        lows.append(min(bucket) if bucket else None)
        highs.append(max(bucket) if bucket else None)
    if not bands:
        return SeriesOfRun(steps=out_steps, values=out_values)
    return SeriesOfRun(steps=out_steps, values=out_values, min=lows, max=highs)


def _artifacts(session: Session, runs: list[RunRow]) -> list[ArtifactAcross]:
    """What each run read from outside itself and what its steps wrote. A run's own output
    that a later step of it reads (the model its evaluation step reads) is written, not read:
    outputs are gathered first, and an input the same run wrote is left out."""
    position = {r.id: i for i, r in enumerate(runs)}
    ids = list(position)
    grouped: dict[tuple[str, str, str], list[set[str]]] = {}
    written: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for role, edge in (("output", ExecutionOutputRow), ("input", ExecutionInputRow)):
        query = (
            select(
                ExecutionRow.run_id,
                ArtifactRow.id,
                ArtifactRow.kind,
                ArtifactRow.name,
                ArtifactRow.fingerprint,
            )
            .join(edge, edge.execution_id == ExecutionRow.id)
            .join(ArtifactRow, ArtifactRow.id == edge.artifact_id)
            .where(ExecutionRow.run_id.in_(ids))
        )
        for run_id, artifact_id, kind, name, fingerprint in session.execute(query):
            if role == "output":
                written.add((run_id, artifact_id))
            elif (run_id, artifact_id) in written:
                continue
            per_run = grouped.setdefault((role, kind, name), [set() for _ in runs])
            per_run[position[run_id]].add(fingerprint)
    out = []
    for (role, kind, name), per_run in sorted(grouped.items()):
        fingerprints = [sorted(s) for s in per_run]
        out.append(
            ArtifactAcross(
                role=role,
                kind=kind,
                name=name,
                fingerprints=fingerprints,
                differs=any(f != fingerprints[0] for f in fingerprints),
            )
        )
    return out


def _metric_across(
    runs: list[RunRow],
    key: str,
    summaries_of: dict[tuple[uuid.UUID, str], RunMetricRow],
    history: dict[tuple[uuid.UUID, str], list[float | None]],
) -> MetricAcross:
    """A metric's latest, least and greatest value per run, as the runs grid answers them:
    each from the run's series where it holds one, else from its ``metrics`` artifacts (the
    newest value, the least, the greatest); NaN and the infinities as text."""
    latest, low, high = [], [], []
    for r in runs:
        summary = summaries_of.get((r.id, key))
        numbers = [v for v in history.get((r.id, key), []) if v is not None and v == v]
        stored = (
            (summary.latest_value, summary.min_value, summary.max_value)
            if summary is not None
            else (None, None, None)
        )
        nan = summary is not None and bool(summary.count)
        latest.append(stored_shown(_first(stored[0], numbers[-1:]), nan=nan))
        low.append(stored_shown(_first(stored[1], numbers and [min(numbers)])))
        high.append(stored_shown(_first(stored[2], numbers and [max(numbers)])))
    return MetricAcross(key=key, latest=latest, min=low, max=high)


def _first(stored: float | None, fallback: list[float]) -> float | None:
    """The series' value, else the artifacts' (``fallback``, empty where they have none)."""
    return stored if stored is not None else (fallback[0] if fallback else None)


def _buckets(
    session: Session,
    run_id: uuid.UUID,
    key: str,
    points: int,
    bucketed: dict[tuple[uuid.UUID, str], SeriesBuckets],
    bands: bool,
) -> SeriesOfRun:
    found = bucketed.get((run_id, key)) or series_buckets(session, run_id, key, buckets=points)
    # The lists are the buckets' as read: validating every number again costs more than the
    # rest of the comparison's series.
    lists: dict[str, Any] = {"steps": found.end_steps, "values": found.lasts}
    if bands:
        lists.update(min=found.mins, max=found.maxs)
    return SeriesOfRun.model_construct(None, **lists)


def compare_runs(
    session: Session,
    refs: list[str],
    *,
    metrics: list[str] | None = None,
    points: int = 200,
    bands: bool = True,
) -> RunComparison:
    """``refs`` (ids or names, at most 100 runs) side by side; the series of ``metrics``
    downsampled to at most ``points`` points each, with ``bands`` each point's bucket's least
    and greatest value beside it."""
    if not 1 <= points <= MAX_POINTS:
        raise _refused(f"points is 1 to {MAX_POINTS}", pointer="/points")
    if metrics is not None and len(metrics) > limits.MAX_COLUMNS:
        raise _refused(f"at most {limits.MAX_COLUMNS} metrics", pointer="/metrics")
    for i, key in enumerate(metrics or []):
        check_key(key, where=f"/metrics/{i}", located="query")
    runs = resolve_runs(session, refs)
    differing, equal = _across([r.configuration for r in runs])
    differing_tags, equal_tags = _across([r.annotations for r in runs])
    run_ids = [r.id for r in runs]
    history = points_from_artifacts(session, run_ids)
    summaries_of = {(m.run_id, m.key): m for m in read_run_metric_rows(session, run_ids)}
    keys = sorted({key for _, key in history} | {key for _, key in summaries_of})
    summaries = [_metric_across(runs, key, summaries_of, history) for key in keys]
    logged = [key for key in (metrics or []) if any((r, key) in summaries_of for r in run_ids)]
    bucketed = series_buckets_of_runs(session, run_ids, logged, buckets=points) if logged else {}
    series = [
        SeriesAcross(
            key=key,
            runs=[
                _buckets(session, r.id, key, points, bucketed, bands)
                if (r.id, key) in summaries_of
                else _downsample(history.get((r.id, key), []), points, bands)
                for r in runs
            ],
        )
        for key in (metrics or [])
    ]
    return RunComparison(
        runs=[
            RunSummary(
                id=r.id,
                name=r.name,
                experiment=r.experiment_id,
                status=r.status,
                create_time=r.create_time,
                end_time=r.end_time,
                duration=(
                    max(0.0, (r.end_time - r.create_time).total_seconds()) if r.end_time else None
                ),
            )
            for r in runs
        ],
        differing_parameters=differing,
        equal_parameters=equal,
        differing_tags=differing_tags,
        equal_tags=equal_tags,
        metrics=summaries,
        artifacts=_artifacts(session, runs),
        series=series,
    )
