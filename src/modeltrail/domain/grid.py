"""The runs grid: runs with the parameter, tag and metric columns asked for, and their
duration; and the comparison of many runs side by side."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from modeltrail.domain.models import Run, Schema


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
