"""Downstream impact of an artifact and its flags (FR5): everything trained on bad data."""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import delete
from sqlalchemy.orm import Session

from modeltrail.domain.errors import NotFound
from modeltrail.domain.lineage import Flag, FlagList, Impact, Node
from modeltrail.services.common import get_or_404
from modeltrail.services.graph.lineage import DEFAULT_DEPTH, build_graph, check_depth, walk_from
from modeltrail.services.graph.nodes import DEPLOY_KINDS, Marks, load_marks
from modeltrail.store.records import FlagRecord, Id
from modeltrail.store.tables import ArtifactRow, FlagRow, utcnow

_NODES = TypeAdapter(list[Node])


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
    root, any_flag, walked = walk_from(
        session, artifact_id, direction="downstream", depth=depth, merge=merge_equal, light=True
    )
    marks = marks if marks is not None else load_marks(session, any_flag=any_flag)
    out, truncated, node_of = build_graph(
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
    artifacts: list[dict[str, Any]] = [
        {"artifact": n, "depth": n.depth or 0, "path": paths.get(key, [])}
        for key, n in nodes.items()
        if n.type == "artifact" and key != root_id
    ]
    executions = [n for n in nodes.values() if n.type == "execution"]
    # By key: a node is found among thousands in a set, not compared with each (a model's
    # equality compares every field).
    deploy_keys = {
        key: None
        for key, n in nodes.items()
        if n.type in ("execution", "artifact") and (n.kind or "").lower() in DEPLOY_KINDS
    }
    deployments = [nodes[key] for key in deploy_keys]
    # A deploy step and the deployment it wrote are one deployment, counted by the step.
    written_by_deploy = {
        target
        for source, target, kind in out.edges
        if kind != "successor" and source in deploy_keys and nodes[source].type == "execution"
    }
    deployed = [
        n for key, n in nodes.items() if key in deploy_keys and key not in written_by_deploy
    ]
    runs = sorted({n.run for n in executions if n.run is not None})
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


def _flag(session: Session, row: FlagRow | FlagRecord, marks: Marks) -> Flag:
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
