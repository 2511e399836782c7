"""What a user writes by hand: ``experiments create``, ``runs start|finish``, ``metrics log``,
``annotate``."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from modeltrail.cli.common import (
    ExperimentOption,
    JsonOption,
    UrlOption,
    app,
    connect,
    console,
    print_json,
    resolve,
)
from modeltrail.cli.entities import GROUPS
from modeltrail.domain.entities import ENTITIES

API = "/api/v1"
AnnotationOption = Annotated[
    list[str],
    typer.Option("--annotation", "-a", help="KEY=VALUE, repeatable", show_default=False),
]


def _pairs(texts: list[str]) -> dict[str, str]:
    pairs = {}
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"'{text}' is not KEY=VALUE")
        pairs[key] = value
    return pairs


def _done(item: dict[str, Any], what: str, as_json: bool) -> None:
    if as_json:
        print_json(item)
    else:
        console.print(f"{what} {item['name']} {item['id']}", highlight=False)


@GROUPS["experiments"].command("create")
def create_experiment(
    name: Annotated[str, typer.Argument(help="the experiment's name")],
    annotation: AnnotationOption = [],  # noqa: B006
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an experiment."""
    with connect(url, write=True) as conn:
        item = conn.post(f"{API}/experiments", {"name": name, "annotations": _pairs(annotation)})
    _done(item, "created experiment", as_json)


@GROUPS["runs"].command("start")
def start_run(
    experiment: Annotated[str, typer.Argument(help="the experiment (id or name)")],
    name: Annotated[str, typer.Option("--name", help="the run's name")] = "run",
    annotation: AnnotationOption = [],  # noqa: B006
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start a run of an experiment (status RUNNING); print its id."""
    with connect(url, write=True) as conn:
        exp = resolve(conn, "experiments", experiment)
        item = conn.post(
            f"{API}/runs",
            {"experiment": exp, "name": name, "annotations": _pairs(annotation)},
        )
    _done(item, "started run", as_json)


@GROUPS["runs"].command("finish")
def finish_run(
    run: Annotated[str, typer.Argument(help="the run (id or name)")],
    status: Annotated[str, typer.Option("--status", help="SUCCESS or FAILED")] = "SUCCESS",
    experiment: ExperimentOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Finish a run: SUCCESS (the default) or FAILED."""
    final = status.upper()
    if final not in ("SUCCESS", "FAILED"):
        raise typer.BadParameter("SUCCESS or FAILED", param_hint="--status")
    with connect(url, write=True) as conn:
        run_id = resolve(conn, "runs", run, experiment=experiment)
        now = datetime.now(UTC).isoformat()
        item = conn.patch(f"{API}/runs/{run_id}", {"status": final, "endTime": now})
    _done(item, f"finished ({final}) run", as_json)


metrics_app = typer.Typer(help="Log and read metrics and metric series.", no_args_is_help=True)
app.add_typer(metrics_app, name="metrics", rich_help_panel="Store")


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _log_point(
    run: str,
    key: str,
    value: Any,
    step: int,
    of: str | None,
    experiment: str | None,
    url: str | None,
    as_json: bool,
) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        value = "NaN" if value != value else "Infinity" if value > 0 else "-Infinity"
    point: dict[str, Any] = {"key": key, "value": value, "step": step}
    with connect(url, write=True) as conn:
        run_id = resolve(conn, "runs", run, experiment=experiment)
        if of is not None:
            point["artifact"] = resolve(conn, "artifacts", of, experiment=experiment)
        answer = conn.post(
            f"{API}/runs/{run_id}/metrics",
            {"points": [point]},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
    if as_json:
        print_json(answer)
        return
    summary = answer["series"][0]
    console.print(
        f"logged {key} = {value} at step {step}: {summary['count']} points, latest "
        f"{summary['latest']} at step {summary['latestStep']}",
        highlight=False,
    )


@metrics_app.command("log")
def log_metric(
    run: Annotated[str, typer.Argument(help="the run (id or name)")],
    name: Annotated[str, typer.Argument(help="the metric, e.g. accuracy")],
    value: Annotated[str, typer.Argument(help="a number, or any JSON value")],
    of: Annotated[
        str | None,
        typer.Option("--of", help="the artifact it measures (id or name), e.g. a model"),
    ] = None,
    step: Annotated[
        int | None,
        typer.Option("--step", help="append a point at this step to the run's series NAME"),
    ] = None,
    experiment: ExperimentOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Log a metric for a run: a metrics artifact, written by a step 'log metrics' of the run;
    with --step, a point of the run's metric series instead."""
    parsed = _value(value)
    if step is not None:
        _log_point(run, name, parsed, step, of, experiment, url, as_json)
        return
    attributes: dict[str, Any] = {"value": parsed}
    if isinstance(parsed, bool):
        attributes["schema"] = "boolean"
    elif isinstance(parsed, int | float):
        attributes["schema"] = "number"
    with connect(url, write=True) as conn:
        run_id = resolve(conn, "runs", run, experiment=experiment)
        if of is not None:
            attributes["reference"] = resolve(conn, "artifacts", of, experiment=experiment)
        item = conn.post(
            f"{API}/artifacts", {"name": name, "kind": "metrics", "attributes": attributes}
        )
        code = conn.post(
            f"{API}/executables",
            {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "modeltrail:cli")), "name": "modeltrail"},
        )
        conn.post(
            f"{API}/executions",
            {
                "run": run_id,
                "executable": code["id"],
                "name": "log metrics",
                "kind": "evaluation",
                "status": "SUCCESS",
                "outputArtifacts": [item["id"]],
            },
        )
    _done(item, "logged metric", as_json)


PLURALS = {name: entity.plural for name, entity in ENTITIES.items()}


@app.command(rich_help_panel="Store")
def annotate(
    entity: Annotated[str, typer.Argument(help=f"one of: {', '.join(PLURALS)}")],
    ref: Annotated[str, typer.Argument(help="its id or name")],
    pairs: Annotated[list[str], typer.Argument(help="KEY=VALUE ... (KEY= removes KEY)")],
    experiment: ExperimentOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Annotate any entity by hand: add or change KEY=VALUE, remove with KEY=."""
    plural = PLURALS.get(entity.lower().rstrip("s")) or PLURALS.get(entity.lower())
    if plural is None:
        raise typer.BadParameter(f"one of {', '.join(PLURALS)}", param_hint="ENTITY")
    changes = _pairs(pairs)
    with connect(url, write=True) as conn:
        entity_id = resolve(conn, plural, ref, experiment=experiment)
        current = conn.get(f"{API}/{plural}/{entity_id}")
        annotations = dict(current.get("annotations") or {})
        for key, value in changes.items():
            if value:
                annotations[key] = value
            else:
                annotations.pop(key, None)
        item = conn.patch(
            f"{API}/{plural}/{entity_id}",
            {"annotations": annotations},
            revision=current.get("revision"),
        )
    if as_json:
        print_json(item)
    else:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(item["annotations"].items()))
        console.print(f"{entity} {item['name']}: {shown or 'no annotations'}", highlight=False)
