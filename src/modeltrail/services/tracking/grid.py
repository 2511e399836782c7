"""The runs grid: a page of runs with chosen parameter, tag and metric columns.

The page is chosen first (filters, ``q``, the sort, the cursor: one query that computes
only the sort's expression for every candidate run), then the metric columns are read for
the runs of the page alone, so that ten columns cost no more than one on a large
experiment. Parameter and tag columns come from the runs themselves, as stored.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain import limits
from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.filters import Filter, ListOptions, Op, Sort
from modeltrail.domain.grid import RunGrid, RunInGrid, RunKeys
from modeltrail.domain.query import Field
from modeltrail.domain.query_tokens import query_error
from modeltrail.domain.series import stored_shown
from modeltrail.services.entities.crud import referenced_names
from modeltrail.services.entities.run import RUN_FIELDS
from modeltrail.services.entities.run import SERVICE as RUNS
from modeltrail.store.listing import resolve
from modeltrail.store.metric_columns import NotAMetric, metric_keys, metric_path, nan_latest
from modeltrail.store.tables import RunRow

# What ``columns=auto`` looks at: the newest runs of the list, and how many columns it offers.
AUTO_SAMPLE = 2_000
AUTO_PARAMETERS = 20
AUTO_METRICS = 20


def _column_error(field: Field, message: str) -> InvalidInput:
    return query_error(f"'{field.name}': {message}", field.column, param="columns")


def _resolved(dialect: str, fields: list[Field]) -> list[tuple[str, str, Any, tuple[str, ...]]]:
    """(name, where, target, subpath) of each column, refused where it is no column."""
    out = []
    for field in fields:
        probe = Filter(field.path, Op.EQ, "", field.name)
        try:
            where, target, subpath = resolve(dialect, RUN_FIELDS, field.path, probe)
        except InvalidInput as exc:
            detail = exc.errors[0]["detail"] if exc.errors else exc.detail
            raise _column_error(field, detail) from None
        if where == "relation":
            raise _column_error(field, "is a relation, not a column")
        out.append((column_name(field.path), where, target, subpath))
    return out


def _document_value(document: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(document, dict) or part not in document:
            return None
        document = document[part]
    return document


def leaves(document: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Leaf paths of a configuration (into nested objects, 3 levels deep)."""
    out: dict[tuple[str, ...], Any] = {}
    for key, value in document.items():
        path = (*prefix, key)
        if isinstance(value, dict) and value and len(path) < 3:
            out.update(leaves(value, path))
        else:
            out[path] = value
    return out


def column_name(path: tuple[str, ...]) -> str:
    """A column's name as it parses back to the same path: a segment that is no plain name
    goes in backticks (``configuration.`batch size```)."""
    return ".".join(
        p
        if p[:1].isalpha() and all(c.isalnum() or c in "_-" for c in p)
        else f"`{p.replace('`', '``')}`"
        for p in path
    )


def _sample(session: Session, options: ListOptions) -> list[RunRow]:
    """The newest runs of the list, at most ``AUTO_SAMPLE``."""
    newest = Sort(("createTime",), descending=True)
    sample = replace(options, sort=newest, limit=AUTO_SAMPLE, cursor=None, count=False)
    return RUNS.rows(session, sample).rows


def _of_experiment(options: ListOptions, experiment: str | None) -> ListOptions:
    if experiment is None:
        return options
    return replace(
        options,
        filters=(
            *options.filters,
            Filter(("experiment",), Op.EQ, experiment, f"experiment:eq:{experiment}"),
        ),
    )


def run_keys(session: Session, options: ListOptions, *, experiment: str | None = None) -> RunKeys:
    """Every parameter, tag and metric key of the newest runs of the list (of
    ``experiment``), as column names."""
    sample = _sample(session, _of_experiment(options, experiment))
    parameters: set[tuple[str, ...]] = set()
    tags: set[str] = set()
    for row in sample:
        parameters.update(leaves(row.configuration or {}))
        tags.update((row.annotations or {}).keys())
    return RunKeys(
        parameters=sorted(column_name(("configuration", *k)) for k in parameters),
        tags=sorted(column_name(("annotations", k)) for k in tags),
        metrics=[column_name(("metrics", k)) for k in metric_keys(session, [r.id for r in sample])],
        sampled=len(sample),
    )


def auto_columns(session: Session, options: ListOptions) -> list[Field]:
    """The parameters whose values differ between the runs of the list (or that some runs
    lack), then the metrics the runs logged: what tells the runs apart."""
    sample = _sample(session, options)
    seen: dict[tuple[str, ...], set[str]] = {}
    present: Counter[tuple[str, ...]] = Counter()
    for row in sample:
        for key, value in leaves(row.configuration or {}).items():
            seen.setdefault(key, set()).add(repr(value))
            present[key] += 1
    varying = [k for k in sorted(seen) if len(seen[k]) > 1 or present[k] < len(sample)]
    metrics = metric_keys(session, [r.id for r in sample])[:AUTO_METRICS]
    return [
        *(Field(("configuration", *k), 0) for k in varying[:AUTO_PARAMETERS]),
        *(Field(("metrics", k), 0) for k in metrics),
    ]


def _metric_columns(
    columns: list[Field], resolved: list[tuple[str, str, Any, tuple[str, ...]]]
) -> dict[str, tuple[str, str]]:
    """(key, aggregate) of each metric column, by its name."""
    out = {}
    for field, (name, where, *_) in zip(columns, resolved, strict=True):
        if where == "derived" and field.path[0] == "metrics":
            try:
                out[name] = metric_path(field.path[1:])
            except NotAMetric:
                continue
    return out


def _nan_latest(
    session: Session,
    rows: list[RunRow],
    values: dict[uuid.UUID, tuple[Any, ...]],
    computed: list[tuple[str, Any]],
    metrics: dict[str, tuple[str, str]],
) -> set[tuple[uuid.UUID, str]]:
    """(run, key) of the page's empty latest-value cells whose run's latest value is NaN, so
    that the cell says NaN and not that the run has no value."""
    keys = {
        metrics[name][0]
        for i, (name, _) in enumerate(computed)
        if name in metrics
        and metrics[name][1] == "latest"
        and any(v[i] is None for v in values.values())
    }
    return nan_latest(session, [r.id for r in rows], sorted(keys))


def list_runs_grid(
    session: Session,
    options: ListOptions,
    *,
    experiment: str | None = None,
    columns: list[Field] | None = None,
    auto: bool = False,
) -> RunGrid:
    """One page of runs matching ``options`` (of ``experiment``, an id or a name), each with
    its ``columns`` and its duration; with ``auto``, the columns ``auto_columns`` chooses,
    then those of ``columns`` it did not choose."""
    dialect = session.get_bind().dialect.name
    options = _of_experiment(options, experiment)
    columns = columns or []
    if auto:
        chosen = auto_columns(session, options)
        paths = {c.path for c in chosen}
        columns = [*chosen, *(c for c in columns if c.path not in paths)]
    if len(columns) > limits.MAX_COLUMNS:
        raise _column_error(columns[limits.MAX_COLUMNS], f"at most {limits.MAX_COLUMNS} columns")
    resolved = _resolved(dialect, columns)
    result = RUNS.rows(session, options)
    rows = result.rows
    computed = [(name, target) for name, where, target, _ in resolved if where == "derived"]
    values: dict[uuid.UUID, tuple[Any, ...]] = {}
    if computed and rows:
        query = select(RunRow.id, *(t.label(f"c{i}") for i, (_, t) in enumerate(computed)))
        for row in session.execute(query.where(RunRow.id.in_([r.id for r in rows]))):
            values[row[0]] = tuple(row[1:])
    metrics = _metric_columns(columns, resolved)
    nan = _nan_latest(session, rows, values, computed, metrics)
    items = []
    for row, run in zip(rows, RUNS.to_models(session, rows), strict=True):
        wire = run.model_dump(by_alias=True)
        cells: dict[str, Any] = {}
        derived = iter(values.get(row.id, (None,) * len(computed)))
        for name, where, target, subpath in resolved:
            if where == "derived":
                value = next(derived)
                if name in metrics:
                    key, aggregate = metrics[name]
                    value = stored_shown(value, nan=aggregate == "latest" and (row.id, key) in nan)
                cells[name] = value
            elif where == "document":
                cells[name] = _document_value(getattr(row, target.key), subpath)
            else:
                cells[name] = wire.get(name)
        # A run created finished may end a moment before its creation time was taken.
        duration = (
            max(0.0, (row.end_time - row.create_time).total_seconds())
            if row.end_time is not None
            else None
        )
        items.append(RunInGrid(**run.model_dump(), duration=duration, columns=cells))
    return RunGrid(
        columns=[name for name, *_ in resolved],
        items=items,
        next_cursor=result.next_cursor,
        total=result.total,
        names=referenced_names(session, RUN_FIELDS, rows, options.filters),
    )
