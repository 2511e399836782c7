"""Metric series: points of (step, timestamp, value) under a key, logged by a run or a step.

What a client sends (``MetricsAppend``) in either of two shapes, which may be mixed:

- ``points``: one object per point, ``{"key", "value", "step", "timestamp", "execution"}``;
- ``series``: one object per key with parallel lists ``steps``, ``values``, ``timestamps``,
  the compact shape the SDK sends (a tenth of the bytes to parse).

A value is a JSON number or one of the texts ``NaN``, ``Infinity``, ``-Infinity`` (JSON has
no literal for them; answers use the same texts). Steps and timestamps (milliseconds since
the epoch) are integers of 64 bits. A point logged twice with the same step keeps both, in the
order they were logged, as MLflow does: a series is a log, not a map.

Every refusal names the point: ``/points/17/value``, ``/series/0/steps/17``.
"""

from __future__ import annotations

import math
import re
import uuid
from array import array
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    StrictFloat,
    StrictInt,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.models import Schema, WriteSchema

MAX_KEY = 250
KEY_PATTERN = r"^[A-Za-z0-9_.\-/ ]{1,250}$"
_KEY = re.compile(KEY_PATTERN)
# Points one request may append, over all its series: a bounded request and transaction.
MAX_POINTS = 100_000
# Distinct series one request may touch.
MAX_SERIES = 1_000
# Points a read answers whole; longer ranges are read in pages (``start`` past the last step).
MAX_READ_POINTS = 1_000_000
MAX_BUCKETS = 10_000
# How many of a run's metrics one read of its metrics answers downsampled (``charts``), and
# into how many buckets unless asked otherwise.
MAX_CHARTS = 50
CHART_POINTS = 400
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

NonFinite = Literal["NaN", "Infinity", "-Infinity"]
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
Int64 = Annotated[StrictInt, Field(ge=INT64_MIN, le=INT64_MAX)]
Value = StrictFloat | NonFinite
Key = Annotated[
    str,
    Field(
        pattern=KEY_PATTERN,
        max_length=MAX_KEY,
        description="letters, digits, spaces and _ . - /; at most 250 characters",
    ),
]

_KEY_DETAIL = "a metric key holds letters, digits, spaces and _ . - / only"
_VALUE_DETAIL = "the value must be a number, or NaN, Infinity or -Infinity as text"


def _point_errors(exc: ValidationError, base: tuple[Any, ...] = ()) -> list[InitErrorDetails]:
    """The errors of ``exc`` with the union's member names taken off their locations (a value
    that is neither a number nor one of the texts is one error, at the value), once each."""
    seen: set[tuple[Any, ...]] = set()
    out: list[InitErrorDetails] = []
    for e in exc.errors():
        loc = tuple(e["loc"])
        if loc and loc[-1] in ("float", "literal['NaN','Infinity','-Infinity']"):
            loc = loc[:-1]
            error: Any = PydanticCustomError("metric_value", _VALUE_DETAIL)
        elif e["type"] == "string_pattern_mismatch":
            error = PydanticCustomError("metric_key", _KEY_DETAIL)
        else:
            error = PydanticCustomError(e["type"], e["msg"])
        loc = (*base, *loc)
        if loc in seen:
            continue
        seen.add(loc)
        out.append(InitErrorDetails(type=error, loc=loc, input=e.get("input")))
    return out


class _PointErrors(WriteSchema):
    @model_validator(mode="wrap")
    @classmethod
    def _named_points(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        try:
            return handler(data)
        except ValidationError as exc:
            raise ValidationError.from_exception_data(cls.__name__, _point_errors(exc)) from None


class MetricPoint(_PointErrors):
    """One point: a value of ``key`` at ``step``."""

    key: Key
    value: Value
    step: Int64 = Field(default=0, description="the epoch, iteration or batch; 0 if left out")
    timestamp: Int64 | None = Field(
        default=None, description="milliseconds since the epoch; the server's clock if left out"
    )
    execution: uuid.UUID | None = Field(
        default=None, description="the step (an execution of the run) that logged it"
    )
    artifact: uuid.UUID | None = Field(
        default=None, description="the artifact the metric measures (a model)"
    )


class MetricSeriesPoints(_PointErrors):
    """Points of one key as parallel lists: the i-th point is ``steps[i]``, ``values[i]``,
    ``timestamps[i]``."""

    key: Key
    execution: uuid.UUID | None = Field(
        default=None, description="the step (an execution of the run) that logged them"
    )
    artifact: uuid.UUID | None = Field(
        default=None, description="the artifact the metric measures (a model)"
    )
    steps: list[Int64] = Field(max_length=MAX_POINTS)
    values: list[Value] = Field(max_length=MAX_POINTS)
    timestamps: list[Int64] | None = Field(
        default=None,
        max_length=MAX_POINTS,
        description="milliseconds since the epoch; the server's clock if left out",
    )

    @model_validator(mode="after")
    def _parallel(self) -> Self:
        n = len(self.values)
        for name, values in (("steps", self.steps), ("timestamps", self.timestamps)):
            if values is not None and len(values) != n:
                raise ValueError(f"{name} has {len(values)} entries and values {n}: one per point")
        return self


class MetricsAppend(WriteSchema):
    """Points to append to a run's metric series, all of them or none."""

    points: list[MetricPoint] = Field(default_factory=list, max_length=MAX_POINTS)
    series: list[MetricSeriesPoints] = Field(default_factory=list, max_length=MAX_SERIES)


@dataclass
class SeriesAppend:
    """New points of one series, validated and packed: what the store appends."""

    key: str
    execution: uuid.UUID | None
    artifact: uuid.UUID | None
    steps: array[int]
    timestamps: array[int]
    values: array[float]
    # Where the points came from in the request (a pointer to each series or point sent).
    origin: list[str]


def _floats(values: list[Any]) -> array[float]:
    try:
        return array("d", values)
    except TypeError:  # texts for the values JSON has no number for
        return array("d", [_NONFINITE[v] if isinstance(v, str) else v for v in values])


def packed(request: MetricsAppend, *, now_ms: int) -> list[SeriesAppend]:
    """The request's points grouped by series (key and step), in the order they were sent.
    Raises ``InvalidInput`` at ``/`` when the request holds more than ``MAX_POINTS`` in all
    (a single list over the bound, ``/points`` or ``/series/0/steps``, is refused earlier,
    as the body is validated)."""
    total = len(request.points) + sum(len(s.values) for s in request.series)
    if total > MAX_POINTS:
        raise InvalidInput(
            f"a request may append at most {MAX_POINTS} points; this one has {total}: send "
            "them in several requests",
            errors=[{"pointer": "/", "detail": f"{total} points, more than {MAX_POINTS}"}],
        )
    groups: dict[tuple[str, uuid.UUID | None], SeriesAppend] = {}

    def group(
        key: str, execution: uuid.UUID | None, artifact: uuid.UUID | None, pointer: str
    ) -> SeriesAppend:
        found = groups.get((key, execution))
        if found is None:
            found = groups[(key, execution)] = SeriesAppend(
                key, execution, artifact, array("q"), array("q"), array("d"), []
            )
        elif artifact is not None and found.artifact not in (None, artifact):
            raise InvalidInput(
                f"{pointer}: series {key!r} is about artifact {found.artifact}, not {artifact}",
                errors=[{"pointer": pointer + "/artifact", "detail": "another artifact"}],
            )
        elif artifact is not None:
            found.artifact = artifact
        return found

    for i, s in enumerate(request.series):
        if not s.values:
            continue  # a series is made with its first point: empty lists make none
        g = group(s.key, s.execution, s.artifact, f"/series/{i}")
        g.steps.extend(array("q", s.steps))
        g.values.extend(_floats(s.values))
        if s.timestamps is None:
            g.timestamps.extend(array("q", [now_ms]) * len(s.values))
        else:
            g.timestamps.extend(array("q", s.timestamps))
        g.origin.append(f"/series/{i}")
    for i, p in enumerate(request.points):
        g = group(p.key, p.execution, p.artifact, f"/points/{i}")
        g.steps.append(p.step)
        g.values.append(_NONFINITE[p.value] if isinstance(p.value, str) else p.value)
        g.timestamps.append(now_ms if p.timestamp is None else p.timestamp)
        g.origin.append(f"/points/{i}")
    if len(groups) > MAX_SERIES:
        raise InvalidInput(
            f"a request may append to at most {MAX_SERIES} series; this one names {len(groups)}",
            errors=[{"pointer": "/", "detail": f"more than {MAX_SERIES} series"}],
        )
    return list(groups.values())


def valid_key(key: str) -> bool:
    return bool(_KEY.match(key))


def check_key(key: str, *, where: str = "/key", located: str | None = None) -> str:
    """``key`` if it may name a series, else ``InvalidInput`` at ``where`` (in the request's
    ``located``: ``query``, where the key is one of a parameter's)."""
    if not _KEY.match(key):
        error = {"pointer": where, "detail": "not a metric key"}
        raise InvalidInput(
            f"{key[:60]!r} is not a metric key: letters, digits, spaces and _ . - /, at most "
            f"{MAX_KEY} characters",
            errors=[error if located is None else {**error, "in": located}],
        )
    return key


def shown(value: float) -> float | str:
    """A value as JSON can hold it: the non-finite ones as text."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def stored_shown(stored: float | None, *, nan: bool = False) -> float | str | None:
    """A stored summary value (latest, least, greatest) as every answer gives it: the
    infinities as text, and NULL, which is how NaN is stored, as ``NaN`` where ``nan`` says
    that it stands for one (the latest value of a series with points), else null."""
    if stored is None:
        return "NaN" if nan else None
    return shown(stored)


# ---------------------------------------------------------------- what a read answers


ShownValue = Annotated[
    float | NonFinite, Field(description="a number, or NaN, Infinity or -Infinity as text")
]


class MetricSummary(Schema):
    """A series' or a run's key at a glance: how many points, the latest, the least, the
    greatest (NaN is left out of the least and the greatest; null when every value is NaN)."""

    key: str
    count: int
    latest: ShownValue | None = None
    latest_step: int | None = None
    latest_timestamp: int | None = None
    min: ShownValue | None = None
    max: ShownValue | None = None
    first_step: int | None = None
    last_step: int | None = None


class SeriesSummary(MetricSummary):
    """One series of a run: logged by the run itself (``execution`` null) or by one step."""

    execution: uuid.UUID | None = None
    artifact: uuid.UUID | None = None


class MetricsAppended(Schema):
    """What an append stored: the points, and each series touched as it is now."""

    appended: int
    series: list[SeriesSummary]


class SeriesPoints(Schema):
    """Points of one series in step order (points of one step in the order they were
    logged), as parallel lists; ``nextCursor`` continues past ``limit`` points."""

    run: uuid.UUID
    key: str
    execution: uuid.UUID | None = None
    count: int
    steps: list[int]
    timestamps: list[int]
    values: list[ShownValue]
    next_cursor: str | None = None


class SeriesBuckets(Schema):
    """A series downsampled for a chart: the step range cut into buckets of equal width, each
    with its count, least, greatest and last value (the value at its greatest step) and the
    steps of its first and last point; empty buckets are left out."""

    run: uuid.UUID
    key: str
    execution: uuid.UUID | None = None
    count: int
    buckets: int
    start_steps: list[int]
    end_steps: list[int]
    counts: list[int]
    mins: list[ShownValue | None]
    maxs: list[ShownValue | None]
    lasts: list[ShownValue]


class RunMetrics(Schema):
    """A run's metrics: per key over all the run's series (``metrics``, what lists sort and
    filter on), and each series (``series``); the first metrics' series downsampled
    (``charts``) when they were asked for."""

    run: uuid.UUID
    metrics: list[MetricSummary]
    series: list[SeriesSummary]
    charts: list[SeriesBuckets] = Field(
        default_factory=list,
        description="the series of the first `charts` metrics, in their order, downsampled",
    )
