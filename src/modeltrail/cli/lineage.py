"""Lineage commands: ``dag``, ``lineage``, ``impact``, ``flag``/``unflag``/``flags``,
``compare``, ``why``, ``history``, ``reproduce``, ``trace``, ``cache lookup``, ``reuse report``."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

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
from modeltrail.domain.registry import ModelRef

API = "/api/v1"
DepthOption = Annotated[
    int | None, typer.Option("--depth", help="at most this many steps (default: all)")
]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def _label(node: dict[str, Any], *, bold: bool = False) -> str:
    kind = node.get("kind") or node["type"]
    name = escape(str(node["name"]))
    text = f"[bold]{name}[/bold]" if bold else name
    if node["type"] == "execution":
        exe = node.get("executable") or {}
        status = node.get("status", "")
        color = {"SUCCESS": "green", "FAILED": "red"}.get(status, "yellow")
        code = escape(f"{exe.get('name', '')} v{exe.get('version', '')}")
        return f"[cyan]{escape(kind)}[/cyan] {text} ({code}) [{color}]{status}[/{color}]"
    if node["type"] == "run":
        return f"[magenta]run[/magenta] {text} {node.get('status', '')}"
    if node["type"] == "event":
        cause = (node.get("attributes") or {}).get("cause")
        return f"[magenta]event[/magenta] {text}" + (
            f" cause={escape(str(cause))}" if cause else ""
        )
    parts = [f"[blue]{escape(kind)}[/blue] {text}"]
    if node.get("version") and node.get("version") != "1":
        parts.append(f"v{escape(str(node['version']))}")
    if node.get("uri"):
        parts.append(f"[dim]{escape(node['uri'])}[/dim]")
    if len(node.get("artifacts") or []) > 1:
        parts.append(f"[dim](x{len(node['artifacts'])} equal)[/dim]")
    if node.get("flagged"):
        parts.append(f"[red]FLAGGED: {escape(node['flagged']['reason'])}[/red]")
    elif node.get("affectedBy"):
        parts.append("[red]AFFECTED by a flagged artifact[/red]")
    return " ".join(parts)


def _graph_tree(graph: dict[str, Any], *, upstream: bool) -> Tree:
    nodes = {n["id"]: n for n in graph["nodes"]}
    follow: dict[str, list[str]] = defaultdict(list)
    for e in graph["edges"]:
        if e["type"] == "successor":  # order of steps, not lineage: the data edges show it
            continue
        if upstream:
            follow[e["target"]].append(e["source"])
        else:
            follow[e["source"]].append(e["target"])
    root = graph["root"]
    tree = Tree(_label(nodes[root], bold=True))
    shown = {root}
    # Depth first in the order the tree is printed, so that a node's first copy on the screen
    # is the one expanded and every later one says "(shown above)".
    stack = [(tree, iter(follow[root]))]
    while stack:
        branch, pending = stack[-1]
        nxt = next(pending, None)
        if nxt is None:
            stack.pop()
            continue
        if nxt not in nodes:
            continue
        if nxt in shown:
            branch.add(_label(nodes[nxt]) + " [dim](shown above)[/dim]")
            continue
        shown.add(nxt)
        stack.append((branch.add(_label(nodes[nxt])), iter(follow[nxt])))
    return tree


@app.command()
def dag(
    run: Annotated[str, typer.Argument(help="run id or name")],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The DAG of a run: its executions with the artifacts they read and wrote."""
    with connect(url) as conn:
        result = conn.get(f"{API}/runs/{resolve(conn, 'runs', run)}/dag")
    if as_json:
        print_json(result)
        return
    nodes = {n["id"]: n for n in result["nodes"]}
    inputs: dict[str, list[str]] = defaultdict(list)
    outputs: dict[str, list[str]] = defaultdict(list)
    successors: dict[str, list[str]] = defaultdict(list)
    for e in result["edges"]:
        {"input": inputs, "output": outputs, "successor": successors}[e["type"]][
            e["target"] if e["type"] == "input" else e["source"]
        ].append(e["source"] if e["type"] == "input" else e["target"])
    tree = Tree(_label(result["run"], bold=True))
    for n in result["nodes"]:
        if n["type"] != "execution":
            continue
        branch = tree.add(_label(n))
        for a in inputs[n["id"]]:
            branch.add("[dim]in [/dim] " + _label(nodes[a]))
        for a in outputs[n["id"]]:
            branch.add("[dim]out[/dim] " + _label(nodes[a]))
        if successors[n["id"]]:
            branch.add(
                "[dim]then[/dim] "
                + ", ".join(escape(nodes[s]["name"]) for s in successors[n["id"]])
            )
    console.print(tree)


@app.command("lineage")
def lineage_(
    artifact: Annotated[
        str, typer.Argument(help="artifact id or name (a name means its latest version)")
    ],
    downstream: Annotated[
        bool, typer.Option("--downstream", help="what was derived from it")
    ] = False,
    depth: DepthOption = None,
    no_merge: Annotated[
        bool, typer.Option("--no-merge", help="keep equal artifacts apart")
    ] = False,
    experiment: ExperimentOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Everything an artifact was derived from, back to the events that started its runs."""
    with connect(url) as conn:
        artifact_id = resolve(conn, "artifacts", artifact, experiment=experiment)
        result = conn.get(
            f"{API}/artifacts/{artifact_id}/lineage",
            direction="downstream" if downstream else "upstream",
            depth=depth,
            mergeEqual=str(not no_merge).lower(),
        )
    if as_json:
        print_json(result)
        return
    console.print(_graph_tree(result, upstream=not downstream))
    counts: dict[str, int] = defaultdict(int)
    for n in result["nodes"]:
        counts[n["type"]] += 1
    summary = ", ".join(f"{v} {k}s" for k, v in sorted(counts.items()))
    console.print(f"[dim]{summary}[/dim]")
    if result["truncated"]:
        console.print(
            f"[yellow]truncated: the lineage goes deeper than {result['depth']} steps; "
            "raise --depth[/yellow]"
        )


@app.command()
def impact(
    artifact: Annotated[str, typer.Argument(help="artifact id or name")],
    depth: DepthOption = None,
    experiment: ExperimentOption = None,
    url: UrlOption = None,
    wide: WideOption = False,
    as_json: JsonOption = False,
) -> None:
    """Everything derived from an artifact, with the path that connects it."""
    with connect(url) as conn:
        artifact_id = resolve(conn, "artifacts", artifact, experiment=experiment)
        result = conn.get(
            f"{API}/artifacts/{artifact_id}/impact",
            depth=depth,
        )
    if as_json:
        print_json(result)
        return
    _print_impact(result)


def _print_impact(result: dict[str, Any]) -> None:
    names = {
        n["id"]: n["name"]
        for n in [
            result["root"],
            *result["executions"],
            *(a["artifact"] for a in result["artifacts"]),
        ]
    }
    table = Table(
        "kind", "name", "uri", "steps", "path", title=f"derived from {result['root']['name']}"
    )
    for a in result["artifacts"]:
        n = a["artifact"]
        path = " -> ".join(escape(str(names.get(p, short_id(p)))) for p in a["path"])
        table.add_row(
            escape(n.get("kind", "")),
            escape(n["name"]),
            escape(n.get("uri") or ""),
            str(a["depth"]),
            path,
        )
    console.print(table)
    c = result["counts"]
    console.print(
        f"{plural(c['artifacts'], 'artifact')}, {plural(c['executions'], 'execution')} in "
        f"{plural(c['runs'], 'run')}, {plural(c['deployments'], 'deployment')}"
    )
    if result.get("truncated"):
        console.print("[yellow]truncated: raise --depth to see everything[/yellow]")


@app.command()
def flag(
    artifact: Annotated[str, typer.Argument(help="artifact id or name")],
    reason: Annotated[str, typer.Option("--reason", help="why it is bad")],
    experiment: ExperimentOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mark an artifact as bad: everything downstream of it is reported as affected."""
    with connect(url, write=True) as conn:
        result = conn.request(
            "PUT",
            f"{API}/artifacts/{resolve(conn, 'artifacts', artifact, experiment=experiment)}/flag",
            json={"reason": reason},
        ).json()
    if as_json:
        print_json(result)
        return
    console.print(
        f"[red]flagged[/red] {escape(result['artifact']['name'])}: {escape(result['reason'])}"
    )
    affected = len(result["affected"])
    verb = "is" if affected == 1 else "are"
    console.print(f"{plural(affected, 'artifact')} downstream {verb} affected")
    for a in result["affected"]:
        n = a["artifact"]
        console.print(
            f"  {escape(n.get('kind', ''))} {escape(n['name'])} {escape(n.get('uri') or '')}"
        )


@app.command()
def unflag(
    artifact: Annotated[str, typer.Argument(help="artifact id or name")], url: UrlOption = None
) -> None:
    """Clear an artifact's flag."""
    with connect(url) as conn:
        artifact_id = resolve(conn, "artifacts", artifact)
        conn.delete(f"{API}/artifacts/{artifact_id}/flag")
    console.print(f"unflagged {artifact_id}")


@app.command()
def flags(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Flagged artifacts and how many artifacts each affects."""
    with connect(url) as conn:
        result = conn.get(f"{API}/flags")
    if as_json:
        print_json(result)
        return
    table = Table("artifact", "kind", "reason", "flagged", "affected", title="flags")
    for f in result["items"]:
        table.add_row(
            escape(f["artifact"]["name"]),
            escape(f["artifact"].get("kind", "")),
            escape(f["reason"]),
            f["createTime"][:19],
            str(len(f["affected"])),
        )
    console.print(table)


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
            escape(_cell(f.get("a"))),
            escape(_cell(f.get("b"))),
            style=style,
        )
    console.print(table)


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
                f"     {escape(c['field'])}: [red]{escape(_cell(c.get('before')))}[/red] -> "
                f"[green]{escape(_cell(c.get('after')))}[/green]"
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


@app.command()
def trace(
    experiment: Annotated[str, typer.Argument(help="experiment id or name")],
    limit: Annotated[int, typer.Option("--limit", help="the newest this many runs")] = 1000,
    before: Annotated[
        str | None,
        typer.Option("--before", help="only runs created before this run (id or name)"),
    ] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every run of an experiment in time order; equal artifacts shown once."""
    with connect(url) as conn:
        params: dict[str, Any] = {"limit": limit}
        if before is not None:
            params["before"] = resolve(conn, "runs", before)
        experiment_id = resolve(conn, "experiments", experiment)
        result = conn.get(f"{API}/experiments/{experiment_id}/trace", **params)
        first = 1
        if result["runs"] and (result.get("truncated") or before is not None):
            # Runs are numbered within the whole experiment: the newest of 40 is run 40.
            last = result["runs"][-1]["createTime"]
            up_to_last = conn.get(
                f"{API}/runs",
                filter=[f"experiment:eq:{experiment_id}", f"createTime:le:{last}"],
                limit=1,
                count=True,
            )
            first = up_to_last["total"] - len(result["runs"]) + 1
    if as_json:
        print_json(result)
        return
    artifacts = {a["id"]: a for a in result["artifacts"]}
    order = {r["id"]: n for n, r in enumerate(result["runs"], start=first)}
    count = plural(len(result["runs"]), "run")
    tree = Tree(f"[bold]trace of {escape(result['experiment']['name'])}[/bold] ({count})")
    for r in result["runs"]:
        t = r.get("trigger") or {}
        run_branch = tree.add(
            f"[magenta]run {order[r['id']]}[/magenta] {escape(r['name'])} {r['createTime'][:19]} "
            f"{r['status']}"
            + (f" [dim]trigger: {escape(str(t.get('cause') or t.get('name')))}[/dim]" if t else "")
        )
        for e in r["executions"]:
            branch = run_branch.add(_label({**e, "type": "execution"}))
            for side, ids in (("in ", e["inputs"]), ("out", e["outputs"])):
                for aid in ids:
                    a = artifacts[aid]
                    others = [order[x] for x in a.get("runs", []) if x != r["id"] and x in order]
                    shared = (
                        f" [dim](also in runs {', '.join(map(str, others))})[/dim]"
                        if others
                        else ""
                    )
                    branch.add(f"[dim]{side}[/dim] {_label(a)}{shared}")
    console.print(tree)
    if result.get("truncated"):
        console.print(
            "[yellow]older runs left out; raise --limit, or page back with "
            f"--before {result['runs'][0]['id']}[/yellow]"
        )


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
        console.print(f"  reuse {_label(o)} ({o['id']})")


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
            table.add_row(mark, escape(item["key"]), *(escape(_cell(v)) for v in item["values"]))
        console.print(table)
    if result["metrics"]:
        table = Table("metric", *names, title="metrics: latest (min … max)")
        for m in result["metrics"]:
            cells = [
                "" if latest is None else f"{latest:.4g} ({low:.4g} … {high:.4g})"
                for latest, low, high in zip(m["latest"], m["min"], m["max"], strict=True)
            ]
            table.add_row(escape(m["key"]), *cells)
        console.print(table)
    artifacts = [a for a in result["artifacts"] if a["differs"] or not only_differences]
    if artifacts:
        table = Table("", "role", "kind", "name", *names, title="artifacts read and written")
        for a in artifacts:
            cells = [", ".join(f[:8] for f in fs) or "-" for fs in a["fingerprints"]]
            mark = "[red]≠[/red]" if a["differs"] else ""
            table.add_row(mark, a["role"], escape(a["kind"]), escape(a["name"]), *cells)
        console.print(table)
