"""The lineage diff: what differs in how two artifacts were made (case study, thesis ch. 8).

Both artifacts' upstream executions are aligned step by step (same execution kind and
executable name; the n-th of a kind with the n-th), and each aligned pair is compared: its
input artifacts, its executable, its configuration; then the runs' configurations and the
events that started them. Differences are ordered so that the likely root cause comes first:
the most upstream step first, and a difference that an upstream difference explains (an
intermediate artifact that changed because the step that wrote it changed) after all others,
marked ``derived``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from modeltrail.domain.errors import NotFound
from modeltrail.domain.lineage import AlignedStep, Change, Difference, LineageDiff, StepRef
from modeltrail.services.common import missing
from modeltrail.services.graph.compare import flatten
from modeltrail.services.graph.lineage import DEFAULT_DEPTH, check_depth
from modeltrail.services.graph.nodes import artifact_node, load_marks
from modeltrail.store import lineage as store
from modeltrail.store.records import (
    ArtifactRecord,
    Executable,
    ExecutableRecord,
    ExecutionRecord,
    Id,
    RunRecord,
)

_ABSENT = object()


@dataclass
class Step:
    execution: ExecutionRecord
    executable: Executable
    level: int
    inputs: list[ArtifactRecord] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.execution.kind, self.executable.name)


@dataclass
class Side:
    steps: list[Step]
    producer: dict[Id, Id]  # artifact -> execution that wrote it
    runs: dict[Id, RunRecord]
    events: dict[Id, ArtifactRecord]
    truncated: bool


def _sides(
    session: Session, roots: tuple[ArtifactRecord, ArtifactRecord], depth: int
) -> list[Side]:
    """The upstream steps of each root. Both walks are one statement, and the two sides are
    then read together, one statement per table: a statement costs more than the rows."""
    walks = store.walks_from_each(
        session, store.hexes(r.id for r in roots), direction="upstream", depth=depth, merge=False
    )
    expanded = {aid for walk in walks for aid, d in walk.depths.items() if d < depth}
    producers, reached = store.executions_reached(session, artifact_ids=expanded, role="producers")
    levels: list[dict[Id, int]] = []
    for walk in walks:
        level: dict[Id, int] = {}
        for eid, aid in producers:
            d = walk.depths.get(aid)
            if d is not None and d < depth:
                level[eid] = min(level.get(eid, 1 << 30), d + 1)
        levels.append(level)
    # Every producer is wanted: the artifact it wrote is short of the depth on some side.
    wanted = list({eid for level in levels for eid in level})
    executions = reached
    io = store.edges_of_executions(session, wanted, artifacts=True)
    inputs, outputs, artifacts = io.inputs, io.outputs, io.artifacts
    run_ids = list({row.run_id for row, _ in executions})
    with_events = store.runs_with_events(session, run_ids)
    runs = {r.id: r for r, _ in with_events}
    events = {e.id: e for _, e in with_events if e is not None}
    by_execution: dict[Id, list[tuple[int, ArtifactRecord]]] = defaultdict(list)
    for eid, aid, pos in inputs:
        by_execution[eid].append((pos, artifacts[aid]))
    sides = []
    for walk, level in zip(walks, levels, strict=True):
        steps = [
            Step(
                row,
                exe,
                level[row.id],
                [a for _, a in sorted(by_execution[row.id], key=lambda p: p[0])],
            )
            for row, exe in executions
            if row.id in level
        ]
        steps.sort(
            key=lambda s: (
                -s.level,
                s.execution.start_time or s.execution.create_time,
                str(s.execution.id),
            )
        )
        own_runs = {s.execution.run_id: runs[s.execution.run_id] for s in steps}
        own_events = {r.event_id: events[r.event_id] for r in own_runs.values() if r.event_id}
        producer = {aid: eid for eid, aid, _ in outputs if eid in level}
        sides.append(Side(steps, producer, own_runs, own_events, walk.truncated))
    return sides


def _align(after: list[Step], before: list[Step]) -> list[tuple[Step | None, Step | None]]:
    """The n-th step of a kind and executable on one side with the n-th on the other, most
    upstream first."""
    groups: dict[tuple[str, str], tuple[list[Step], list[Step]]] = defaultdict(lambda: ([], []))
    for s in after:
        groups[s.key][0].append(s)
    for s in before:
        groups[s.key][1].append(s)
    pairs: list[tuple[Step | None, Step | None]] = []
    for a_steps, b_steps in groups.values():
        for i in range(max(len(a_steps), len(b_steps))):
            pairs.append(
                (a_steps[i] if i < len(a_steps) else None, b_steps[i] if i < len(b_steps) else None)
            )
    pairs.sort(key=lambda p: -max(s.level for s in p if s is not None))
    return pairs


def _changes(after: dict[str, Any], before: dict[str, Any]) -> list[Change]:
    out = []
    for name in dict.fromkeys([*after, *before]):
        a, b = after.get(name, _ABSENT), before.get(name, _ABSENT)
        if a != b:
            out.append(
                Change(
                    field=name,
                    before=None if b is _ABSENT else b,
                    after=None if a is _ABSENT else a,
                )
            )
    return out


def _artifact_fields(row: ArtifactRecord) -> dict[str, Any]:
    # Where the data lives and what it holds first: that is what a reader looks for.
    fields: dict[str, Any] = {"uri": row.uri}
    fields.update(flatten(row.attributes, "attributes") if row.attributes else {})
    fields.update(flatten(row.annotations, "annotations") if row.annotations else {})
    fields.update(
        {
            "name": row.name,
            "version": row.version,
            "description": row.description,
            "fingerprint": row.fingerprint,
        }
    )
    return fields


def _executable_fields(row: Executable) -> dict[str, Any]:
    annotations = row.annotations if isinstance(row, ExecutableRecord) else None
    fields: dict[str, Any] = {"name": row.name, "version": row.version, "uri": row.uri}
    fields.update(flatten(annotations, "annotations") if annotations else {})
    return fields


def _show(value: Any) -> str:
    return "(none)" if value is None else repr(value) if isinstance(value, str) else str(value)


def _summary(subject: str, changes: list[Change]) -> str:
    shown = [c for c in changes if c.field != "fingerprint"] or changes
    parts = [f"{c.field} {_show(c.before)} -> {_show(c.after)}" for c in shown[:4]]
    more = f" (+{len(shown) - 4} more)" if len(shown) > 4 else ""
    return f"{subject}: " + "; ".join(parts) + more


def _pair_inputs(
    after: list[ArtifactRecord], before: list[ArtifactRecord]
) -> list[tuple[ArtifactRecord | None, ArtifactRecord | None]]:
    """Inputs matched by kind, in order; an equal artifact is matched with its equal first."""
    pairs: list[tuple[ArtifactRecord | None, ArtifactRecord | None]] = []
    remaining = list(before)
    unmatched = []
    for a in after:
        twin = next((b for b in remaining if b.fingerprint == a.fingerprint), None)
        if twin is not None:
            remaining.remove(twin)
        else:
            unmatched.append(a)
    for a in unmatched:
        same_kind = next((b for b in remaining if b.kind == a.kind), None)
        if same_kind is not None:
            remaining.remove(same_kind)
        pairs.append((a, same_kind))
    pairs += [(None, b) for b in remaining]
    return pairs


def lineage_diff(
    session: Session,
    artifact_id: uuid.UUID,
    against_id: uuid.UUID | None = None,
    *,
    depth: int = DEFAULT_DEPTH,
) -> LineageDiff:
    """What differs between the lineage of ``artifact_id`` and of ``against_id`` (default:
    the previous artifact with the same name and kind), root cause first."""
    check_depth(depth)
    asked = [artifact_id] if against_id is None else [artifact_id, against_id]
    rows, any_flag = store.artifacts_by_ids_with_any_flag(session, asked)
    by_id = {row.id: row for row in rows}
    for wanted in asked:
        if wanted.hex not in by_id:
            raise missing("artifact", wanted)
    root = by_id[artifact_id.hex]
    if against_id is None:
        other = store.previous_artifact(session, root)
        if other is None:
            raise NotFound(
                f"no earlier {root.kind} named {root.name!r} with other content; "
                "name one to compare against (--against ID on the command line, "
                "against=ID in the API)",
                entity="artifact",
            )
    else:
        other = by_id[against_id.hex]
    after, before = _sides(session, (root, other), depth)
    pairs = _align(after.steps, before.steps)
    pair_of: dict[Id, int] = {}
    for i, (sa, sb) in enumerate(pairs):
        for s in (sa, sb):
            if s is not None:
                pair_of[s.execution.id] = i
    changed: set[int] = set()
    roots: list[Difference] = []
    derived: list[Difference] = []
    run_pairs: list[tuple[RunRecord | None, RunRecord | None, StepRef]] = []
    aligned: list[AlignedStep] = []

    def explained(row: ArtifactRecord | None, side: Side) -> bool:
        producer = side.producer.get(row.id) if row is not None else None
        return producer is not None and pair_of.get(producer) in changed

    for i, (sa, sb) in enumerate(pairs):
        some = sa or sb
        assert some is not None
        ref = StepRef(
            kind=some.execution.kind,
            executable=some.executable.name,
            level=max(s.level for s in (sa, sb) if s is not None),
        )
        aligned.append(
            AlignedStep(
                kind=ref.kind,
                executable=ref.executable,
                level=ref.level,
                artifact_execution=sa.execution.id if sa else None,
                against_execution=sb.execution.id if sb else None,
            )
        )
        label = f"step {ref.kind} ({ref.executable})"
        if sa is None or sb is None:
            changed.add(i)
            only = "the artifact's" if sa is not None else "the other's"
            roots.append(
                Difference(
                    category="step",
                    step=ref,
                    subject=label,
                    before_id=sb.execution.id if sb else None,
                    after_id=sa.execution.id if sa else None,
                    changes=[Change(field="present", before=sb is not None, after=sa is not None)],
                    summary=f"{label} only in {only} lineage",
                )
            )
            continue
        found: list[Difference] = []
        for a, b in _pair_inputs(sa.inputs, sb.inputs):
            if a is not None and b is not None and a.fingerprint == b.fingerprint:
                continue
            if (a is not None and a.id in after.events) or (
                b is not None and b.id in before.events
            ):
                # A trigger event read by the first step explains why the run started, not
                # what it computed: it is reported once, with the runs, as their trigger.
                continue
            some_input = a or b
            assert some_input is not None
            subject = f"input {some_input.kind} {some_input.name!r} of {label}"
            if a is not None and b is not None and a.name != b.name:
                subject = f"input {a.kind} {b.name!r} -> {a.name!r} of {label}"
            changes = _changes(_artifact_fields(a) if a else {}, _artifact_fields(b) if b else {})
            diff = Difference(
                category="input",
                step=ref,
                subject=subject,
                before_id=b.id if b else None,
                after_id=a.id if a else None,
                changes=changes,
                summary=_summary(subject, changes),
                derived=explained(a, after) or explained(b, before),
            )
            found.append(diff)
        if sa.executable.id != sb.executable.id:
            changes = _changes(_executable_fields(sa.executable), _executable_fields(sb.executable))
            if changes:
                subject = f"executable of {label}"
                found.append(
                    Difference(
                        category="executable",
                        step=ref,
                        subject=subject,
                        before_id=sb.executable.id,
                        after_id=sa.executable.id,
                        changes=changes,
                        summary=_summary(subject, changes),
                    )
                )
        config = _changes(
            flatten(sa.execution.configuration or {}, "configuration"),
            flatten(sb.execution.configuration or {}, "configuration"),
        )
        config = [c for c in config if c.field != "configuration"] or config
        if config:
            subject = f"configuration of {label}"
            found.append(
                Difference(
                    category="configuration",
                    step=ref,
                    subject=subject,
                    before_id=sb.execution.id,
                    after_id=sa.execution.id,
                    changes=config,
                    summary=_summary(subject, config),
                )
            )
        if found:
            changed.add(i)
        for d in found:
            (derived if d.derived else roots).append(d)
        run_pairs.append(
            (after.runs.get(sa.execution.run_id), before.runs.get(sb.execution.run_id), ref)
        )

    context: list[Difference] = []
    seen: set[tuple[Id, Id]] = set()
    for ra, rb, _ in run_pairs:
        if ra is None or rb is None or (ra.id, rb.id) in seen or ra.id == rb.id:
            continue
        seen.add((ra.id, rb.id))
        changes = _changes(
            flatten(ra.configuration or {}, "configuration"),
            flatten(rb.configuration or {}, "configuration"),
        )
        changes = [c for c in changes if c.field != "configuration"] or changes
        if changes:
            subject = f"configuration of run {rb.name!r} -> {ra.name!r}"
            context.append(
                Difference(
                    category="runConfiguration",
                    step=None,
                    subject=subject,
                    before_id=rb.id,
                    after_id=ra.id,
                    changes=changes,
                    summary=_summary(subject, changes),
                )
            )
        ea, eb = (
            after.events.get(ra.event_id) if ra.event_id else None,
            (before.events.get(rb.event_id) if rb.event_id else None),
        )
        if (ea.fingerprint if ea else None) != (eb.fingerprint if eb else None):
            fa = {"cause": (ea.attributes or {}).get("cause"), **_artifact_fields(ea)} if ea else {}
            fb = {"cause": (eb.attributes or {}).get("cause"), **_artifact_fields(eb)} if eb else {}
            changes = [c for c in _changes(fa, fb) if c.field != "attributes.cause"]
            subject = f"trigger of run {rb.name!r} -> {ra.name!r}"
            context.append(
                Difference(
                    category="trigger",
                    step=None,
                    subject=subject,
                    before_id=eb.id if eb else None,
                    after_id=ea.id if ea else None,
                    changes=changes,
                    summary=_summary(subject, changes),
                )
            )
    marks = load_marks(session, any_flag=any_flag)
    return LineageDiff(
        artifact=artifact_node(root, marks),
        against=artifact_node(other, marks),
        differences=roots + context + derived,
        steps=aligned,
        truncated=after.truncated or before.truncated,
    )
