"""The thesis's API (Appendix A, section 7.2.1) on top of modeltrail's services.

The thesis's documents nest what modeltrail keeps as relations: an execution carries its
executable and its artifacts as objects, a run its event and pipeline, and an artifact has its
kind's attributes at top level (``type``, ``framework``, ``reference``, ...). The translation
is in three modules beside this one: ``shapes`` (the documents' fields), ``reader`` (documents
into domain writes) and ``writer`` (stored entities as documents). Here are the operations the
routes call, with the trace (FR10) and workflow (FR3) last. Every function takes the session of
one transaction, so a request that fails half-way leaves nothing behind.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain import models as m
from modeltrail.domain.errors import InvalidInput, ModeltrailError
from modeltrail.integrations.thesis_v1.reader import Reader, as_document, as_uuid, invalid, validate
from modeltrail.integrations.thesis_v1.shapes import (
    MAX_WORKFLOW_DEPTH,
    MAX_WORKFLOW_NODES,
    REQUIRED,
    Doc,
)
from modeltrail.integrations.thesis_v1.writer import (
    Writer,
    experiment_runs,
    get_row,
    run_executions,
)
from modeltrail.services.entities import edges as execution_edges
from modeltrail.services.entities import execution as executions
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ExperimentRow,
    RunRow,
)

if TYPE_CHECKING:
    from modeltrail.services.metadata import Transaction

# ================================================================ the operations
#
# Writes take one transaction of the store (``Metadata.transaction``): entities are created
# and changed through it, under the store's kind policy and with the plugins' hooks, as on the
# project API; each answers the document as it is now stored. Reads take a session.


def add_experiment(tx: Transaction, body: Any) -> Doc:
    fields = Reader(tx).experiment(as_document(body))
    created = tx.create("experiment", validate(m.ExperimentCreate, fields, "", required=REQUIRED))
    return get_experiment(tx.session, str(created.id))


def list_experiments(session: Session) -> list[Doc]:
    query = select(ExperimentRow).order_by(ExperimentRow.create_time, ExperimentRow.id)
    return Writer(session).experiments(list(session.scalars(query)))


def get_experiment(session: Session, experiment: str) -> Doc:
    return Writer(session).experiments([get_row(session, ExperimentRow, experiment, "experiment")])[
        0
    ]


def update_experiment(tx: Transaction, experiment: str, body: Any) -> Doc:
    row = get_row(tx.session, ExperimentRow, experiment, "experiment")
    fields = Reader(tx).experiment(_check_id(body, row.id), stored=row)
    tx.update("experiment", row.id, validate(m.ExperimentUpdate, fields, ""))
    return get_experiment(tx.session, experiment)


def add_run(tx: Transaction, experiment: str, body: Any) -> Doc:
    exp = get_row(tx.session, ExperimentRow, experiment, "experiment")
    fields = Reader(tx).run(as_document(body))
    created = tx.create("run", validate(m.RunCreate, {**fields, "experiment": exp.id}, ""))
    return get_run(tx.session, str(created.id))


def list_runs(session: Session, experiment: str) -> list[Doc]:
    exp = get_row(session, ExperimentRow, experiment, "experiment")
    return Writer(session).runs(experiment_runs(session, exp.id))


def get_run(session: Session, run: str) -> Doc:
    return Writer(session).runs([get_row(session, RunRow, run, "run")])[0]


def update_run(tx: Transaction, run: str, body: Any) -> Doc:
    row = get_row(tx.session, RunRow, run, "run")
    fields = Reader(tx).run(_check_id(body, row.id), stored=row)
    tx.update("run", row.id, validate(m.RunUpdate, fields, ""))
    return get_run(tx.session, run)


def add_execution(tx: Transaction, run: str, body: Any) -> Doc:
    run_row = get_row(tx.session, RunRow, run, "run")
    fields = Reader(tx).execution(as_document(body), create=True)
    created = tx.create("execution", validate(m.ExecutionCreate, {**fields, "run": run_row.id}, ""))
    return get_execution(tx.session, str(created.id))


def list_executions(session: Session, run: str) -> list[Doc]:
    row = get_row(session, RunRow, run, "run")
    return Writer(session).executions(run_executions(session, row.id))


def get_execution(session: Session, execution: str) -> Doc:
    return Writer(session).executions([get_row(session, ExecutionRow, execution, "execution")])[0]


def update_execution(tx: Transaction, execution: str, body: Any) -> Doc:
    session = tx.session
    row = get_row(session, ExecutionRow, execution, "execution")
    fields = Reader(tx).execution(_check_id(body, row.id), create=False)
    if fields.pop("executable", row.executable_id) != row.executable_id:
        raise invalid("/executable", "an execution's executable cannot change; post a new one")
    # A PUT adds relations and never drops one: a client that sends back the document it read
    # before it added artifacts must not erase them (removing is PATCH /api/v1/executions/{id}).
    current = executions.SERVICE.read(session, row.id).model_dump(by_alias=True)
    for name in ("inputArtifacts", "outputArtifacts", "successors"):
        if name in fields:
            fields[name] = list(dict.fromkeys([*current[name], *fields[name]]))
    tx.update("execution", row.id, validate(m.ExecutionUpdate, fields, ""))
    return get_execution(session, execution)


def add_output_artifact(tx: Transaction, execution: str, body: Any) -> Doc:
    row = get_row(tx.session, ExecutionRow, execution, "execution")
    artifact_id = Reader(tx).artifact(as_document(body), "")
    try:
        executions.add_edges(tx.session, row.id, outputs=[artifact_id])
    except ModeltrailError as exc:  # about the one output attached: the artifact sent
        exc.errors = [{**e, "pointer": "/"} for e in exc.errors]
        raise
    return get_artifact(tx.session, str(artifact_id))


def execution_artifacts(session: Session, execution: str) -> list[Doc]:
    """The artifacts the execution wrote (what POST .../artifacts added)."""
    row = get_row(session, ExecutionRow, execution, "execution")
    outputs = execution_edges.edges_of(session, [row.id])["outputs"].get(row.id, [])
    return Writer(session).artifacts(outputs)


def get_artifact(session: Session, artifact: str) -> Doc:
    return Writer(session).artifact(get_row(session, ArtifactRow, artifact, "artifact"))


def run_artifacts(session: Session, run: str) -> list[Doc]:
    row = get_row(session, RunRow, run, "run")
    return _artifacts_of_runs(session, [row])


def experiment_artifacts(session: Session, experiment: str) -> list[Doc]:
    exp = get_row(session, ExperimentRow, experiment, "experiment")
    return _artifacts_of_runs(session, experiment_runs(session, exp.id))


def _artifacts_of_runs(session: Session, runs: list[RunRow]) -> list[Doc]:
    """Every artifact the runs read or wrote, and the events that triggered them, oldest first."""
    in_runs = select(ExecutionRow.id).where(ExecutionRow.run_id.in_([r.id for r in runs]))
    ids = {r.event_id for r in runs if r.event_id is not None}
    for table in (ExecutionInputRow, ExecutionOutputRow):
        ids.update(
            session.scalars(select(table.artifact_id).where(table.execution_id.in_(in_runs)))
        )
    rows = session.scalars(select(ArtifactRow).where(ArtifactRow.id.in_(ids)))
    writer = Writer(session)
    return [writer.artifact(r) for r in sorted(rows, key=lambda r: (r.create_time, str(r.id)))]


def _check_id(body: Any, path_id: uuid.UUID) -> Doc:
    doc = as_document(body)
    if doc.get("id") is not None and as_uuid(doc["id"], "/id") != path_id:
        raise invalid("/id", f"the body is about {doc['id']}, the path about {path_id}")
    return doc


# ================================================================ workflow (FR3) and trace (FR10)


def _following(
    rows: list[ExecutionRow], edges: dict[str, dict[uuid.UUID, list[uuid.UUID]]]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Which executions of one run follow which: the successors the client gave, and for an
    execution without any, the executions that read one of its outputs."""
    ids = {r.id for r in rows}
    readers: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for r in rows:
        for a in edges["inputs"].get(r.id, []):
            readers[a].append(r.id)
    following: dict[uuid.UUID, list[uuid.UUID]] = {}
    for r in rows:
        given = [s for s in edges["successors"].get(r.id, []) if s in ids]
        flow = [x for a in edges["outputs"].get(r.id, []) for x in readers[a] if x != r.id]
        following[r.id] = list(dict.fromkeys(given or flow))
    return _without_cycles(rows, following)


def _without_cycles(
    rows: list[ExecutionRow], following: dict[uuid.UUID, list[uuid.UUID]]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Drop the edges that would close a cycle.

    Successors and artifact flow are each acyclic (the store refuses cycles), but mixing the
    two can close one: A names B as successor while B, without successors, wrote what A read.
    The edge found last in time order gives way.
    """
    state: dict[uuid.UUID, int] = {}  # 1: on the current path, 2: done
    for start in (r.id for r in rows):
        if start in state:
            continue
        state[start] = 1
        stack = [(start, iter(list(following[start])))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                following[node].remove(child)
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(list(following[child]))))
    return following


def _roots(
    rows: list[ExecutionRow], following: dict[uuid.UUID, list[uuid.UUID]]
) -> list[uuid.UUID]:
    followed = {c for cs in following.values() for c in cs}
    return [r.id for r in rows if r.id not in followed]  # rows are in time order


def _depths(
    rows: list[ExecutionRow], following: dict[uuid.UUID, list[uuid.UUID]]
) -> dict[uuid.UUID, int]:
    """Each execution's step in its pipeline: the longest path to it from a first execution."""
    indegree = {r.id: 0 for r in rows}
    for children in following.values():
        for c in children:
            indegree[c] += 1
    depth = dict.fromkeys(indegree, 0)
    ready = [i for i, d in indegree.items() if d == 0]
    while ready:
        node = ready.pop()
        for c in following[node]:
            depth[c] = max(depth[c], depth[node] + 1)
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
    return depth


def workflow(session: Session, run: str) -> Doc:
    """The run's executions as a DAG rooted at its first execution.

    The thesis's workflow has one root; executions that follow no other execution besides the
    first one are shown as its children, since the first execution began the run.
    """
    row = get_row(session, RunRow, run, "run")
    rows = run_executions(session, row.id)
    doc: Doc = {"id": str(uuid.uuid5(row.id, "workflow")), "runId": str(row.id), "root": None}
    if not rows:
        return doc
    following = _following(rows, execution_edges.edges_of(session, [r.id for r in rows]))
    first, *other_roots = _roots(rows, following)
    following[first] = list(dict.fromkeys([*following[first], *other_roots]))

    # A node shared by several parents appears under each: count the tree before building it.
    depth = _depths(rows, following)
    sizes: dict[uuid.UUID, int] = {}
    for n in sorted(following, key=lambda n: -depth[n]):  # children before their parents
        sizes[n] = 1 + sum(sizes[c] for c in following[n])
    if sizes[first] > MAX_WORKFLOW_NODES or max(depth.values()) > MAX_WORKFLOW_DEPTH:
        raise InvalidInput(
            f"the workflow of run {row.id} is too large to show as a tree ({sizes[first]} nodes, "
            f"{max(depth.values()) + 1} levels); read GET /api/v1/runs/{row.id}/dag instead"
        )

    nodes: dict[uuid.UUID, Doc] = {}

    def node(execution_id: uuid.UUID) -> Doc:
        if execution_id not in nodes:
            nodes[execution_id] = {
                "nodeId": str(execution_id),
                "children": [node(c) for c in following[execution_id]],
            }
        return nodes[execution_id]

    doc["root"] = node(first)
    return doc


def trace(session: Session, experiment: str) -> Doc:
    """All runs of an experiment, grouped by execution type in pipeline order, with equal
    artifacts (equal fingerprints) merged into one trace artifact that names every run it
    appeared in (thesis 7.2.1, Figure 7.1).

    A type lists the artifacts its executions wrote, and those they read that no execution of
    the experiment wrote (the data that entered the pipeline there).
    """
    exp = get_row(session, ExperimentRow, experiment, "experiment")
    runs = experiment_runs(session, exp.id)
    run_order = {r.id: i for i, r in enumerate(runs)}
    rows = sorted(
        (e for r in runs for e in run_executions(session, r.id)), key=lambda e: run_order[e.run_id]
    )
    edges = execution_edges.edges_of(session, [e.id for e in rows])
    produced = {a for ids in edges["outputs"].values() for a in ids}

    # Pipeline order of a type: its earliest step in any run, then its first appearance.
    step: dict[uuid.UUID, int] = {}
    for run in runs:
        run_rows = [e for e in rows if e.run_id == run.id]
        step.update(_depths(run_rows, _following(run_rows, edges)))
    types: dict[str, list[ExecutionRow]] = defaultdict(list)
    for e in rows:
        types[e.kind].append(e)
    ordered = sorted(types, key=lambda k: (min(step[e.id] for e in types[k]), list(types).index(k)))

    artifact_rows = {
        a.id: a
        for a in session.scalars(
            select(ArtifactRow).where(
                ArtifactRow.id.in_(produced | {a for ids in edges["inputs"].values() for a in ids})
            )
        )
    }
    execution_types = []
    for order, kind in enumerate(ordered, start=1):
        merged: dict[str, Doc] = {}
        for e in types[kind]:
            entered = [a for a in edges["inputs"].get(e.id, []) if a not in produced]
            for artifact_id in [*entered, *edges["outputs"].get(e.id, [])]:
                a = artifact_rows[artifact_id]
                item = merged.setdefault(
                    a.fingerprint, {"artifactId": str(a.id), "name": a.name, "runIds": []}
                )
                if str(e.run_id) not in item["runIds"]:
                    item["runIds"].append(str(e.run_id))
        execution_types.append(
            {
                "executionId": str(types[kind][0].id),
                "name": kind,
                "order": order,
                "artifacts": list(merged.values()),
            }
        )
    return {
        "id": str(uuid.uuid5(exp.id, "trace")),
        "experimentId": str(exp.id),
        "executionTypes": execution_types,
    }
