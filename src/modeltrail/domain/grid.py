"""The runs grid: runs with the parameter, tag and metric columns asked for, and their
duration; and the comparison of many runs side by side."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from modeltrail.domain.models import Run, Schema
from modeltrail.domain.series import ShownValue


class RunInGrid(Run):
    duration: float | None = Field(
        None, description="seconds from createTime to endTime; none while the run is running"
    )
    columns: dict[str, Any] = Field(
        default_factory=dict,
        description="the value of each column asked for (null where the run has none)",
    )


class RunGrid(Schema):
    """A page of runs with their columns. ``columns`` names them in order (with ``auto``,
    the ones chosen)."""

    columns: list[str] = Field(default_factory=list)
    items: list[RunInGrid]
    next_cursor: str | None = None
    total: int | None = None
    names: dict[str, str] = Field(
        default_factory=dict,
        description="the names of the runs' experiments, pipelines and trigger events, by id",
    )


class RunKeys(Schema):
    """The columns a list of runs can show, sort and filter on, as they are written in
    ``columns``, ``sort``, ``filter`` and ``q``: what a grid offers and completes."""

    parameters: list[str] = Field(description="configuration.KEY of the runs' parameters")
    tags: list[str] = Field(description="annotations.KEY of the runs' tags")
    metrics: list[str] = Field(description="metrics.KEY of the metrics the runs logged")
    sampled: int = Field(description="how many of the newest matching runs were looked at")


class RunSummary(Schema):
    id: uuid.UUID
    name: str
    experiment: uuid.UUID
    status: str
    create_time: datetime
    end_time: datetime | None
    duration: float | None


class ValuesAcross(Schema):
    """A parameter or tag: its value in each run (in the order of ``runs``; null where a run
    has none) and whether every run has the same."""

    key: str
    values: list[Any]
    equal: bool


class MetricAcross(Schema):
    """A metric in each run (in the order of ``runs``), as the runs grid's cells answer it:
    from the run's series, else from its ``metrics`` artifacts."""

    key: str
    latest: list[ShownValue | None] = Field(
        description="the value of the greatest step; NaN, Infinity or -Infinity as text; "
        "null where the run logged none"
    )
    min: list[ShownValue | None] = Field(
        description="the least value (NaN left out); -Infinity or Infinity as text; null "
        "where the run logged none or only NaN"
    )
    max: list[ShownValue | None] = Field(
        description="the greatest value (NaN left out); Infinity or -Infinity as text; null "
        "where the run logged none or only NaN"
    )


class ArtifactAcross(Schema):
    """The artifacts of one kind and name that the runs read from outside themselves
    (``input``; what a run's own step wrote and another of its steps read is its ``output``
    only) or wrote (``output``): their fingerprints per run; ``differs`` where the runs'
    differ."""

    role: str
    kind: str
    name: str
    fingerprints: list[list[str]]
    differs: bool


class SeriesOfRun(Schema):
    """Points of one run's series: step and value (NaN, Infinity, -Infinity as text), with
    the least and greatest value of the bucket each point stands for when downsampled."""

    steps: list[int]
    values: list[float | str | None]
    min: list[float | str | None] | None = None
    max: list[float | str | None] | None = None


class SeriesAcross(Schema):
    key: str
    runs: list[SeriesOfRun]


class RunComparison(Schema):
    runs: list[RunSummary]
    differing_parameters: list[ValuesAcross]
    equal_parameters: list[ValuesAcross]
    differing_tags: list[ValuesAcross]
    equal_tags: list[ValuesAcross]
    metrics: list[MetricAcross]
    artifacts: list[ArtifactAcross]
    series: list[SeriesAcross]
