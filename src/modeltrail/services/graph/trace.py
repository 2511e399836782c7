"""The trace of an experiment (FR10): every run in time order, equal artifacts merged."""

from __future__ import annotations

import uuid
from collections import defaultdict
from itertools import pairwise
from typing import Any

from sqlalchemy.orm import Session

from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.lineage import Trace, id_text
from modeltrail.services.common import get_or_404
from modeltrail.services.graph.nodes import (
    Marks,
    executable_fields,
    experiment_node,
    load_marks,
    trigger_fields,
)
from modeltrail.services.tracking.grid import leaves
from modeltrail.store import lineage as store
from modeltrail.store.records import ArtifactRecord, Executable, Id
from modeltrail.store.tables import ExperimentRow, RunRow

DEFAULT_RUNS = 1000


def experiment_trace(
    session: Session,
    experiment_id: uuid.UUID,
    *,
    limit: int = DEFAULT_RUNS,
    before: uuid.UUID | None = None,
    edges: bool = False,
) -> Trace:
    """The newest ``limit`` runs (created before the run ``before``, if given), oldest first,
    each with its executions (in start order) and the artifacts they read and wrote.
    Artifacts with one fingerprint are one node that lists every run it appears in. With
    ``edges``, also the ``derived`` edges that join an input to an output of the same
    execution in a run."""
    return Trace.model_validate(
        trace_document(session, experiment_id, limit=limit, before=before, edges=edges)
    )


def trace_document(
    session: Session,
    experiment_id: uuid.UUID,
    *,
    limit: int = DEFAULT_RUNS,
    before: uuid.UUID | None = None,
    edges: bool = False,
) -> dict[str, Any]:
    """``experiment_trace`` as the JSON document the server sends: names in camelCase, ids as
    UUID text, absent fields left out. The trace of a thousand runs is megabytes of JSON;
    built in this form, it is written by orjson as it is, instead of being validated into
    ``Trace`` and serialized by pydantic, which costs more than building it (the tests check
    that ``Trace`` makes the same document of it).

    The derived edges are sent only when asked for: every one of them follows from an
    execution's ``inputs`` and ``outputs``, and over many runs they are a large part of the
    document that no reader of ours uses."""
    experiment = get_or_404(session, ExperimentRow, experiment_id, "experiment")
    fetched = store.runs_of_experiment(
        session, experiment_id, limit=limit + 1, before=_run_of(session, experiment_id, before)
    )
    truncated = len(fetched) > limit
    runs = fetched[1:] if truncated else fetched
    # The run one older than the page, when there is one, was read too: the page's oldest run
    # is compared with it.
    previous = {run.id: older.configuration for older, run in pairwise(fetched)}
    executions = store.executions_of_runs(session, [r.id for r in runs], light=True)
    io = store.edges_of_executions(session, [row.id for row, _ in executions])
    inputs, outputs = io.input_lists(), io.output_lists()
    read_or_written = {a for side in (inputs, outputs) for listed in side.values() for a in listed}
    groups: dict[str, list[ArtifactRecord]] = defaultdict(list)
    for artifact in sorted(
        store.artifacts_by_ids(session, read_or_written, light=True),
        key=lambda r: (r.create_time, r.id),
    ):
        groups[artifact.fingerprint].append(artifact)
    # Each id is made into its text once, here; everything below passes the text on.
    node_of = {m.id: id_text(members[0].id) for members in groups.values() for m in members}
    run_text = {r.id: id_text(r.id) for r in runs}
    events = {
        a.id: _trigger(a)
        for a in store.artifacts_by_ids(session, [r.event_id for r in runs if r.event_id])
    }

    runs_of_node: dict[str, dict[str, None]] = defaultdict(dict)
    by_run: dict[Id, list[dict[str, Any]]] = defaultdict(list)
    run_artifacts: dict[Id, dict[str, None]] = defaultdict(dict)
    derived: dict[tuple[str, str, str], dict[str, Any]] = {}
    executables: dict[Id, dict[str, Any]] = {}
    for row, exe in executions:
        run = run_text[row.run_id]
        execution = id_text(row.id)
        i_nodes = list(dict.fromkeys([node_of[a] for a in inputs[row.id]]))
        o_nodes = list(dict.fromkeys([node_of[a] for a in outputs[row.id]]))
        executable = executables.get(exe.id)
        if executable is None:
            executable = executables[exe.id] = _executable(exe)
        by_run[row.run_id].append(
            _present(
                {
                    "id": execution,
                    "name": row.name,
                    "kind": row.kind,
                    "status": row.status,
                    "executable": executable,
                    "startTime": row.start_time,
                    "endTime": row.end_time,
                    "inputs": i_nodes,
                    "outputs": o_nodes,
                }
            )
        )
        seen = run_artifacts[row.run_id]
        for n in (*i_nodes, *o_nodes):
            runs_of_node[n][run] = None
            seen[n] = None
        for src in i_nodes if edges else ():
            for dst in o_nodes:
                if src != dst and (src, dst, run) not in derived:
                    derived[(src, dst, run)] = {
                        "source": src,
                        "target": dst,
                        "type": "derived",
                        "execution": execution,
                        "run": run,
                    }
    marks = load_marks(session)
    return {
        "experiment": experiment_node(experiment).model_dump(by_alias=True, exclude_none=True),
        "runs": [
            _present(
                {
                    "id": run_text[r.id],
                    "name": r.name,
                    "status": r.status,
                    "createTime": r.create_time,
                    "endTime": r.end_time,
                    "trigger": events.get(r.event_id) if r.event_id else None,
                    "parameterChanges": (
                        parameter_changes(previous[r.id], r.configuration)
                        if r.id in previous
                        else None
                    ),
                    "executions": by_run[r.id],
                    "artifacts": list(run_artifacts[r.id]),
                }
            )
            for r in runs
        ],
        "artifacts": [
            _artifact(members, marks, list(runs_of_node[node_of[members[0].id]]))
            for members in groups.values()
        ],
        **({"edges": list(derived.values())} if edges else {}),
        "truncated": truncated,
    }


def _run_of(session: Session, experiment_id: uuid.UUID, run_id: uuid.UUID | None) -> RunRow | None:
    """The run ``before`` names, which must be one of the experiment's."""
    if run_id is None:
        return None
    run = session.get(RunRow, run_id)
    if run is None or run.experiment_id != experiment_id:
        raise InvalidInput(
            f"run {run_id} is not a run of experiment {experiment_id}",
            errors=[{"pointer": "/before", "in": "query", "detail": "not a run of the experiment"}],
        )
    return run


def _same(a: Any, b: Any) -> bool:
    # 1, 1.0 and True are equal in Python, not as parameters.
    return type(a) is type(b) and a == b


def parameter_changes(before: Any, now: Any) -> list[dict[str, Any]] | None:
    """The parameters of ``now`` that differ from ``before`` (two configurations), by their
    dotted path, as the trace sends them: only what changed, so that a thousand runs of one
    configuration add nothing to the answer."""
    old = {".".join(k): v for k, v in leaves(before if isinstance(before, dict) else {}).items()}
    new = {".".join(k): v for k, v in leaves(now if isinstance(now, dict) else {}).items()}
    changes: list[dict[str, Any]] = [
        {"key": k} if v is None else {"key": k, "value": v}
        for k, v in new.items()
        if k not in old or not _same(old[k], v)
    ]
    changes += [{"key": k, "removed": True} for k in old if k not in new]
    # By key: PostgreSQL keeps a document's keys in an order of its own.
    return sorted(changes, key=lambda c: c["key"]) or None


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields that have a value: the server leaves out absent fields of graph answers."""
    return {k: v for k, v in fields.items() if v is not None}


def _executable(row: Executable) -> dict[str, Any]:
    return _present({**executable_fields(row), "id": id_text(row.id)})


def _trigger(row: ArtifactRecord) -> dict[str, Any]:
    # Its fields' names are single words: the same in camelCase.
    return _present({**trigger_fields(row), "id": id_text(row.id)})


def _artifact(members: list[ArtifactRecord], marks: Marks, runs: list[str]) -> dict[str, Any]:
    """The node of equal artifacts (the first stands for them), with the runs they are in.
    Built field by field, as ``_present`` would leave it: only the URI and the marks can be
    absent, and ten thousand nodes are a fifth of the trace's time."""
    row = members[0]
    ids = [m.id for m in members]
    node = {
        "id": id_text(row.id),
        "type": "artifact",
        "name": row.name,
        "kind": row.kind,
        "version": row.version,
    }
    if row.uri is not None:
        node["uri"] = row.uri
    node["fingerprint"] = row.fingerprint
    node["createTime"] = row.create_time
    node["artifacts"] = [id_text(i) for i in ids]
    node["runs"] = runs
    if marks.flags:
        if flag := marks.flagged(ids):
            node["flagged"] = flag.model_dump(by_alias=True)
        if affected := marks.affected_by(row.fingerprint, ids):
            node["affectedBy"] = [id_text(i) for i in affected]
    return node
