"""MLflow's metrics as modeltrail's metric series: ``log-metric`` and the metrics of
``log-batch`` append points to the run's series, a run answers each key's latest point, and
``get-history`` pages through a series.

Points logged twice at one step are both kept, as MLflow keeps them; a point sent again with
the same step, timestamp and value is kept once, as MLflow's server keeps it. MLflow 3's
``log_model`` sends the run's points of one step again, linked to the logged model
(``model_id``): only those points are looked up among the stored ones, so that a training
loop's logging reads nothing back.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain import series as d
from modeltrail.domain.errors import NotFound
from modeltrail.integrations.mlflow import search
from modeltrail.integrations.mlflow.errors import invalid
from modeltrail.integrations.mlflow.runs import _run_row
from modeltrail.integrations.mlflow.tracking import _check_key
from modeltrail.services.metadata import Metadata, Transaction
from modeltrail.services.tracking import points as series_points
from modeltrail.services.tracking import series
from modeltrail.store import series as store_series
from modeltrail.store.tables import RunMetricRow

NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
Point = tuple[str, float | str, int, int]


def _number(value: Any, name: str, where: str) -> int:
    if isinstance(value, bool):
        raise invalid(f"Invalid value {value!r} for {where}.{name}: an integer")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid value {value!r} for {where}.{name}: an integer") from None
    if not -(2**63) <= number < 2**63:
        raise invalid(f"Invalid value {value!r} for {where}.{name}: a 64-bit integer")
    return number


def parse_metric(item: Any, where: str = "metric") -> Point:
    """(key, value, timestamp, step) of one metric as MLflow's client sends it, or MLflow's
    refusal (a missing value, a key that is not a name, a step that is not an integer)."""
    if not isinstance(item, dict):
        raise invalid(f"Invalid value for {where}: {{key, value, timestamp, step}}")
    key = _check_key(item.get("key"), "metric")
    if not d.valid_key(key):
        raise invalid(
            f"Invalid metric name: {key!r}. Names may only contain alphanumerics, "
            "underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/)."
        )
    value = item.get("value")
    if isinstance(value, str) and value in NONFINITE:
        shown: float | str = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        shown = float(value)
    else:
        raise invalid(f"Got invalid value {value!r} for metric '{key}' (a number)")
    if item.get("timestamp") in (None, ""):
        raise invalid(f"Missing value for required parameter 'timestamp' of metric '{key}'")
    timestamp = _number(item.get("timestamp"), "timestamp", where)
    step = _number(item.get("step") or 0, "step", where)
    return key, shown, timestamp, step


def linked(item: Any) -> bool:
    """Whether MLflow's client sent the metric linked to a logged model (``model_id``)."""
    return isinstance(item, dict) and bool(item.get("model_id"))


def _same(value: float | str) -> float | str:
    """A value as it compares with a stored one (NaN equals NaN here)."""
    number = NONFINITE.get(value, value) if isinstance(value, str) else value
    return "NaN" if isinstance(number, float) and math.isnan(number) else number


def _without_repeats(
    session: Session, run: uuid.UUID, points: list[Point], again: list[bool]
) -> list[Point]:
    """``points`` without those marked ``again`` that the run's series of their key hold
    already, or that the batch holds before them."""
    checked = [p for p, a in zip(points, again, strict=True) if a]
    steps = [p[3] for p in checked]
    stored: set[tuple[str, int, int, float | str]] = set()
    for key in sorted({p[0] for p in checked}):
        rows = store_series.read_series_rows(session, run, key=key)
        for found in store_series.read_points(
            session, [r.id for r in rows], start=min(steps), end=max(steps)
        ):
            stored.update(
                (key, s, t, _same(v))
                for s, t, v in zip(found.steps, found.timestamps, found.values, strict=True)
            )
    kept = []
    for point, is_again in zip(points, again, strict=True):
        key, value, timestamp, step = point
        seen = (key, step, timestamp, _same(value))
        if is_again and seen in stored:
            continue
        stored.add(seen)
        kept.append(point)
    return kept


def writer(
    points: list[Point], again: list[bool] | None = None
) -> Callable[[Transaction, uuid.UUID, uuid.UUID], None]:
    """What ``tracking.log_batch`` calls to append ``points`` to a run of an experiment in
    its transaction; those marked in ``again`` (``linked``) are left out when the run holds
    them already."""

    def append(tx: Transaction, run: uuid.UUID, experiment: uuid.UUID) -> None:
        todo = points
        if again and any(again):
            todo = _without_repeats(tx.session, run, points, again)
        if not todo:
            return
        by_key: dict[str, d.MetricSeriesPoints] = {}
        grouped: dict[str, tuple[list[int], list[Any], list[int]]] = {}
        for key, value, timestamp, step in todo:
            steps, values, stamps = grouped.setdefault(key, ([], [], []))
            steps.append(step)
            values.append(value)
            stamps.append(timestamp)
        try:
            for key, (steps, values, stamps) in grouped.items():
                by_key[key] = d.MetricSeriesPoints(
                    key=key, steps=steps, values=values, timestamps=stamps
                )
            request = d.MetricsAppend(series=list(by_key.values()))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise invalid(f"Invalid metric: {first['msg']}") from None
        series.append_metrics_of(tx.session, run, experiment, request)

    return append


def latest(session: Session, runs: list[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Each run's metrics as MLflow answers them: each key's latest point (read as plain
    columns of the runs' summaries: a search answers hundreds of runs)."""
    out: dict[uuid.UUID, list[dict[str, Any]]] = {}
    if not runs:
        return out
    query = (
        select(
            RunMetricRow.run_id,
            RunMetricRow.key,
            RunMetricRow.latest_value,
            RunMetricRow.latest_timestamp,
            RunMetricRow.latest_step,
        )
        .where(RunMetricRow.run_id.in_(runs), RunMetricRow.count > 0)
        .order_by(RunMetricRow.run_id, RunMetricRow.key)
    )
    for run, key, value, timestamp, step in session.execute(query):
        out.setdefault(run, []).append(
            {
                "key": key,
                # NaN is kept as NULL; a latest point of NULL in a series with points was NaN.
                "value": "NaN" if value is None else d.shown(value),
                "timestamp": timestamp or 0,
                "step": step or 0,
            }
        )
    return out


def history(
    meta: Metadata, shown: Any, key: str, *, max_results: int | None, page_token: str | None
) -> dict[str, Any]:
    offset = search.decode_page_token(page_token)
    limit = max_results or d.MAX_READ_POINTS

    def read(session: Session) -> dict[str, Any]:
        run = _run_row(session, shown)
        try:
            points = series_points.series_points(
                session,
                run.id,
                key,
                limit=limit,
                cursor=series_points.cursor_at(offset) if offset else None,
            )
        except NotFound:
            return {"metrics": []}  # MLflow answers a key never logged with no points
        answer: dict[str, Any] = {
            "metrics": [
                {"key": key, "value": v, "timestamp": t, "step": s}
                for s, t, v in zip(points.steps, points.timestamps, points.values, strict=True)
            ]
        }
        if points.next_cursor:
            answer["next_page_token"] = search.encode_page_token(offset + limit)
        return answer

    return meta.query(read)
