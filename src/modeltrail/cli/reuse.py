"""Reuse and rebuilding: ``reproduce``, ``cache lookup``, ``reuse report``."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

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
from modeltrail.cli.lineage import API, DepthOption, node_label


@app.command()
def reproduce(
    artifact: Annotated[str, typer.Argument(help="artifact id or name")],
    format: Annotated[str, typer.Option("--format", help="text, json or sh")] = "text",
    depth: DepthOption = None,
    experiment: ExperimentOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The recipe that rebuilds an artifact, and every gap that would prevent it."""
    if as_json:
        format = "json"
    if format not in {"text", "json", "sh"}:
        raise typer.BadParameter("--format must be text, json or sh")
    with connect(url) as conn:
        artifact_id = resolve(conn, "artifacts", artifact, experiment=experiment)
        if format == "sh":
            text = conn.request(
                "GET",
                f"{API}/artifacts/{artifact_id}/recipe",
                params={"format": "sh", **({"depth": depth} if depth else {})},
            ).text
            sys.stdout.write(text)
            return
        result = conn.get(f"{API}/artifacts/{artifact_id}/recipe", depth=depth)
    if format == "json":
        print_json(result)
        return
    console.print(
        f"[bold]recipe for {escape(result['artifact']['name'])}[/bold] "
        f"({'complete' if result['complete'] else '[red]incomplete[/red]'})"
    )
    for s in result["steps"]:
        exe = s["executable"]
        console.print(
            f"[bold]{s['order']}.[/bold] {escape(s['execution']['name'])} "
            f"[dim]({s['execution'].get('kind', '')}, "
            f"{s['execution'].get('status', '')})[/dim]"
        )
        console.print(
            f"   executable {escape(exe['name'])} v{escape(exe['version'])} "
            f"{escape(exe.get('uri') or '(no uri)')}"
            + (f" source {escape(s['sourceHash'])}" if s.get("sourceHash") else "")
        )
        if s.get("command"):
            console.print(f"   command    {escape(s['command'])}")
        if s["configuration"]:
            console.print(f"   config     {escape(json.dumps(s['configuration']))}")
        if s["runConfiguration"]:
            console.print(f"   run config {escape(json.dumps(s['runConfiguration']))}")
        for i in s["inputs"]:
            origin = (
                f"from step {i['producedByStep']}"
                if i.get("producedByStep")
                else escape(i.get("uri") or "(no uri)")
            )
            console.print(f"   in  {escape(i['kind'])} {escape(i['name'])} {origin}")
        for o in s["outputs"]:
            console.print(
                f"   out {escape(o['kind'])} {escape(o['name'])} {escape(o.get('uri') or '')}"
            )
    for g in result["gaps"]:
        color = "red" if g["blocking"] else "yellow"
        console.print(f"[{color}]gap[/{color}] {escape(g['detail'])}")


cache_app = typer.Typer(help="Has this step already been computed?", no_args_is_help=True)
reuse_app = typer.Typer(
    help="Work that was repeated and could have been reused.", no_args_is_help=True
)
app.add_typer(cache_app, name="cache")
app.add_typer(reuse_app, name="reuse")


def _parse_config(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--config takes KEY=VALUE, not {item!r}")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


@cache_app.command("lookup")
def cache_lookup(
    executable: Annotated[str | None, typer.Option("--executable", help="executable name")] = None,
    version: Annotated[str, typer.Option("--version", help="executable version")] = "1",
    uri: Annotated[str | None, typer.Option("--uri", help="executable uri")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="execution kind")] = None,
    config: Annotated[
        list[str], typer.Option("--config", help="KEY=VALUE (JSON values), repeatable")
    ] = [],  # noqa: B006
    inputs: Annotated[
        list[str], typer.Option("--input", help="input artifact id or name, repeatable")
    ] = [],  # noqa: B006
    execution: Annotated[
        str | None,
        typer.Option(
            "--execution", help="find another execution that did the same work as this one"
        ),
    ] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The latest successful execution that did this work, and its outputs to reuse."""
    if execution is None and (executable is None or kind is None):
        raise typer.BadParameter("give --execution, or --executable and --kind")
    with connect(url) as conn:
        if execution is not None:
            result = conn.get(f"{API}/executions/{resolve(conn, 'executions', execution)}/cache")
        else:
            body = {
                "executable": {"name": executable, "version": version, "uri": uri},
                "kind": kind,
                "configuration": _parse_config(config),
                "inputArtifacts": [resolve(conn, "artifacts", i) for i in inputs],
            }
            result = conn.post(f"{API}/cache/lookup", body)
    if as_json:
        print_json(result)
        return
    e = result["execution"]
    console.print(
        f"[green]already computed[/green] by execution {escape(e['name'])} ({e['id']}) "
        f"in run {e['run']}, "
        f"{(e.get('endTime') or e.get('createTime') or '')[:19]}"
    )
    for o in result["outputs"]:
        console.print(f"  reuse {node_label(o)} ({o['id']})")


@reuse_app.command("report")
def reuse_report(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Per executable: executions, repeats of earlier work, and repeats with equal outputs."""
    with connect(url) as conn:
        result = conn.get(f"{API}/reports/reuse")
    if as_json:
        print_json(result)
        return
    table = Table(
        "executable",
        "version",
        "executions",
        "successful",
        "distinct work",
        "repeats",
        "reusable",
        "reused",
        title="reuse",
    )
    for r in result["items"]:
        exe = r["executable"]
        table.add_row(
            escape(exe["name"]),
            escape(exe["version"]),
            str(r["executions"]),
            str(r["successful"]),
            str(r["distinctWork"]),
            str(r["repeats"]),
            str(r["reusable"]),
            str(r["reused"]),
        )
    console.print(table)
    console.print(
        "[dim]reusable: repeats that wrote outputs equal to an earlier execution's - their work "
        "could have been skipped[/dim]"
    )
