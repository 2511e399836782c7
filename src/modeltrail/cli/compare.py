"""What changed: ``compare`` (two artifacts, or many runs), ``why`` and ``history``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.markup import escape
from rich.table import Table

from modeltrail.cli.common import (
    ExperimentOption,
    JsonOption,
    UrlOption,
    WideOption,
    app,
    connect,
    console,
    err_console,
    plural,
    print_json,
    registered,
    resolve,
    short_id,
)
from modeltrail.cli.lineage import API, cell
from modeltrail.domain.registry import ModelRef


@app.command()
def compare(
    refs: Annotated[
        list[str],
        typer.Argument(
            help="two artifacts (ids or names), or 'runs' and up to 100 runs (ids or names)",
            show_default=False,
        ),
    ],
    only_differences: Annotated[
        bool, typer.Option("--diff", help="only the fields that differ")
    ] = False,
    metrics: Annotated[
        str | None,
        typer.Option("--metrics", help="runs: the series of these metrics (comma-separated)"),
    ] = None,
    experiment: ExperimentOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Two artifacts side by side, or many runs: `compare runs A B C`.

    Two artifacts of the same kind are compared field by field; runs by their parameters,
    metrics and the artifacts they read and wrote.
    """
    if refs[0] == "runs":
        _compare_runs(refs[1:], metrics, only_differences, url, as_json)
        return
    if refs[0] == "artifacts":
        refs = refs[1:]
    if len(refs) != 2:
        raise typer.BadParameter(
            "compare two artifacts (A B), or runs (runs A B C ...)", param_hint="REFS"
        )
    a, b = refs
    with connect(url) as conn:
        result = conn.get(
            f"{API}/compare",
            a=resolve(conn, "artifacts", a, experiment=experiment),
            b=resolve(conn, "artifacts", b, experiment=experiment),
        )
    if as_json:
        print_json(result)
        return
    table = Table(
        "",
        "field",
        escape(f"A: {result['a']['name']}"),
        escape(f"B: {result['b']['name']}"),
        title=f"{result['kind']}: {plural(result['differences'], 'difference')}",
    )
    for f in result["fields"]:
        if only_differences and f["equal"]:
            continue
        mark = "" if f["equal"] else "[red]≠[/red]"
        style = None if f["equal"] else "bold"
        table.add_row(
            mark,
            escape(f["field"]),
            escape(cell(f.get("a"))),
            escape(cell(f.get("b"))),
            style=style,
        )
    console.print(table)


def _compare_runs(
    refs: list[str], metrics: str | None, only_differences: bool, url: str | None, as_json: bool
) -> None:
    if not refs:
        raise typer.BadParameter("name the runs to compare: runs A B C", param_hint="REFS")
    with connect(url) as conn:
        result = conn.get(f"{API}/compare/runs", ids=",".join(refs), metrics=metrics)
    if as_json:
        print_json(result)
        return
    names = [escape(r["name"]) for r in result["runs"]]
    runs = Table("", "run", "status", "duration", title=plural(len(names), "run"))
    for r in result["runs"]:
        duration = "" if r["duration"] is None else f"{r['duration']:.1f}s"
        runs.add_row(short_id(r["id"]), escape(r["name"]), r["status"], duration)
    console.print(runs)
    for title, differing, equal in (
        ("parameters", result["differingParameters"], result["equalParameters"]),
        ("tags", result["differingTags"], result["equalTags"]),
    ):
        rows = differing + ([] if only_differences else equal)
        if not rows:
            continue
        table = Table("", title[:-1], *names, title=f"{title}: {len(differing)} differ")
        for item in rows:
            mark = "" if item["equal"] else "[red]≠[/red]"
            table.add_row(mark, escape(item["key"]), *(escape(cell(v)) for v in item["values"]))
        console.print(table)
    across = [(m, _metric_equal(m)) for m in result["metrics"]]
    shown_metrics = [(m, equal) for m, equal in across if not (only_differences and equal)]
    if shown_metrics:
        differ = sum(not equal for _, equal in across)
        table = Table("", "metric", *names, title=f"metrics: {differ} differ; latest (min … max)")
        for m, equal in shown_metrics:
            cells = [
                metric_cell(latest, low, high)
                for latest, low, high in zip(m["latest"], m["min"], m["max"], strict=True)
            ]
            table.add_row("" if equal else "[red]≠[/red]", escape(m["key"]), *cells)
        console.print(table)
    artifacts = [a for a in result["artifacts"] if a["differs"] or not only_differences]
    if artifacts:
        table = Table("", "role", "kind", "name", *names, title="artifacts read and written")
        for a in artifacts:
            cells = [", ".join(f[:8] for f in fs) or "-" for fs in a["fingerprints"]]
            mark = "[red]≠[/red]" if a["differs"] else ""
            table.add_row(mark, a["role"], escape(a["kind"]), escape(a["name"]), *cells)
        console.print(table)


def _metric_value(value: float | str | None) -> str:
    """A metric's value, short: 0.9436, 1.2e-05, NaN, ∞, -∞ (the API writes NaN and the
    infinities as text); - for none."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return {"Infinity": "∞", "-Infinity": "-∞"}.get(value, value)
    return f"{value:.4g}"


def metric_cell(
    latest: float | str | None, low: float | str | None, high: float | str | None
) -> str:
    """A run's metric as ``latest (min … max)``: each part shown where the run has it,
    empty where the run logged none of the three."""
    if latest is None and low is None and high is None:
        return ""
    return f"{_metric_value(latest)} ({_metric_value(low)} … {_metric_value(high)})"


def _metric_equal(metric: dict[str, Any]) -> bool:
    """Every run has the metric, with the same latest, least and greatest value."""
    per_run = list(zip(metric["latest"], metric["min"], metric["max"], strict=True))
    return all(v is not None for v in metric["latest"]) and all(v == per_run[0] for v in per_run)


@app.command()
def why(
    model: Annotated[
        str,
        typer.Argument(
            help="artifact id or name (a name means its latest version), or a registered "
            "model's version: NAME@ALIAS, models:/NAME/3"
        ),
    ],
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            help="the artifact to diff against (default: for NAME@ALIAS the version the alias "
            "pointed at before, else the previous artifact of that name)",
        ),
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="also the differences that follow from others")
    ] = False,
    experiment: ExperimentOption = None,
    url: UrlOption = None,
    wide: WideOption = False,
    as_json: JsonOption = False,
) -> None:
    """What differs in how two artifacts were made, the likely root cause first."""
    with connect(url) as conn:
        version = registered(conn, model)
        if version is not None and against is None:
            against = _before(conn, model, version)
        if version is not None:
            artifact_id = str(version["artifact"]["id"])
        else:
            artifact_id = resolve(conn, "artifacts", model, experiment=experiment)
        other = resolve(conn, "artifacts", against, experiment=experiment) if against else None
        result = conn.get(f"{API}/artifacts/{artifact_id}/diff", against=other)
    if as_json:
        print_json(result)
        return
    a, b = result["artifact"], result["against"]
    console.print(
        f"[bold]{escape(a['name'])}[/bold] ({short_id(a['id'])}, {a['createTime'][:19]}) against "
        f"[bold]{escape(b['name'])}[/bold] ({short_id(b['id'])}, {b['createTime'][:19]})"
    )
    differences = result["differences"]
    shown = [d for d in differences if show_all or not d["derived"]]
    if not differences:
        console.print("[green]no difference in their lineage[/green]")
    for n, d in enumerate(shown, start=1):
        where = (
            f" [dim](step {d['step']['kind']}, {d['step']['level']} up)[/dim]"
            if d.get("step")
            else ""
        )
        tag = " [dim](follows from the above)[/dim]" if d["derived"] else ""
        console.print(f"[bold]{n}.[/bold] {escape(d['subject'])}{where}{tag}")
        for c in d["changes"]:
            if c["field"] == "fingerprint" and len(d["changes"]) > 1:
                continue
            console.print(
                f"     {escape(c['field'])}: [red]{escape(cell(c.get('before')))}[/red] -> "
                f"[green]{escape(cell(c.get('after')))}[/green]"
            )
    hidden = len(differences) - len(shown)
    if hidden:
        follow = "follows from these" if hidden == 1 else "follow from these"
        console.print(f"[dim]{plural(hidden, 'more difference')} {follow} (--all shows them)[/dim]")
    if result.get("truncated"):
        console.print("[yellow]the lineage was cut at the depth limit[/yellow]")


def _before(conn: Any, ref: str, version: dict[str, Any]) -> str | None:
    """For ``NAME@ALIAS``: the version the alias pointed at before the one it points at now,
    as a reference (None for a version or an alias never moved: the previous artifact of the
    name is then the default)."""
    parsed = ModelRef.parse(ref, bare=True)
    if parsed.alias is None:
        return None
    alias = conn.get(
        f"{API}/models/{quote(version['model'], safe='')}/aliases/{quote(parsed.alias, safe='')}"
    )
    previous = alias.get("previousVersion")
    if previous is None:
        return None
    err_console.print(
        f"note: {parsed.alias} points at version {version['version']} of {version['model']}, "
        f"and pointed at version {previous} before",
        highlight=False,
    )
    return f"models:/{version['model']}/{previous}"


@app.command()
def history(
    experiment: Annotated[
        str, typer.Argument(help="experiment (or with --pipeline, pipeline) id or name")
    ],
    since_last_deploy: Annotated[
        bool,
        typer.Option("--since-last-deploy", help="only runs after the last successful deployment"),
    ] = False,
    pipeline: Annotated[
        bool, typer.Option("--pipeline", help="the argument names a pipeline")
    ] = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Why each run ran and how it ended; the runs since the last deployment."""
    plural = "pipelines" if pipeline else "experiments"
    with connect(url) as conn:
        result = conn.get(
            f"{API}/{plural}/{resolve(conn, plural, experiment)}/history",
            sinceLastDeploy=str(since_last_deploy).lower(),
        )
    if as_json:
        print_json(result)
        return
    table = Table(
        "run",
        "started",
        "status",
        "trigger",
        "event",
        "first failed step",
        "deployed",
        title=f"history of {result['subject']['name']}",
    )
    for r in result["runs"]:
        t = r.get("trigger") or {}
        failed = r.get("firstFailed")
        color = {"SUCCESS": "green", "FAILED": "red"}.get(r["status"], "yellow")
        table.add_row(
            escape(r["name"]),
            r["createTime"][:19],
            f"[{color}]{r['status']}[/{color}]",
            escape(str(t.get("cause") or "")),
            escape(t.get("name", "")),
            escape(f"{failed['name']} ({failed.get('kind', '')})") if failed else "",
            "yes" if r["deployed"] else "",
        )
    console.print(table)
    last = result.get("lastDeploy")
    moved = result.get("lastDeployment")
    if moved:
        shown = (
            f"{escape(moved['alias'])} of {escape(moved['model'])} moved to version "
            f"{moved['version']} {moved['time'][:19]} (made by run {escape(last['name'])})"
        )
    else:
        shown = escape(last["name"]) + " " + last["createTime"][:19] if last else "none"
    console.print(
        f"last successful deployment: {shown}; runs since: {result['runsSinceLastDeploy']}"
    )
    console.print(
        "by trigger cause: "
        + ", ".join(f"{escape(k)} {v}" for k, v in result["countsByCause"].items())
    )
