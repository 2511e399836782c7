"""Metric series of runs and steps: appending points, and the per-run summaries that lists
sort and filter on.

Writes go through ``append_metrics`` (in an open transaction) or ``log_metrics`` (its own
transaction, with an optional Idempotency-Key); summaries are read through ``run_metrics`` and
``metric_summaries``, the points themselves through ``points``.

A point logged twice at the same step is kept twice, in the order logged (as MLflow does):
appending is a log, never an overwrite, so that a retried request needs an Idempotency-Key
to be safe, and an import keeps every point its source had.
"""

from __future__ import annotations

import hashlib
import math
import time
import uuid
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from modeltrail.domain import series as d
from modeltrail.domain.errors import InvalidInput, NotFound
from modeltrail.services import access
from modeltrail.store import scope as owners
from modeltrail.store import series as store
from modeltrail.store.tables import (
    ArtifactRow,
    BatchReceiptRow,
    ExecutionRow,
    MetricSeriesRow,
    RunMetricRow,
    RunRow,
    utcnow,
)

if TYPE_CHECKING:
    from modeltrail.services.metadata import Metadata

# Stands for "no timestamp sent" while a request is hashed for its Idempotency-Key.
_UNSENT = d.INT64_MIN
ALL = True  # every series of the run, its own and its steps'


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# ---------------------------------------------------------------- summaries


@dataclass
class _Summary:
    """What a batch of points adds to a summary."""

    count: int
    nonfinite: int
    min: float | None
    max: float | None
    latest_step: int
    latest_timestamp: int
    latest_value: float
    first_step: int
    last_step: int
    ordered: bool


def _summarise(points: store.Points) -> _Summary:
    steps, values = points.steps, points.values
    n = len(values)
    nonfinite = 0 if math.isfinite(sum(values)) else sum(not math.isfinite(v) for v in values)
    if nonfinite:
        numbers = [v for v in values if v == v]
        low, high = (min(numbers), max(numbers)) if numbers else (None, None)
    else:
        low, high = min(values), max(values)
    listed = steps.tolist()
    ordered = listed == sorted(listed)
    last_step = listed[-1] if ordered else max(listed)
    # The latest is the point of the greatest step, the last logged of several.
    at = n - 1 if ordered else n - 1 - listed[::-1].index(last_step)
    return _Summary(
        count=n,
        nonfinite=nonfinite,
        min=low,
        max=high,
        latest_step=last_step,
        latest_timestamp=points.timestamps[at],
        latest_value=values[at],
        first_step=listed[0] if ordered else min(listed),
        last_step=last_step,
        ordered=ordered,
    )


def _least(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _greatest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _fold(row: store.RunMetricState, new: _Summary, *, by_time: bool) -> None:
    """Add ``new`` to a stored summary. ``by_time``: a tie of steps goes to the later
    timestamp (points of different series), else to the later logged (points of one)."""
    empty = not row.count
    row.count = (row.count or 0) + new.count
    row.min_value = _least(None if empty else row.min_value, new.min)
    row.max_value = _greatest(None if empty else row.max_value, new.max)
    row.first_step = new.first_step if empty else min(row.first_step or 0, new.first_step)
    row.last_step = new.last_step if empty else max(row.last_step or 0, new.last_step)
    current = (row.latest_step, row.latest_timestamp if by_time else 0)
    if empty or (new.latest_step, new.latest_timestamp if by_time else 0) >= current:
        row.latest_step = new.latest_step
        row.latest_timestamp = new.latest_timestamp
        row.latest_value = new.latest_value


def _value(stored: float | None, count: int, *, latest: bool = False) -> float | str | None:
    """A stored value as answered: a latest value that is NULL in a series with points was
    NaN."""
    return d.stored_shown(stored, nan=latest and bool(count))


def _summary_fields(row: MetricSeriesRow | RunMetricRow | store.RunMetricState) -> dict[str, Any]:
    return {
        "key": row.key,
        "count": row.count,
        "latest": _value(row.latest_value, row.count, latest=True),
        "latest_step": row.latest_step,
        "latest_timestamp": row.latest_timestamp,
        "min": _value(row.min_value, row.count),
        "max": _value(row.max_value, row.count),
        "first_step": row.first_step,
        "last_step": row.last_step,
    }


def to_series_summary(row: MetricSeriesRow | store.SeriesState) -> d.SeriesSummary:
    return d.SeriesSummary(
        **_summary_fields(row), execution=row.execution_id, artifact=row.artifact_id
    )


def to_metric_summary(row: RunMetricRow) -> d.MetricSummary:
    return d.MetricSummary(**_summary_fields(row))


# ---------------------------------------------------------------- appending


def _check_references(session: Session, run_id: uuid.UUID, groups: list[d.SeriesAppend]) -> None:
    """Every step named is one of the run's; every artifact named exists and may be read."""
    steps = {g.execution for g in groups if g.execution is not None}
    if steps:
        query = select(ExecutionRow.id, ExecutionRow.run_id).where(ExecutionRow.id.in_(steps))
        found = {step: run for step, run in session.execute(query)}
        for g in groups:
            if g.execution is not None and found.get(g.execution) != run_id:
                why = "does not exist" if g.execution not in found else "is of another run"
                raise InvalidInput(
                    f"{g.origin[0]}/execution: execution {g.execution} {why}; a series is "
                    "logged by the run or one of its steps; nothing was stored",
                    errors=[{"pointer": g.origin[0] + "/execution", "detail": why}],
                )
    about = {g.artifact for g in groups if g.artifact is not None}
    if not about:
        return
    existing = set(session.scalars(select(ArtifactRow.id).where(ArtifactRow.id.in_(about))))
    scope = access.scope_of(session)
    readable = owners.experiments_of_artifacts(session, existing) if scope is not None else {}
    for g in groups:
        if g.artifact is None:
            continue
        problem: str | None = None
        if g.artifact not in existing:
            problem = "does not exist"
        elif scope is not None and not scope.can_read(readable.get(g.artifact, set())):
            problem = "is of an experiment this token may not read"
        if problem:
            raise InvalidInput(
                f"{g.origin[0]}/artifact: artifact {g.artifact} {problem}; nothing was stored",
                errors=[{"pointer": g.origin[0] + "/artifact", "detail": problem}],
            )


def _series_rows(
    session: Session, run_id: uuid.UUID, groups: list[d.SeriesAppend]
) -> list[store.SeriesState]:
    """The series of each group, locked for this transaction; made where there is none."""
    stored = {
        (r.key, r.execution_id): r
        for r in store.lock_series(session, run_id, {g.key for g in groups})
    }
    rows = []
    made = []
    for g in groups:
        row = stored.get((g.key, g.execution))
        if row is None:
            row = store.SeriesState(key=g.key, execution_id=g.execution, artifact_id=g.artifact)
            made.append(row)
        elif g.artifact is not None and row.artifact_id not in (None, g.artifact):
            raise InvalidInput(
                f"{g.origin[0]}/artifact: series {g.key!r} measures artifact "
                f"{row.artifact_id}, not {g.artifact}; nothing was stored",
                errors=[{"pointer": g.origin[0] + "/artifact", "detail": "another artifact"}],
            )
        elif g.artifact is not None:
            row.artifact_id = g.artifact
        rows.append(row)
    # What the transaction changed before goes first, as an ORM flush would order it (a run
    # made in it is written before its series refer to it).
    session.flush()
    store.insert_series(session, run_id, made)
    return rows


def append_metrics(
    session: Session,
    run_id: uuid.UUID,
    request: d.MetricsAppend,
    *,
    now: int | None = None,
) -> d.MetricsAppended:
    """Append the request's points to the run's series (made on first use), all or nothing,
    and update the series' and the run's summaries. Raises ``NotFound`` for a run that does
    not exist, ``InvalidInput`` naming the point or series for a step of another run, an
    artifact that does not exist, a request past the limits."""
    groups = d.packed(request, now_ms=now_ms() if now is None else now)
    return _append(session, run_id, groups)


def append_metrics_of(
    session: Session, run_id: uuid.UUID, experiment_id: uuid.UUID, request: d.MetricsAppend
) -> d.MetricsAppended:
    """``append_metrics`` for a caller that has read the run's experiment already (a client
    logging a step sends one small request after another: the run is not read again)."""
    return _append(session, run_id, d.packed(request, now_ms=now_ms()), experiment_id)


def _append(
    session: Session,
    run_id: uuid.UUID,
    groups: list[d.SeriesAppend],
    experiment_id: uuid.UUID | None = None,
) -> d.MetricsAppended:
    if experiment_id is None:
        run = session.get(RunRow, run_id)
        if run is None:
            raise NotFound(f"run {run_id} does not exist")
        experiment_id = run.experiment_id
    access.check_run(session, experiment_id)
    if not groups:
        return d.MetricsAppended(appended=0, series=[])
    _check_references(session, run_id, groups)
    rows = _series_rows(session, run_id, groups)
    by_key: dict[str, list[_Summary]] = {}
    appends: list[tuple[store.SeriesState, store.Points]] = []
    appended = 0
    for g, row in zip(groups, rows, strict=True):
        points = store.Points(g.steps, g.timestamps, g.values)
        new = _summarise(points)
        row.ordered = bool(
            row.ordered
            and new.ordered
            and (row.last_step is None or new.first_step >= row.last_step)
        )
        row.nonfinite = (row.nonfinite or 0) + new.nonfinite
        _fold(row, new, by_time=False)
        appends.append((row, points))
        by_key.setdefault(g.key, []).append(new)
        appended += new.count
    store.append_chunks_many(session, appends)
    store.write_series(session, rows)
    summaries = store.lock_run_metrics(session, run_id, by_key)
    for key, news in by_key.items():
        summary = summaries.get(key)
        if summary is None:
            summary = summaries[key] = store.RunMetricState(key=key, new=True)
        for new in news:
            _fold(summary, new, by_time=True)
    store.write_run_metrics(session, run_id, list(summaries.values()))
    return d.MetricsAppended(appended=appended, series=[to_series_summary(r) for r in rows])


# ---------------------------------------------------------------- with an Idempotency-Key


def _request_hash(groups: list[d.SeriesAppend]) -> str:
    digest = hashlib.sha256()
    for g in groups:
        digest.update(f"{g.key}\0{g.execution}\0{g.artifact}\0{len(g.steps)}\0".encode())
        digest.update(store.pack(store.Points(g.steps, g.timestamps, g.values)))
    return digest.hexdigest()


def log_metrics(
    meta: Metadata,
    run_id: uuid.UUID,
    request: d.MetricsAppend,
    *,
    idempotency_key: str | None = None,
) -> tuple[d.MetricsAppended, bool]:
    """``append_metrics`` in a transaction of its own. With an ``idempotency_key``, the same
    request sent again within a day is answered as the first time and appends nothing (the
    second of the pair is True); the key sent with another request is refused."""
    from modeltrail.services.batch import IDEMPOTENCY_KEY, RECEIPT_LIFETIME

    if idempotency_key is None:
        return meta.call(append_metrics, run_id, request), False
    if not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise InvalidInput(
            "Idempotency-Key must be 1 to 128 visible ASCII characters",
            errors=[{"pointer": "/headers/Idempotency-Key", "detail": "not a key"}],
        )
    groups = d.packed(request, now_ms=_UNSENT)
    request_hash = _request_hash(groups)
    now = now_ms()
    for g in groups:
        if _UNSENT in g.timestamps:
            g.timestamps = array("q", [now if t == _UNSENT else t for t in g.timestamps])
    principal = "" if meta.actor is None else str(meta.actor.id or meta.actor.name)
    principal = principal[:64]

    def once(session: Session) -> tuple[d.MetricsAppended, bool]:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(func.hashtext(idempotency_key))))
        row = session.get(BatchReceiptRow, idempotency_key)
        if row is not None and row.create_time < utcnow() - RECEIPT_LIFETIME:
            session.delete(row)
            session.flush()
            row = None
        if row is not None:
            if (row.principal, row.request_hash) != (principal, request_hash):
                raise InvalidInput(
                    "this Idempotency-Key was used for another request; use a new key for each",
                    errors=[{"pointer": "/headers/Idempotency-Key", "detail": "used for another"}],
                )
            return d.MetricsAppended.model_validate(row.answer), True
        answer = _append(session, run_id, groups)
        session.execute(
            delete(BatchReceiptRow).where(BatchReceiptRow.create_time < utcnow() - RECEIPT_LIFETIME)
        )
        session.add(
            BatchReceiptRow(
                key=idempotency_key,
                principal=principal,
                request_hash=request_hash,
                answer=answer.model_dump(mode="json", by_alias=True),
            )
        )
        return answer, False

    return meta.call(once)


# ---------------------------------------------------------------- reading


def run_or_404(session: Session, run_id: uuid.UUID) -> RunRow:
    run = session.get(RunRow, run_id)
    if run is None:
        raise NotFound(f"run {run_id} does not exist")
    return run


def run_metrics(session: Session, run_id: uuid.UUID) -> d.RunMetrics:
    """Every key of the run summarised over all its series, and each series."""
    run_or_404(session, run_id)
    return d.RunMetrics(
        run=run_id,
        metrics=[to_metric_summary(r) for r in store.read_run_metric_rows(session, [run_id])],
        series=[to_series_summary(r) for r in store.read_series_rows(session, run_id)],
    )


def metric_summaries(
    session: Session, run_ids: Sequence[uuid.UUID], *, keys: Iterable[str] | None = None
) -> dict[uuid.UUID, dict[str, d.MetricSummary]]:
    """Each run's keys summarised (of ``keys`` only, if given): for lists and comparisons of
    many runs, one query, no points read."""
    out: dict[uuid.UUID, dict[str, d.MetricSummary]] = {r: {} for r in run_ids}
    for row in store.read_run_metric_rows(session, run_ids, keys=keys):
        out[row.run_id][row.key] = to_metric_summary(row)
    return out
