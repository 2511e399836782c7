"""Has this step already been computed? (FR6, thesis Scenario 4.4)

Two executions did the same work when their fingerprints are equal (executable name,
version and uri, kind, configuration, and the fingerprints of the data inputs: a trigger is
not one). The most recent
successful one has outputs that another can reuse instead of computing them again.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy.orm import Session

from modeltrail.domain.errors import NotFound
from modeltrail.domain.fingerprint import execution_fingerprint, work_inputs
from modeltrail.domain.lineage import CacheHit, CacheLookup, ReuseReport, ReuseRow
from modeltrail.services.common import get_or_404, require_existing
from modeltrail.services.graph.nodes import (
    artifact_node,
    executable_ref,
    execution_node,
    load_marks,
)
from modeltrail.store import lineage as store
from modeltrail.store.records import Id
from modeltrail.store.tables import ArtifactRow, ExecutableRow, ExecutionRow


def lookup(session: Session, query: CacheLookup) -> CacheHit:
    """The most recent successful execution that did exactly this work, with its outputs."""
    require_existing(
        session, ArtifactRow, query.input_artifacts, pointer="/inputArtifacts", what="artifact"
    )
    inputs = store.artifacts_by_ids(session, list(dict.fromkeys(query.input_artifacts)))
    fingerprint = execution_fingerprint(
        executable_name=query.executable.name,
        executable_version=query.executable.version,
        executable_uri=query.executable.uri,
        kind=query.kind,
        configuration=query.configuration,
        input_fingerprints=work_inputs((a.kind, a.fingerprint) for a in inputs),
    )
    row = store.latest_success_with_fingerprint(session, fingerprint)
    if row is None:
        raise NotFound(
            f"no successful execution did this work yet (fingerprint {fingerprint})",
            entity="execution",
            fingerprint=fingerprint,
        )
    return _hit(session, row)


def lookup_execution(session: Session, execution_id: uuid.UUID) -> CacheHit:
    """Another successful execution (the most recent) that did the same work."""
    execution = get_or_404(session, ExecutionRow, execution_id, "execution")
    row = store.latest_success_with_fingerprint(
        session, execution.fingerprint, exclude=execution.id
    )
    if row is None:
        raise NotFound(
            f"no other successful execution did the work of execution {execution.id}",
            entity="execution",
            fingerprint=execution.fingerprint,
        )
    return _hit(session, row)


def _hit(session: Session, row: ExecutionRow) -> CacheHit:
    exe = session.get(ExecutableRow, row.executable_id)
    assert exe is not None
    outputs = store.edges_of_executions(session, [row.id]).outputs
    order = [aid for _, aid, _ in sorted(outputs, key=lambda t: t[2])]
    artifacts = {a.id: a for a in store.artifacts_by_ids(session, order)}
    marks = load_marks(session)
    return CacheHit(
        fingerprint=row.fingerprint,
        execution=execution_node(row, exe),
        outputs=[artifact_node(artifacts[a], marks) for a in order],
    )


def reuse_report(session: Session) -> ReuseReport:
    """Per executable: how many successful executions repeated earlier work (``repeats``),
    how many of those wrote outputs equal to the earlier ones' (``reusable``: their work
    could have been skipped), and how many did reuse outputs (``reused``)."""
    totals_by_exe = store.execution_counts_by_executable(session)
    groups: dict[tuple[Id, str], dict[str | None, int]] = defaultdict(dict)
    for exe_id, fingerprint, signature, count in store.reuse_groups(session):
        groups[(exe_id, fingerprint)][signature] = count
    stats: dict[Id, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(("successful", "distinct_work", "repeats", "reusable"), 0)
    )
    for (exe_id, _), by_signature in groups.items():
        s = stats[exe_id]
        n = sum(by_signature.values())
        s["successful"] += n
        s["distinct_work"] += 1
        s["repeats"] += n - 1
        s["reusable"] += sum(c - 1 for c in by_signature.values())
    reused = store.reused_counts_by_executable(session)
    executables = {e.id: e for e in store.executables_by_ids(session, list(totals_by_exe))}
    items = []
    for exe_id, total in totals_by_exe.items():
        s = stats.get(
            exe_id, dict.fromkeys(("successful", "distinct_work", "repeats", "reusable"), 0)
        )
        items.append(
            ReuseRow(
                executable=executable_ref(executables[exe_id]),
                executions=total,
                reused=reused.get(exe_id, 0),
                **s,
            )
        )
    items.sort(key=lambda r: (-r.reusable, -r.repeats, r.executable.name))
    totals = {
        k: sum(getattr(r, k) for r in items)
        for k in ("executions", "successful", "distinct_work", "repeats", "reusable", "reused")
    }
    return ReuseReport(items=items, totals=totals)
