"""The recipe that rebuilds an artifact (FR8), and what is missing from it."""

from __future__ import annotations

import json
import shlex
import uuid
from collections import defaultdict

from sqlalchemy.orm import Session

from modeltrail.domain.fingerprint import is_trigger
from modeltrail.domain.lineage import Gap, Recipe, RecipeArtifact, RecipeStep
from modeltrail.services.common import get_or_404
from modeltrail.services.graph.lineage import DEFAULT_DEPTH, check_depth
from modeltrail.services.graph.nodes import (
    artifact_node,
    executable_ref,
    execution_node,
    load_marks,
)
from modeltrail.store import lineage as store
from modeltrail.store.records import ExecutableRecord, ExecutionRecord, Id
from modeltrail.store.tables import ArtifactRow

# What the SDK (``git.commit``, ``sha256`` of the source), the MLflow import
# (``mlflow.source.git.commit``) and clients of the API record about the code that ran, most
# telling first: a commit names the whole tree, a hash only the file.
SOURCE_HASH_KEYS = (
    "git.commit",
    "mlflow.source.git.commit",
    "sourceHash",
    "source_hash",
    "sourceSha",
    "gitCommit",
    "git_commit",
    "commit",
    "sha256",
    "digest",
)
COMMAND_KEYS = ("command", "commandLine", "command_line", "cmd")


def _first(annotations: dict[str, str] | None, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if annotations and annotations.get(key):
            return annotations[key]
    return None


def _topological(
    executions: list[ExecutionRecord],
    inputs: dict[Id, list[Id]],
    outputs: dict[Id, list[Id]],
    successors: list[tuple[Id, Id]],
) -> list[ExecutionRecord]:
    """Executions so that each comes after every execution it depends on (Kahn's algorithm,
    ties broken by start time)."""
    writer = {a: e for e, arts in outputs.items() for a in arts}
    after: dict[Id, set[Id]] = defaultdict(set)
    for e in executions:
        for a in inputs.get(e.id, []):
            if a in writer and writer[a] != e.id:
                after[e.id].add(writer[a])
    for a, b in successors:
        after[b].add(a)
    pending = {e.id: e for e in executions}
    done: list[ExecutionRecord] = []
    placed: set[Id] = set()
    while pending:
        ready = [e for e in pending.values() if after[e.id] <= placed] or list(pending.values())
        nxt = min(ready, key=lambda e: (e.start_time or e.create_time, str(e.id)))
        done.append(nxt)
        placed.add(nxt.id)
        del pending[nxt.id]
    return done


def recipe(session: Session, artifact_id: uuid.UUID, *, depth: int = DEFAULT_DEPTH) -> Recipe:
    """The upstream executions of an artifact in an order that can be executed, each with
    everything a rebuild needs, and every gap that would prevent one."""
    check_depth(depth)
    root = get_or_404(session, ArtifactRow, artifact_id, "artifact")
    walk = store.walk_artifacts(
        session, seeds=[(root.id, 0)], direction="upstream", depth=depth, merge=False
    )
    expanded = [a for a, d in walk.depths.items() if d < depth]
    _, pairs = store.executions_reached(session, artifact_ids=expanded, role="producers")
    exec_ids = [row.id for row, _ in pairs]
    exe_of: dict[Id, ExecutableRecord] = {row.id: exe for row, exe in pairs}
    io = store.edges_of_executions(session, exec_ids, successors="among")
    inputs, outputs, follows = io.input_lists(), io.output_lists(), io.successors
    ordered = _topological([row for row, _ in pairs], inputs, outputs, follows)
    artifacts = {
        a.id: a
        for a in store.artifacts_by_ids(
            session, list({a for arts in (*inputs.values(), *outputs.values()) for a in arts})
        )
    }
    runs = {r.id: r for r in store.runs_by_ids(session, list({row.run_id for row, _ in pairs}))}
    order_of = {row.id: i + 1 for i, row in enumerate(ordered)}
    written_by = {a: order_of[e] for e, arts in outputs.items() for a in arts}

    def item(aid: Id) -> RecipeArtifact:
        a = artifacts[aid]
        return RecipeArtifact(
            id=a.id,
            name=a.name,
            kind=a.kind,
            uri=a.uri,
            fingerprint=a.fingerprint,
            produced_by_step=written_by.get(aid),
        )

    gaps: list[Gap] = []
    steps = []
    for row in ordered:
        n = order_of[row.id]
        exe = exe_of[row.id]
        source_hash = _first(exe.annotations, SOURCE_HASH_KEYS)
        command = _first(row.annotations, COMMAND_KEYS) or _first(exe.annotations, COMMAND_KEYS)
        label = f"step {n} ({row.name}, executable {exe.name})"
        if not exe.uri:
            gaps.append(
                Gap(
                    step=n,
                    what="executable-uri",
                    blocking=True,
                    detail=f"{label}: the executable has no uri, so its code cannot be fetched",
                )
            )
        if not exe.version:
            gaps.append(
                Gap(
                    step=n,
                    what="executable-version",
                    blocking=True,
                    detail=f"{label}: the executable has no version",
                )
            )
        if row.status != "SUCCESS":
            gaps.append(
                Gap(
                    step=n,
                    what="step-status",
                    blocking=True,
                    detail=f"{label} ended {row.status}: "
                    "its outputs were not made by a finished run",
                )
            )
        if source_hash is None:
            gaps.append(
                Gap(
                    step=n,
                    what="source-hash",
                    blocking=False,
                    detail=f"{label}: no source hash annotation; "
                    "the code at the uri may have changed",
                )
            )
        if command is None:
            gaps.append(
                Gap(
                    step=n,
                    what="command",
                    blocking=False,
                    detail=f"{label}: no command line recorded; it must be run by hand",
                )
            )
        for aid in inputs[row.id]:
            a = artifacts[aid]
            if is_trigger(a.kind):
                continue  # why the run started, not what it needs: lineage starts there
            if aid not in written_by and not a.uri:
                gaps.append(
                    Gap(
                        step=n,
                        what="input-uri",
                        blocking=True,
                        detail=f"{label}: input {a.kind} {a.name!r} "
                        "has no uri and no step makes it",
                    )
                )
        run = runs.get(row.run_id)
        steps.append(
            RecipeStep(
                order=n,
                execution=execution_node(row, exe),
                executable=executable_ref(exe),
                source_hash=source_hash,
                command=command,
                configuration=row.configuration or {},
                run_configuration=(run.configuration if run else {}) or {},
                inputs=[item(a) for a in inputs[row.id]],
                outputs=[item(a) for a in outputs[row.id]],
            )
        )
    if not steps:
        gaps.append(
            Gap(
                step=None,
                what="no-producer",
                blocking=not root.uri,
                detail=f"no execution records how {root.kind} {root.name!r} was made"
                + ("; it can only be fetched from its uri" if root.uri else " and it has no uri"),
            )
        )
    if walk.truncated:
        gaps.append(
            Gap(
                step=None,
                what="truncated",
                blocking=True,
                detail=f"the lineage goes deeper than {depth} steps; "
                "raise depth for the full recipe",
            )
        )
    return Recipe(
        artifact=artifact_node(root, load_marks(session)),
        steps=steps,
        complete=not any(g.blocking for g in gaps),
        gaps=gaps,
        truncated=walk.truncated,
    )


def render_shell(plan: Recipe) -> str:
    """A POSIX shell script that runs the recipe's steps in order where their commands are
    known, and stops with a message where a step must be run by hand."""
    a = plan.artifact
    lines = [
        "#!/bin/sh",
        f"# Rebuilds {a.kind} {a.name!r} ({a.id}) from its recorded lineage.",
        f"# Complete: {'yes' if plan.complete else 'no'}.",
        *[f"# gap: {g.detail}" for g in plan.gaps],
        "set -eu",
        "",
    ]
    for s in plan.steps:
        exe = s.executable
        lines += [
            f"# --- step {s.order}: {s.execution.name} (kind {s.execution.kind})",
            f"# executable {exe.name} version {exe.version}"
            + (f" from {exe.uri}" if exe.uri else " (no uri)")
            + (f", source {s.source_hash}" if s.source_hash else ""),
            *[
                f"# input  {i.kind} {i.name}: {i.uri or '(no uri)'} "
                f"fingerprint {i.fingerprint[:16]}"
                for i in s.inputs
            ],
            *[f"# output {o.kind} {o.name}: {o.uri or '(no uri)'}" for o in s.outputs],
            f"MODELTRAIL_CONFIGURATION={shlex.quote(json.dumps(s.configuration, sort_keys=True))}",
            "MODELTRAIL_RUN_CONFIGURATION="
            + shlex.quote(json.dumps(s.run_configuration, sort_keys=True)),
            "export MODELTRAIL_CONFIGURATION MODELTRAIL_RUN_CONFIGURATION",
        ]
        if s.command:
            lines.append(s.command)
        else:
            lines.append(
                "echo "
                + shlex.quote(
                    f"step {s.order} ({s.execution.name}): no command recorded; run it by hand"
                )
                + " >&2"
            )
            lines.append("exit 1")
        lines.append("")
    return "\n".join(lines) + "\n"
