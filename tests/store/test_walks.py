"""The store's graph walks against a walk in plain Python, on small graphs hypothesis makes.

Each graph is a few steps, each reading artifacts made before it and writing new ones, some of
them equal (the same fingerprint), and references between artifacts (a metric and the model it
measures). For every artifact, both directions, with and without merging equal artifacts and
at every depth limit, the store's walks must reach exactly the nodes a breadth-first search
reaches, each at its fewest steps, and say ``truncated`` exactly when something lay one step
further. The same for the reachability of executions (``store.graph``). On SQLite and
PostgreSQL: the recursive queries differ between them.
"""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import _empty
from modeltrail.services.metadata import Metadata
from modeltrail.store import graph
from modeltrail.store import lineage as store
from modeltrail.store.tables import (
    ArtifactReferenceRow,
    ArtifactRow,
    ExecutableRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ExecutionSuccessorRow,
    ExperimentRow,
    RunRow,
)

COMMON = {"version": "1", "annotations": {}}


@dataclass
class Graph:
    contents: list[int]  # per artifact: equal numbers, equal fingerprints
    steps: list[tuple[list[int], list[int]]]  # per execution: (inputs, outputs), artifact indexes
    references: list[tuple[int, int]]  # (artifact, the artifact it refers to)
    successors: list[tuple[int, int]]  # (execution, its successor)
    artifact_ids: list[uuid.UUID] = field(default_factory=list)
    execution_ids: list[uuid.UUID] = field(default_factory=list)


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    contents = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    steps = []
    for _ in range(draw(st.integers(0, 4))):
        made = len(contents)
        inputs = draw(st.lists(st.integers(0, made - 1), max_size=3, unique=True))
        outputs = draw(st.lists(st.integers(0, 3), min_size=1, max_size=2))
        contents += outputs
        steps.append((inputs, list(range(made, made + len(outputs)))))
    n = len(contents)
    references = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1]),
            max_size=2,
            unique=True,
        )
    )
    successors = []
    if len(steps) > 1:
        successors = draw(
            st.lists(
                st.tuples(st.integers(0, len(steps) - 1), st.integers(0, len(steps) - 1))
                .map(sorted)
                .map(tuple)
                .filter(lambda p: p[0] != p[1]),
                max_size=3,
                unique=True,
            )
        )
    return Graph(contents, steps, references, successors)


def store_graph(meta: Metadata, g: Graph) -> None:
    experiment, run, exe = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    g.artifact_ids = [uuid.uuid4() for _ in g.contents]
    g.execution_ids = [uuid.uuid4() for _ in g.steps]
    with meta.session() as s:
        s.add(ExperimentRow(id=experiment, name="e", **COMMON))
        s.add(ExecutableRow(id=exe, name="step", uri="git://x", **COMMON))
        for aid, content in zip(g.artifact_ids, g.contents, strict=True):
            s.add(
                ArtifactRow(
                    id=aid,
                    name=f"a{content}",
                    kind="dataset",
                    kind_version=1,
                    fingerprint=f"fp{content}",
                    **COMMON,
                )
            )
        s.flush()
        s.add(RunRow(id=run, name="r", experiment_id=experiment, status="SUCCESS", **COMMON))
        s.flush()
        for eid in g.execution_ids:
            s.add(
                ExecutionRow(
                    id=eid,
                    name="step",
                    run_id=run,
                    executable_id=exe,
                    kind="transformation",
                    status="SUCCESS",
                    configuration={},
                    fingerprint=eid.hex,
                    **COMMON,
                )
            )
        s.flush()
        for eid, (inputs, outputs) in zip(g.execution_ids, g.steps, strict=True):
            for i in inputs:
                s.add(ExecutionInputRow(execution_id=eid, artifact_id=g.artifact_ids[i]))
            for o in outputs:
                s.add(ExecutionOutputRow(execution_id=eid, artifact_id=g.artifact_ids[o]))
        for a, b in g.references:
            s.add(
                ArtifactReferenceRow(
                    artifact_id=g.artifact_ids[a], target_id=g.artifact_ids[b], attribute=f"ref{b}"
                )
            )
        for a, b in g.successors:
            s.add(
                ExecutionSuccessorRow(
                    execution_id=g.execution_ids[a], successor_id=g.execution_ids[b]
                )
            )


def neighbours(g: Graph, direction: str) -> dict[int, set[int]]:
    """Artifact -> the artifacts one step away, by id."""
    out: dict[int, set[int]] = {i: set() for i in range(len(g.contents))}
    for inputs, outputs in g.steps:
        src, dst = (inputs, outputs) if direction == "downstream" else (outputs, inputs)
        for a in src:
            out[a] |= set(dst)
    for a, b in g.references:
        src, dst = (b, a) if direction == "downstream" else (a, b)
        out[src].add(dst)
    return out


def expected(g: Graph, root: int, direction: str, merge: bool) -> dict[str, int]:
    """Breadth-first from root: key -> fewest steps, with no depth limit."""
    near = neighbours(g, direction)

    def key(i: int) -> str:
        return f"fp{g.contents[i]}" if merge else g.artifact_ids[i].hex

    members: dict[str, list[int]] = {}
    for i in range(len(g.contents)):
        members.setdefault(key(i), []).append(i)
    depths = {key(root): 0}
    queue = deque([key(root)])
    while queue:
        k = queue.popleft()
        for member in members[k] if merge else [members[k][0]]:
            for n in near[member]:
                # a copy of what was read leads nowhere new
                if merge and key(n) == k:
                    continue
                if key(n) not in depths:
                    depths[key(n)] = depths[k] + 1
                    queue.append(key(n))
    return depths


def reachable(pairs: list[tuple[int, int]], start: int) -> set[int]:
    seen: set[int] = set()
    todo = [b for a, b in pairs if a == start]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo += [b for a, b in pairs if a == n]
    return seen


def check(meta: Metadata, g: Graph) -> None:
    _empty(meta)
    store_graph(meta, g)
    with meta.session("read") as s:
        for root, aid in enumerate(g.artifact_ids):
            for direction in ("upstream", "downstream"):
                for merge in (False, True):
                    full = expected(g, root, direction, merge)
                    seed = f"fp{g.contents[root]}" if merge else aid.hex
                    for depth in range(max(full.values()) + 2):
                        within = {k: d for k, d in full.items() if d <= depth}
                        truncated = len(within) < len(full)
                        walk = store.walk_artifacts(
                            s, seeds=[(seed, 0)], direction=direction, depth=depth, merge=merge
                        )
                        where = (root, direction, merge, depth)
                        assert (walk.depths, walk.truncated) == (within, truncated), where
                        (each,) = store.walks_from_each(
                            s, [seed], direction=direction, depth=depth, merge=merge
                        )
                        assert (each.depths, each.truncated) == (within, truncated), where
                        walked, rows = store.walk_with_artifacts(
                            s, seeds=[(seed, 0)], direction=direction, depth=depth, merge=merge
                        )
                        assert walked.depths == within, where
                        keys = {r.fingerprint if merge else r.id for r in rows}
                        assert keys == set(within), where
        # Executions: along successor edges, and along data (an output read by another).
        flows = [
            (a, b)
            for a, (_, outputs) in enumerate(g.steps)
            for b, (inputs, _) in enumerate(g.steps)
            if set(outputs) & set(inputs)
        ]
        for n, eid in enumerate(g.execution_ids):
            ids = g.execution_ids
            assert graph.successors_reachable(s, [eid]) == {
                ids[i] for i in reachable(g.successors, n)
            }
            assert graph.executions_downstream(s, [eid]) == {ids[i] for i in reachable(flows, n)}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(g=graphs())
def test_walks_reach_what_a_breadth_first_search_reaches(metadata: Metadata, g: Graph) -> None:
    check(metadata, g)


def test_the_reference_walk_on_a_chain_with_a_copy_and_a_reference() -> None:
    """The shapes the walks must get right, spelled out: a copy, a chain, a reference."""
    g = Graph(
        contents=[0, 1, 1, 2, 3],
        steps=[([0], [1]), ([1], [2]), ([2], [3])],  # step 2 copies its input
        references=[(4, 3)],  # a metric of the last output
        successors=[(0, 1), (1, 2)],
    )
    g.artifact_ids = [uuid.UUID(int=n + 1) for n in range(len(g.contents))]
    assert expected(g, 0, "downstream", merge=True) == {"fp0": 0, "fp1": 1, "fp2": 2, "fp3": 3}
    assert expected(g, 0, "downstream", merge=False)[g.artifact_ids[4].hex] == 4
    assert expected(g, 4, "upstream", merge=True) == {"fp3": 0, "fp2": 1, "fp1": 2, "fp0": 3}
