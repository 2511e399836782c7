"""Upstream lineage (FR4) and the graph builder that impact (FR5) shares.

The walk itself runs in the database (``store.lineage``); this module turns the nodes it
reached into a graph: the executions between them, the runs those executions belong to and
the events that started the runs, with flags marked.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from operator import attrgetter
from typing import Any, Literal

from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from modeltrail.domain import limits
from modeltrail.domain.lineage import (
    LineageGraph,
    Node,
)
from modeltrail.services.common import check_query_range, get_or_404, missing
from modeltrail.services.graph import nearest
from modeltrail.services.graph.nodes import (
    ExecutableRefs,
    Marks,
    artifact_fields,
    execution_fields,
    load_marks,
    run_fields,
)
from modeltrail.store import lineage as store
from modeltrail.store.lineage import Key
from modeltrail.store.records import ArtifactRecord, Executable, ExecutionRecord, Id
from modeltrail.store.tables import ExecutionRow, RunRow

Direction = Literal["upstream", "downstream"]
_NODES = TypeAdapter(list[Node])
DEFAULT_DEPTH = limits.MAX_LINEAGE_DEPTH


def check_depth(depth: int) -> int:
    high = limits.MAX_LINEAGE_DEPTH
    return check_query_range("depth", depth, high, f"at most {high}")


def walk_from(
    session: Session,
    artifact_id: uuid.UUID,
    *,
    direction: Direction,
    depth: int,
    merge: bool,
    light: bool = False,
) -> tuple[ArtifactRecord, bool, tuple[store.Walk, list[ArtifactRecord]]]:
    """The artifact as the lineage readers give it (hex ids), or NotFound; whether any
    artifact is flagged; and the walk from it with the rows it reached."""
    root, any_flag, walk, rows = store.walk_from_artifact(
        session, artifact_id, direction=direction, depth=depth, merge=merge, light=light
    )
    if root is None:
        raise missing("artifact", artifact_id)
    return root, any_flag, (walk, rows)


class _Builder:
    """Collects nodes and edges once each, in the order they were found, by hex id."""

    def __init__(self) -> None:
        self.nodes: dict[Id, dict[str, Any]] = {}  # fields of a Node
        self.edges: dict[tuple[Id, Id, str], None] = {}

    def node(self, key: Id, node: dict[str, Any]) -> None:
        self.nodes.setdefault(key, node)

    def edge(self, source: Id, target: Id, kind: str) -> None:
        if source != target:
            self.edges[(source, target, kind)] = None

    def graph(
        self, root: Any, direction: Direction, depth: int, merge_equal: bool, truncated: bool
    ) -> LineageGraph:
        return LineageGraph.model_validate(
            {
                "root": root,
                "direction": direction,
                "depth": depth,
                "merge_equal": merge_equal,
                "truncated": truncated,
                "nodes": list(self.nodes.values()),
                "edges": [{"source": s, "target": t, "type": k} for s, t, k in self.edges],
            }
        )


def build_graph(
    session: Session,
    *,
    seeds: list[ArtifactRecord],
    seed_depth: int,
    direction: Direction,
    depth: int,
    merge: bool,
    root_execution: ExecutionRow | None = None,
    marks: Marks | None = None,
    light: bool = False,
    walked: tuple[store.Walk, list[ArtifactRecord]] | None = None,
) -> tuple[_Builder, bool, dict[Id, Id]]:
    """Nodes and edges within ``depth`` steps of ``seeds``; the truncated flag; and for every
    artifact reached, the node that stands for it. ``walked``: the walk from the seeds and
    the rows it reached, when the caller read them already."""
    marks = marks if marks is not None else load_marks(session)
    key_of: Callable[[ArtifactRecord], Key] = attrgetter("fingerprint" if merge else "id")
    walk, rows = walked or store.walk_with_artifacts(
        session,
        seeds=[(key_of(r), seed_depth) for r in seeds],
        direction=direction,
        depth=depth,
        merge=merge,
        light=light,
    )
    groups: dict[Key, list[ArtifactRecord]] = defaultdict(list)
    for artifact in rows:
        groups[key_of(artifact)].append(artifact)
    seed_ids = set(store.hexes(r.id for r in seeds))
    node_of: dict[Id, Id] = {}
    for members in groups.values():
        if len(members) > 1:
            members.sort(key=lambda r: (r.id not in seed_ids, r.create_time, r.id))
        for m in members:
            node_of[m.id] = members[0].id
    member_ids = list(node_of)
    depth_of = {r.id: walk.depths[key_of(r)] for r in rows}
    runs_of: dict[Id, set[Id]] = defaultdict(set)
    if merge and not light:
        for aid, rid in store.runs_of_artifacts(session, member_ids):
            runs_of[node_of[aid]].add(rid)

    out = _Builder()
    for key, members in groups.items():
        rep = members[0]
        out.node(
            rep.id,
            artifact_fields(
                rep,
                marks,
                depth=walk.depths[key],
                members=[m.id for m in members] if merge else None,
                runs=sorted(runs_of[rep.id]) if merge and not light else None,
            ),
        )
    # The executions whose step the walk took: from nodes short of the limit.
    expanded = [aid for aid, d in depth_of.items() if d < depth]
    role: Literal["producers", "consumers"] = (
        "producers" if direction == "upstream" else "consumers"
    )
    exec_depth: dict[Id, int] = {}
    edges, executions = store.executions_reached(
        session, artifact_ids=expanded, role=role, light=light
    )
    for eid, aid in edges:
        d = depth_of[aid] + 1
        exec_depth[eid] = min(d, exec_depth.get(eid, d))
    if root_execution is not None and root_execution.id.hex not in exec_depth:
        executions += store.executions_with_executables(session, [root_execution.id], light=light)
    if root_execution is not None:
        exec_depth[root_execution.id.hex] = 0
    refs = ExecutableRefs()
    for row, exe in sorted(executions, key=lambda p: (exec_depth[p[0].id], p[0].create_time)):
        out.node(row.id, execution_fields(row, refs.of(exe), depth=exec_depth[row.id]))
    io = store.edges_of_executions(
        session,
        list(exec_depth),
        successors="none" if light else "among",
        references_among=member_ids,
    )
    inputs, outputs, follows, references = io.inputs, io.outputs, io.successors, io.references
    for eid, aid, _ in inputs:
        if aid in node_of:
            out.edge(node_of[aid], eid, "input")
    for eid, aid, _ in outputs:
        if aid in node_of:
            out.edge(eid, node_of[aid], "output")
    for a, b in follows:
        out.edge(a, b, "successor")
    for target, referrer in references:
        if direction == "downstream" or target in node_of:
            out.edge(node_of[target], node_of[referrer], "reference")
    if direction == "upstream":
        _add_runs_and_triggers(session, out, executions, marks)
    return out, walk.truncated, node_of


def _add_runs_and_triggers(
    session: Session,
    out: _Builder,
    executions: list[tuple[ExecutionRecord, Executable]],
    marks: Marks,
) -> None:
    runs = store.runs_with_events(session, {row.run_id for row, _ in executions})
    names: dict[Id, str] = {}
    for run, event in sorted(runs, key=lambda p: (p[0].create_time, p[0].id)):
        names[run.id] = run.name
        out.node(run.id, run_fields(run))
        if event is not None:
            if event.id in out.nodes:
                out.nodes[event.id]["type"] = "event"
            else:
                out.node(event.id, artifact_fields(event, marks, node_type="event"))
            out.edge(event.id, run.id, "trigger")
    for row, _ in executions:
        out.nodes[row.id]["run_name"] = names[row.run_id]  # read already: no need to ask again
        out.edge(row.run_id, row.id, "contains")


def _name_runs(session: Session, nodes: dict[Id, dict[str, Any]]) -> None:
    """Each execution's run's name on its node: the steps of one executable that a thousand
    runs ran all bear its name, their runs tell them apart. The runs not read already are
    read in one statement, for the executions kept in the answer only."""
    unnamed = [n for n in nodes.values() if n["type"] == "execution" and "run_name" not in n]
    if not unnamed:
        return
    runs = {n["run"] for n in unnamed}
    names = dict(store.columns_among(session, RunRow, "id", ("id", "name"), runs))
    for node in unnamed:
        node["run_name"] = names.get(node["run"])


def _bounded(
    session: Session,
    out: _Builder,
    *,
    root: Id,
    direction: Direction,
    depth: int,
    reach: int,
    merge_equal: bool,
    truncated: bool,
    max_nodes: int,
    match: str | None = None,
) -> LineageGraph:
    """The graph of the nodes nearest to ``root`` (``nearest.nearest``) that a walk to
    ``reach`` of the ``depth`` asked for found; ``truncated``: the walk found more beyond
    ``reach``. ``match``: the nodes that hold it come first (``nearest.check_match``)."""
    nodes, edges, cut, matched = nearest.nearest(
        session,
        out.nodes,
        out.edges,
        root=root,
        direction=direction,
        max_nodes=max_nodes,
        edge_depth=reach if truncated else None,
        match=match,
    )
    out.nodes, out.edges = nodes, edges
    _name_runs(session, out.nodes)
    # Stopped short of the depth asked for, the walk left out what the budget had no room for.
    limited = cut or (truncated and reach < depth)
    graph = out.graph(root, direction, depth, merge_equal, truncated and reach == depth)
    graph.max_nodes, graph.limited, graph.matched = max_nodes, limited, matched
    return graph


def artifact_lineage(
    session: Session,
    artifact_id: uuid.UUID,
    *,
    direction: Direction = "upstream",
    depth: int = DEFAULT_DEPTH,
    merge_equal: bool = True,
    max_nodes: int = nearest.DEFAULT_MAX_NODES,
    match: str | None = None,
) -> LineageGraph:
    """The ``max_nodes`` nodes nearest to ``artifact_id`` of everything it was derived from
    (upstream, back to the events that started the runs) or everything derived from it
    (downstream), breadth first. With ``match``, the nodes whose name or kind holds it come
    first, with the nodes on their way from the artifact: a search finds them at any depth
    within ``depth``, however far the budget would reach."""
    check_depth(depth)
    nearest.check_max_nodes(max_nodes)
    match = nearest.check_match(match)
    # A search walks all the depth asked for: a match may lie beyond what the budget reaches.
    reach = depth if match is not None else min(depth, nearest.FIRST_REACH)
    while True:
        root, any_flag, (walk, rows) = walk_from(
            session, artifact_id, direction=direction, depth=reach, merge=merge_equal
        )
        if reach == depth or not walk.truncated or len(walk.depths) >= max_nodes:
            break
        reach = nearest.next_reach(reach, depth, len(walk.depths), max_nodes)
    key_of: Callable[[ArtifactRecord], Key] = attrgetter("fingerprint" if merge_equal else "id")
    if match is None:
        reach, walk, rows = nearest.trim(walk, rows, reach, max_nodes, key_of)
    out, truncated, node_of = build_graph(
        session,
        seeds=[root],
        seed_depth=0,
        direction=direction,
        depth=reach,
        merge=merge_equal,
        marks=load_marks(session, any_flag=any_flag),
        walked=(walk, rows),
    )
    return _bounded(
        session,
        out,
        root=node_of[root.id],
        direction=direction,
        depth=depth,
        reach=reach,
        merge_equal=merge_equal,
        truncated=truncated,
        max_nodes=max_nodes,
        match=match,
    )


def execution_lineage(
    session: Session,
    execution_id: uuid.UUID,
    *,
    direction: Direction = "upstream",
    depth: int = DEFAULT_DEPTH,
    merge_equal: bool = True,
    max_nodes: int = nearest.DEFAULT_MAX_NODES,
    match: str | None = None,
) -> LineageGraph:
    """The lineage of an execution: of its inputs (upstream) or its outputs (downstream),
    the ``max_nodes`` nodes nearest to it (those that hold ``match`` first)."""
    check_depth(depth)
    nearest.check_max_nodes(max_nodes)
    match = nearest.check_match(match)
    root = get_or_404(session, ExecutionRow, execution_id, "execution")
    io = store.edges_of_executions(session, [root.id])
    inputs, outputs = io.inputs, io.outputs
    ids = [aid for _, aid, _ in (inputs if direction == "upstream" else outputs)]
    seeds = store.artifacts_by_ids(session, ids)
    out, truncated, _ = build_graph(
        session,
        seeds=seeds,
        seed_depth=1,
        direction=direction,
        depth=depth,
        merge=merge_equal,
        root_execution=root,
    )
    return _bounded(
        session,
        out,
        root=root.id.hex,
        direction=direction,
        depth=depth,
        reach=depth,
        merge_equal=merge_equal,
        truncated=truncated,
        max_nodes=max_nodes,
        match=match,
    )
