"""A run's metric as a column: ``metrics.KEY`` (its latest value), ``metrics.KEY.min``,
``metrics.KEY.max``, for lists, ``q`` and the runs grid to select, filter and sort on.

The value is a correlated scalar subquery on the run's id, so that it composes with every
other clause of a list; a list's own statement (its filters, ``q`` and sort over every
candidate run) gets it from an outer join with the summaries instead (``metric_joins``),
which the planner may hash rather than look up run by run. Where the value comes from is
this module's business alone. A run that
logged a series of KEY answers its summary (``run_metrics``: the value of the greatest step,
the least, the greatest); a run without one answers from its ``metrics`` artifacts (those its
steps wrote, named KEY, with a number as ``value``): the latest by creation time, the least
and the greatest.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from modeltrail.store import dialect as d
from modeltrail.store.fields import Joined
from modeltrail.store.tables import ArtifactRow, ExecutionOutputRow, ExecutionRow, RunMetricRow

AGGREGATES = ("latest", "min", "max")
_SYNONYMS = {"last": "latest", "latest": "latest", "min": "min", "max": "max"}


class NotAMetric(ValueError):
    """A path under ``metrics.`` that names no metric column."""


def metric_path(subpath: tuple[str, ...]) -> tuple[str, str]:
    """(key, aggregate) of the path after ``metrics.``: a last segment ``min``, ``max`` or
    ``latest`` picks the aggregate, the rest joined with dots is the key (metric keys may
    hold dots: ``metrics.val.acc`` is the key ``val.acc``; a key that ends in ``.min`` is
    written in backticks)."""
    if not subpath:
        raise NotAMetric("name a metric: metrics.KEY, metrics.KEY.min or metrics.KEY.max")
    if len(subpath) > 1 and subpath[-1] in _SYNONYMS:
        return ".".join(subpath[:-1]), _SYNONYMS[subpath[-1]]
    return ".".join(subpath), "latest"


def _unindexed(column: Any) -> Any:
    return column.concat("")


def from_artifacts(dialect: str, run_id: Any, key: str, aggregate: str) -> ColumnElement[Any]:
    value = d.json_number(dialect, ArtifactRow.attributes, ("value",))
    query = (
        select(value)
        .join(ExecutionOutputRow, ExecutionOutputRow.artifact_id == ArtifactRow.id)
        .join(ExecutionRow, ExecutionRow.id == ExecutionOutputRow.execution_id)
        .where(
            ExecutionRow.run_id == run_id,
            # Not by the indexes on kind or name: a run has a few artifacts, a key thousands
            # of runs'; the walk must start from the run (its steps, then their outputs).
            _unindexed(ArtifactRow.kind) == "metrics",
            _unindexed(ArtifactRow.name) == key,
            value.is_not(None),
        )
    )
    if aggregate == "latest":
        query = query.order_by(ArtifactRow.create_time.desc(), ArtifactRow.id.desc()).limit(1)
    else:
        query = query.with_only_columns(func.min(value) if aggregate == "min" else func.max(value))
    return query.scalar_subquery()


def keys_from_artifacts(session: Session, run_ids: list[uuid.UUID]) -> list[str]:
    query = (
        select(ArtifactRow.name)
        .join(ExecutionOutputRow, ExecutionOutputRow.artifact_id == ArtifactRow.id)
        .join(ExecutionRow, ExecutionRow.id == ExecutionOutputRow.execution_id)
        .where(ExecutionRow.run_id.in_(run_ids), ArtifactRow.kind == "metrics")
        .distinct()
    )
    return sorted(session.scalars(query))


_SUMMARY = {
    "latest": RunMetricRow.latest_value,
    "min": RunMetricRow.min_value,
    "max": RunMetricRow.max_value,
}


def from_series(dialect: str, run_id: Any, key: str, aggregate: str) -> ColumnElement[Any]:
    """The run's series summary of ``key`` (one primary-key lookup per run)."""
    return (
        select(_SUMMARY[aggregate])
        .where(RunMetricRow.run_id == run_id, RunMetricRow.key == key)
        .scalar_subquery()
    )


def from_series_or_artifacts(
    dialect: str, run_id: Any, key: str, aggregate: str
) -> ColumnElement[Any]:
    return func.coalesce(
        from_series(dialect, run_id, key, aggregate),
        from_artifacts(dialect, run_id, key, aggregate),
    )


# The expressions built, by (dialect, run id column, key, aggregate). Building one (two
# subqueries, a JSON number's CASE) costs more than running it on a page of runs, and a list
# asks for the same few columns request after request; an expression is immutable, so one
# serves every statement. Bounded: keys come from requests.
_built: dict[tuple[str, int, str, str], tuple[Any, ColumnElement[Any]]] = {}
_BUILT_AT_MOST = 1024


def metric_joins(dialect: str, run_id: Any, subpaths: list[tuple[str, ...]]) -> Joined:
    """The metric columns ``metrics.<subpath>`` of the runs whose id is ``run_id`` over an
    outer join with each key's summaries (one join per key, whatever its aggregates): the
    same values as ``metric_column``. A run without a summary value (none logged, or NaN)
    falls back to its ``metrics`` artifacts through the subquery, run by run, as before."""
    summaries: dict[str, Any] = {}
    columns: dict[tuple[str, ...], ColumnElement[Any]] = {}
    for subpath in subpaths:
        try:
            key, aggregate = metric_path(subpath)
        except NotAMetric:
            continue
        summary = summaries.get(key)
        if summary is None:
            summary = summaries[key] = aliased(RunMetricRow)
        columns[subpath] = func.coalesce(
            getattr(summary, _SUMMARY[aggregate].key),
            from_artifacts(dialect, run_id, key, aggregate),
        )
    joins = [
        (summary, and_(summary.run_id == run_id, summary.key == key))
        for key, summary in summaries.items()
    ]
    return Joined(joins, columns)


def metric_keys(session: Session, run_ids: list[uuid.UUID]) -> list[str]:
    """The metric keys any of these runs logged, as series or as artifacts, sorted."""
    if not run_ids:
        return []
    series = session.scalars(
        select(RunMetricRow.key).where(RunMetricRow.run_id.in_(run_ids)).distinct()
    )
    return sorted({*series, *keys_from_artifacts(session, run_ids)})


def metric_column(dialect: str, run_id: Any, subpath: tuple[str, ...]) -> ColumnElement[Any]:
    """The metric column ``metrics.<subpath>`` of the run whose id is ``run_id``."""
    key, aggregate = metric_path(subpath)
    # By the column's identity, kept in the entry so that the id is never another's.
    found = _built.get((dialect, id(run_id), key, aggregate))
    if found is not None and found[0] is run_id:
        return found[1]
    built = from_series_or_artifacts(dialect, run_id, key, aggregate)
    if len(_built) >= _BUILT_AT_MOST:
        _built.clear()
    _built[dialect, id(run_id), key, aggregate] = (run_id, built)
    return built


def nan_latest(
    session: Session, run_ids: list[uuid.UUID], keys: list[str]
) -> set[tuple[uuid.UUID, str]]:
    """(run, key) of the runs whose latest value of a key is NaN: a summary with points but
    no latest value (NaN is kept as NULL), as against a run that logged no such key."""
    if not run_ids or not keys:
        return set()
    query = select(RunMetricRow.run_id, RunMetricRow.key).where(
        RunMetricRow.run_id.in_(run_ids),
        RunMetricRow.key.in_(keys),
        RunMetricRow.latest_value.is_(None),
        RunMetricRow.count > 0,
    )
    return {(run_id, key) for run_id, key in session.execute(query)}


def points_from_artifacts(
    session: Session, run_ids: list[uuid.UUID], keys: list[str] | None = None
) -> dict[tuple[uuid.UUID, str], list[float | None]]:
    """The values of the ``metrics`` artifacts each run's steps wrote, per (run, key), in the
    order they were created (a run's value history before metric series)."""
    dialect = session.get_bind().dialect.name
    value = d.json_number(dialect, ArtifactRow.attributes, ("value",))
    query = (
        select(ExecutionRow.run_id, ArtifactRow.name, value)
        .join(ExecutionOutputRow, ExecutionOutputRow.artifact_id == ArtifactRow.id)
        .join(ExecutionRow, ExecutionRow.id == ExecutionOutputRow.execution_id)
        .where(ExecutionRow.run_id.in_(run_ids), ArtifactRow.kind == "metrics")
        .order_by(ArtifactRow.create_time, ArtifactRow.id)
    )
    if keys is not None:
        query = query.where(ArtifactRow.name.in_(keys))
    out: dict[tuple[uuid.UUID, str], list[float | None]] = {}
    for run_id, key, number in session.execute(query):
        out.setdefault((run_id, key), []).append(None if number is None else float(number))
    return out
