"""Lineage commands: ``dag``, ``lineage``, ``impact``, ``trace``, ``flag``/``unflag``/``flags``;
and how every graph command shows a node."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Annotated, Any

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
    plural,
    print_json,
    resolve,
    short_id,
)

API = "/api/v1"
DepthOption = Annotated[
    int | None, typer.Option("--depth", help="at most this many steps (default: all)")
]


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def node_label(node: dict[str, Any], *, bold: bool = False) -> str:
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


def graph_tree(graph: dict[str, Any], *, upstream: bool) -> Tree:
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
    tree = Tree(node_label(nodes[root], bold=True))
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
            branch.add(node_label(nodes[nxt]) + " [dim](shown above)[/dim]")
            continue
        shown.add(nxt)
        stack.append((branch.add(node_label(nodes[nxt])), iter(follow[nxt])))
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
    tree = Tree(node_label(result["run"], bold=True))
    for n in result["nodes"]:
        if n["type"] != "execution":
            continue
        branch = tree.add(node_label(n))
        for a in inputs[n["id"]]:
            branch.add("[dim]in [/dim] " + node_label(nodes[a]))
        for a in outputs[n["id"]]:
            branch.add("[dim]out[/dim] " + node_label(nodes[a]))
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
    max_nodes: Annotated[
        int | None,
        typer.Option(
            "--max-nodes",
            help="at most this many nodes, the nearest first (the server's default: 2000)",
        ),
    ] = None,
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
            maxNodes=max_nodes,
        )
    if as_json:
        print_json(result)
        return
    console.print(graph_tree(result, upstream=not downstream))
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
    if result.get("limited"):
        console.print(
            f"[yellow]limited: the {result['maxNodes']} nodes nearest to the artifact; "
            "raise --max-nodes, or start from a node further out[/yellow]"
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
    artifact: Annotated[str, typer.Argument(help="artifact id or name")],
    experiment: ExperimentOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Clear an artifact's flag."""
    with connect(url) as conn:
        artifact_id = resolve(conn, "artifacts", artifact, experiment=experiment)
        conn.delete(f"{API}/artifacts/{artifact_id}/flag")
    if as_json:
        print_json({"unflagged": "artifact", "id": artifact_id})
        return
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
            branch = run_branch.add(node_label({**e, "type": "execution"}))
            for side, ids in (("in ", e["inputs"]), ("out", e["outputs"])):
                for aid in ids:
                    a = artifacts[aid]
                    others = [order[x] for x in a.get("runs", []) if x != r["id"] and x in order]
                    shared = (
                        f" [dim](also in runs {', '.join(map(str, others))})[/dim]"
                        if others
                        else ""
                    )
                    branch.add(f"[dim]{side}[/dim] {node_label(a)}{shared}")
    console.print(tree)
    if result.get("truncated"):
        console.print(
            "[yellow]older runs left out; raise --limit, or page back with "
            f"--before {result['runs'][0]['id']}[/yellow]"
        )
