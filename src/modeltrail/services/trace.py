"""The trace of an experiment (FR10): every run in time order, equal artifacts merged."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy.orm import Session

from modeltrail.domain.lineage import Trace
from modeltrail.services.common import get_or_404
from modeltrail.services.nodes import (
    ExecutableRefs,
    artifact_fields,
    experiment_node,
    load_marks,
    trigger_fields,
)
from modeltrail.store import lineage as store
from modeltrail.store.lineage import Id
from modeltrail.store.tables import ExperimentRow

DEFAULT_RUNS = 1000


def experiment_trace(
    session: Session, experiment_id: uuid.UUID, *, limit: int = DEFAULT_RUNS
) -> Trace:
    """The newest ``limit`` runs, oldest first, each with its executions (in start order)
    and the artifacts they read and wrote. Artifacts with one fingerprint are one node that
    lists every run it appears in; ``derived`` edges join an input to an output of the same
    execution."""
    experiment = get_or_404(session, ExperimentRow, experiment_id, "experiment")
    runs = store.runs_of_experiment(session, experiment_id, limit=limit + 1)
    truncated = len(runs) > limit
    runs = runs[1:] if truncated else runs
    run_ids = [r.id for r in runs]
    executions = store.executions_of_runs(session, run_ids, light=True)
    exec_ids = [row.id for row, _ in executions]
    inputs, outputs = store.io_lists(session, exec_ids)
    read_or_written = {a for side in (inputs, outputs) for listed in side.values() for a in listed}
    artifact_rows = store.artifacts_by_ids(session, read_or_written, light=True)
    groups: dict[str, list] = defaultdict(list)
    for row in sorted(artifact_rows, key=lambda r: (r.create_time, r.id)):
        groups[row.fingerprint].append(row)
    node_of = {m.id: members[0].id for members in groups.values() for m in members}
    events = {
        a.id: a for a in store.artifacts_by_ids(session, [r.event_id for r in runs if r.event_id])
    }

    runs_of_node: dict[Id, dict[Id, None]] = defaultdict(dict)
    by_run: dict[Id, list[dict[str, Any]]] = defaultdict(list)
    run_artifacts: dict[Id, dict[Id, None]] = defaultdict(dict)
    edges: dict[tuple[Id, Id, Id], dict[str, Any]] = {}
    refs = ExecutableRefs()
    for row, exe in executions:
        run = row.run_id
        i_nodes = list(dict.fromkeys([node_of[a] for a in inputs[row.id]]))
        o_nodes = list(dict.fromkeys([node_of[a] for a in outputs[row.id]]))
        by_run[run].append(
            {
                "id": row.id,
                "name": row.name,
                "kind": row.kind,
                "status": row.status,
                "executable": refs.of(exe),
                "start_time": row.start_time,
                "end_time": row.end_time,
                "inputs": i_nodes,
                "outputs": o_nodes,
            }
        )
        seen = run_artifacts[run]
        for n in (*i_nodes, *o_nodes):
            runs_of_node[n][run] = None
            seen[n] = None
        for src in i_nodes:
            for dst in o_nodes:
                if src != dst and (src, dst, run) not in edges:
                    edges[(src, dst, run)] = {
                        "source": src,
                        "target": dst,
                        "type": "derived",
                        "execution": row.id,
                        "run": run,
                    }
    marks = load_marks(session)
    return Trace.model_validate(
        {
            "experiment": experiment_node(experiment),
            "runs": [
                {
                    "id": r.id,
                    "name": r.name,
                    "status": r.status,
                    "create_time": r.create_time,
                    "end_time": r.end_time,
                    "trigger": trigger_fields(events.get(r.event_id) if r.event_id else None),
                    "executions": by_run[r.id],
                    "artifacts": list(run_artifacts[r.id]),
                }
                for r in runs
            ],
            "artifacts": [
                artifact_fields(
                    members[0],
                    marks,
                    members=[m.id for m in members],
                    runs=list(runs_of_node[members[0].id]),
                )
                for members in groups.values()
            ],
            "edges": list(edges.values()),
            "truncated": truncated,
        }
    )
