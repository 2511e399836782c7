"""``modeltrail metrics list|show``: a run's metric series, read from the command line.

``metrics log`` (in ``write``) logs a metric; with ``--step`` it appends a point to a series.
"""

from __future__ import annotations

import csv
import sys
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.table import Table

from modeltrail.cli.common import (
    ExperimentOption,
    JsonOption,
    UrlOption,
    connect,
    console,
    print_json,
    resolve,
    short_id,
)
from modeltrail.cli.write import metrics_app

API = "/api/v1"


def _shown(value: Any) -> str:
    return "" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)


@metrics_app.command("list")
def list_series(
    run: Annotated[str, typer.Argument(help="the run (id or name)")],
    experiment: ExperimentOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """A run's metrics: each key's points, latest, least and greatest value, and each series
    (the run's own and its steps')."""
    with connect(url) as conn:
        run_id = resolve(conn, "runs", run, experiment=experiment)
        answer = conn.get(f"{API}/runs/{run_id}/metrics")
    if as_json:
        print_json(answer)
        return
    table = Table("key", "points", "latest", "at step", "min", "max", "steps", title="metrics")
    for m in answer["metrics"]:
        table.add_row(
            m["key"],
            str(m["count"]),
            _shown(m["latest"]),
            _shown(m["latestStep"]),
            _shown(m["min"]),
            _shown(m["max"]),
            f"{m['firstStep']}..{m['lastStep']}",
        )
    console.print(table)
    if len(answer["series"]) > len(answer["metrics"]):
        steps = Table("key", "logged by", "points", "latest", title="series")
        for s in answer["series"]:
            by = "the run" if s["execution"] is None else f"step {short_id(s['execution'])}"
            steps.add_row(s["key"], by, str(s["count"]), _shown(s["latest"]))
        console.print(steps)


@metrics_app.command("show")
def show_series(
    run: Annotated[str, typer.Argument(help="the run (id or name)")],
    key: Annotated[str, typer.Argument(help="the metric's key, e.g. loss or val/acc")],
    start: Annotated[int | None, typer.Option(help="the first step")] = None,
    end: Annotated[int | None, typer.Option(help="the last step")] = None,
    points: Annotated[
        int | None,
        typer.Option("--points", help="downsample to N buckets (min, max, last each)"),
    ] = None,
    step_of: Annotated[
        str | None,
        typer.Option(
            "--execution",
            help="the step (execution id) whose series to show, or 'run' for the run's own; "
            "default: all of the run's series of the key, merged",
        ),
    ] = None,
    experiment: ExperimentOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
) -> None:
    """One metric series of a run: its points in step order, or downsampled for a chart."""
    params = {"start": start, "end": end, "points": points, "execution": step_of}
    with connect(url) as conn:
        run_id = resolve(conn, "runs", run, experiment=experiment)
        # One segment: a key's slashes and dots ("../loss", ".") are no path to follow.
        segment = quote(key, safe="").replace(".", "%2E")
        path = f"{API}/runs/{run_id}/metrics/{segment}"
        answer = conn.get(path, **params)
        pages = [answer]
        while points is None and answer.get("nextCursor"):
            answer = conn.get(path, **params, cursor=answer["nextCursor"])
            pages.append(answer)
    if points is None and len(pages) > 1:
        merged = dict(pages[0])
        for name in ("steps", "timestamps", "values"):
            merged[name] = [v for page in pages for v in page[name]]
        merged["count"], merged["nextCursor"] = len(merged["steps"]), None
        answer = merged
    if as_json:
        print_json(answer)
        return
    if points is None:
        header = ["step", "timestamp", "value"]
        rows = list(zip(answer["steps"], answer["timestamps"], answer["values"], strict=True))
    else:
        header = ["first step", "last step", "points", "min", "max", "last"]
        rows = list(
            zip(
                answer["startSteps"],
                answer["endSteps"],
                answer["counts"],
                answer["mins"],
                answer["maxs"],
                answer["lasts"],
                strict=True,
            )
        )
    if as_csv:
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)
        return
    table = Table(*header, title=f"{key} ({answer['count']} points)")
    for row in rows:
        table.add_row(*(_shown(v) for v in row))
    console.print(table)
