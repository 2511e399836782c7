"""Upstream lineage (FR4), downstream impact and flags (FR5).

The walk itself runs in the database (``store.lineage``); this module turns the nodes it
reached into a graph: the executions between them, the runs those executions belong to and
the events that started the runs, with flags marked.
"""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import TypeAdapter
from sqlalchemy import delete
from sqlalchemy.orm import Session

from modeltrail.domain import limits
from modeltrail.domain.errors import InvalidInput, NotFound
from modeltrail.domain.lineage import (
    Flag,
    FlagList,
    Impact,
    LineageGraph,
    Node,
)
from modeltrail.services.common import get_or_404, missing
from modeltrail.services.nodes import (
    DEPLOY_KINDS,
    ExecutableRefs,
    Marks,
    artifact_fields,
    execution_fields,
    load_marks,
    run_fields,
)
from modeltrail.store import lineage as store
from modeltrail.store.lineage import Id, Key
from modeltrail.store.tables import ArtifactRow, ExecutionRow, FlagRow, utcnow

Direction = Literal["upstream", "downstream"]
_NODES = TypeAdapter(list[Node])
DEFAULT_DEPTH = limits.MAX_LINEAGE_DEPTH


def check_depth(depth: int) -> int:
    if not 1 <= depth <= limits.MAX_LINEAGE_DEPTH:
        raise InvalidInput(
            f"depth must be between 1 and {limits.MAX_LINEAGE_DEPTH}, not {depth}",
            errors=[
                {
                    "pointer": "/depth",
                    "in": "query",
                    "detail": f"at most {limits.MAX_LINEAGE_DEPTH}",
                }
            ],
        )
    return depth


def _walk_from(
    session: Session,
    artifact_id: uuid.UUID,
    *,
    direction: Direction,
    depth: int,
    merge: bool,
    light: bool = False,
) -> tuple[ArtifactRow, bool, tuple[store.Walk, list[Any]]]:
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


def _graph(
    session: Session,
    *,
    seeds: list[ArtifactRow],
    seed_depth: int,
    direction: Direction,
    depth: int,
    merge: bool,
    root_execution: ExecutionRow | None = None,
    marks: Marks | None = None,
    light: bool = False,
    walked: tuple[store.Walk, list[Any]] | None = None,
) -> tuple[_Builder, bool, dict[Id, Id]]:
    """Nodes and edges within ``depth`` steps of ``seeds``; the truncated flag; and for every
    artifact reached, the node that stands for it. ``walked``: the walk from the seeds and
    the rows it reached, when the caller read them already."""
    marks = marks if marks is not None else load_marks(session)
    key_of = (lambda r: r.fingerprint) if merge else (lambda r: r.id)
    walk, rows = walked or store.walk_with_artifacts(
        session,
        seeds=[(key_of(r), seed_depth) for r in seeds],
        direction=direction,
        depth=depth,
        merge=merge,
        light=light,
    )
    groups: dict[Key, list[ArtifactRow]] = defaultdict(list)
    for row in rows:
        groups[key_of(row)].append(row)
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
    inputs, outputs, follows, references = store.io_and_references(
        session, list(exec_depth), member_ids, successors=not light
    )
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
    session: Session, out: _Builder, executions: list[tuple[ExecutionRow, object]], marks: Marks
) -> None:
    runs = store.runs_with_events(session, {row.run_id for row, _ in executions})
    for run, event in sorted(runs, key=lambda p: (p[0].create_time, p[0].id)):
        out.node(run.id, run_fields(run))
        if event is not None:
            if event.id in out.nodes:
                out.nodes[event.id]["type"] = "event"
            else:
                out.node(event.id, artifact_fields(event, marks, node_type="event"))
            out.edge(event.id, run.id, "trigger")
    for row, _ in executions:
        out.edge(row.run_id, row.id, "contains")


def artifact_lineage(
    session: Session,
    artifact_id: uuid.UUID,
    *,
    direction: Direction = "upstream",
    depth: int = DEFAULT_DEPTH,
    merge_equal: bool = True,
) -> LineageGraph:
    """Everything ``artifact_id`` was derived from (upstream, back to the events that started
    the runs) or everything derived from it (downstream)."""
    check_depth(depth)
    root, any_flag, walked = _walk_from(
        session, artifact_id, direction=direction, depth=depth, merge=merge_equal
    )
    out, truncated, node_of = _graph(
        session,
        seeds=[root],
        seed_depth=0,
        direction=direction,
        depth=depth,
        merge=merge_equal,
        marks=load_marks(session, any_flag=any_flag),
        walked=walked,
    )
    return out.graph(node_of[root.id], direction, depth, merge_equal, truncated)


def execution_lineage(
    session: Session,
    execution_id: uuid.UUID,
    *,
    direction: Direction = "upstream",
    depth: int = DEFAULT_DEPTH,
    merge_equal: bool = True,
) -> LineageGraph:
    """The lineage of an execution: of its inputs (upstream) or its outputs (downstream)."""
    check_depth(depth)
    root = get_or_404(session, ExecutionRow, execution_id, "execution")
    inputs, outputs = store.io_of_executions(session, [root.id])
    ids = [aid for _, aid, _ in (inputs if direction == "upstream" else outputs)]
    seeds = store.artifacts_by_ids(session, ids)
    out, truncated, _ = _graph(
        session,
        seeds=seeds,
        seed_depth=1,
        direction=direction,
        depth=depth,
        merge=merge_equal,
        root_execution=root,
    )
    return out.graph(root.id, direction, depth, merge_equal, truncated)


# ---------------------------------------------------------------- impact


def _paths(root: Id, edges: Iterable[tuple[Id, Id, str]]) -> dict[Id, list[Id]]:
    """A shortest path (node ids) from ``root`` to every node along the data edges."""
    forward: dict[Id, list[Id]] = defaultdict(list)
    for source, target, kind in edges:
        if kind != "successor":  # the order of steps, not a flow of data
            forward[source].append(target)
    paths: dict[Id, list[Id]] = {root: [root]}
    queue = deque([root])
    while queue:
        current = queue.popleft()
        for nxt in forward[current]:
            if nxt not in paths:
                paths[nxt] = [*paths[current], nxt]
                queue.append(nxt)
    return paths


def impact(
    session: Session,
    artifact_id: uuid.UUID,
    *,
    depth: int = DEFAULT_DEPTH,
    merge_equal: bool = True,
    marks: Marks | None = None,
) -> Impact:
    """Everything downstream of an artifact, each with the path that connects it."""
    check_depth(depth)
    root, any_flag, walked = _walk_from(
        session, artifact_id, direction="downstream", depth=depth, merge=merge_equal, light=True
    )
    marks = marks if marks is not None else load_marks(session, any_flag=any_flag)
    out, truncated, node_of = _graph(
        session,
        seeds=[root],
        seed_depth=0,
        direction="downstream",
        depth=depth,
        merge=merge_equal,
        marks=marks,
        light=True,
        walked=walked,
    )
    root_id = node_of[root.id]
    paths = _paths(root_id, out.edges)
    # Each node validated once: a deployment is also among the artifacts or executions.
    nodes = dict(zip(out.nodes, _NODES.validate_python(list(out.nodes.values())), strict=True))
    artifacts = [
        {"artifact": n, "depth": n.depth or 0, "path": paths.get(key, [])}
        for key, n in nodes.items()
        if n.type == "artifact" and key != root_id
    ]
    executions = [n for n in nodes.values() if n.type == "execution"]
    deployments = [
        n
        for n in nodes.values()
        if n.type in ("execution", "artifact") and (n.kind or "").lower() in DEPLOY_KINDS
    ]
    # A deploy step and the deployment it wrote are one deployment, counted by the step.
    deploy_keys = {key for key, n in nodes.items() if n in deployments}
    written_by_deploy = {
        target
        for source, target, kind in out.edges
        if kind != "successor" and source in deploy_keys and nodes[source].type == "execution"
    }
    deployed = [
        n for key, n in nodes.items() if key in deploy_keys and key not in written_by_deploy
    ]
    runs = sorted({n.run for n in executions})
    kinds: dict[str, int] = defaultdict(int)
    for a in artifacts:
        kinds[a["artifact"].kind or ""] += 1
    counts = {
        "artifacts": len(artifacts),
        "executions": len(executions),
        "runs": len(runs),
        "deployments": len(deployed),
        **{f"kind:{k}": v for k, v in sorted(kinds.items())},
    }
    return Impact.model_validate(
        {
            "root": nodes[root_id],
            "flag": marks.flagged([root.id]),
            "truncated": truncated,
            "artifacts": artifacts,
            "executions": executions,
            "deployments": deployments,
            "runs": runs,
            "counts": counts,
        }
    )


# ---------------------------------------------------------------- flags


def _flag(session: Session, row: FlagRow, marks: Marks) -> Flag:
    found = impact(session, uuid.UUID(str(row.artifact_id)), marks=marks)
    return Flag(
        artifact=found.root,
        reason=row.reason,
        create_time=row.create_time,
        affected=found.artifacts,
    )


def flag_artifact(session: Session, artifact_id: uuid.UUID, reason: str) -> tuple[Flag, bool]:
    """Mark an artifact as bad; a second flag replaces the reason. Returns (flag, created)."""
    get_or_404(session, ArtifactRow, artifact_id, "artifact")
    row = session.get(FlagRow, artifact_id)
    created = row is None
    if row is None:
        row = FlagRow(artifact_id=artifact_id, reason=reason, create_time=utcnow())
        session.add(row)
    else:
        row.reason = reason
    session.flush()
    return _flag(session, row, load_marks(session)), created


def unflag_artifact(session: Session, artifact_id: uuid.UUID) -> None:
    get_or_404(session, ArtifactRow, artifact_id, "artifact")
    if session.get(FlagRow, artifact_id) is None:
        raise NotFound(f"artifact {artifact_id} is not flagged", entity="flag", id=str(artifact_id))
    session.execute(delete(FlagRow).where(FlagRow.artifact_id == artifact_id))


def list_flags(session: Session) -> FlagList:
    marks = load_marks(session)
    return FlagList(items=[_flag(session, row, marks) for row in marks.flags.values()])
