"""The DAG of one run (FR3): its executions with the artifacts they read and wrote."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from modeltrail.domain.lineage import Edge, Node, RunDag
from modeltrail.services.common import missing
from modeltrail.services.graph.nodes import artifact_node, execution_node, load_marks, run_node
from modeltrail.store import lineage as store


def run_dag(session: Session, run_id: uuid.UUID) -> RunDag:
    """Executions in the order they started, then the artifacts in the order they appear;
    edges ``input`` (artifact -> execution), ``output`` and ``successor``. The run's trigger
    event is the run node's ``event``."""
    run, executions, any_flag = store.run_with_executions(session, run_id)
    if run is None:
        raise missing("run", run_id)
    marks = load_marks(session, any_flag=any_flag)
    ids = [row.id for row, _ in executions]
    io = store.edges_of_executions(session, run=run_id, successors="among", artifacts=True)
    inputs, outputs, follows, rows = io.inputs, io.outputs, io.successors, io.artifacts
    order = {eid: i for i, eid in enumerate(ids)}
    flow = sorted(
        [(order[e], 0, p, e, a) for e, a, p in inputs]
        + [(order[e], 1, p, e, a) for e, a, p in outputs],
        key=lambda t: t[:3],
    )
    artifact_ids = list(dict.fromkeys(a for *_, a in flow))
    nodes: list[Node] = [execution_node(row, exe) for row, exe in executions]
    nodes += [artifact_node(rows[a], marks) for a in artifact_ids]
    edges = [
        Edge(source=a, target=e, type="input")
        if side == 0
        else Edge(source=e, target=a, type="output")
        for _, side, _, e, a in flow
    ]
    edges += [Edge(source=a, target=b, type="successor") for a, b in follows]
    return RunDag(run=run_node(run), nodes=nodes, edges=edges)
