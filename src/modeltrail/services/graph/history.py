"""Why did it run, and how did it end? (FR7, thesis Scenario 4.3)"""

from __future__ import annotations

import uuid
from collections import Counter

from sqlalchemy.orm import Session

from modeltrail.domain.lineage import History, RunHistory
from modeltrail.services.common import get_or_404
from modeltrail.services.graph.nodes import DEPLOY_KINDS, execution_node, experiment_node, trigger
from modeltrail.store import lineage as store
from modeltrail.store.records import Executable, ExecutionRecord, Id, RunRecord
from modeltrail.store.tables import ExperimentRow, PipelineRow


def _history(
    session: Session,
    subject: ExperimentRow | PipelineRow,
    runs: list[RunRecord],
    since_last_deploy: bool,
) -> History:
    executions = store.executions_of_runs(session, [r.id for r in runs])
    events = {
        a.id: a for a in store.artifacts_by_ids(session, [r.event_id for r in runs if r.event_id])
    }
    by_run: dict[Id, list[tuple[ExecutionRecord, Executable]]] = {r.id: [] for r in runs}
    for row, exe in executions:
        by_run[row.run_id].append((row, exe))
    items = []
    for run in runs:
        steps = by_run[run.id]
        failed = next(((row, exe) for row, exe in steps if row.status == "FAILED"), None)
        deployed = any(
            row.kind.lower() in DEPLOY_KINDS and row.status == "SUCCESS" for row, _ in steps
        )
        items.append(
            RunHistory(
                id=run.id,
                name=run.name,
                status=run.status,
                create_time=run.create_time,
                end_time=run.end_time,
                trigger=trigger(events.get(run.event_id) if run.event_id else None),
                executions=len(steps),
                first_failed=execution_node(*failed) if failed else None,
                deployed=deployed,
            )
        )
    last = max((i for i, r in enumerate(items) if r.deployed), default=None)
    since = items[last + 1 :] if last is not None else items
    shown = since if since_last_deploy else items
    return History(
        subject=experiment_node(subject),
        runs=shown,
        last_deploy=items[last] if last is not None else None,
        runs_since_last_deploy=len(since),
        since_last_deploy=since_last_deploy,
        counts_by_cause=dict(
            Counter((r.trigger.cause or "unknown") if r.trigger else "none" for r in shown)
        ),
        counts_by_status=dict(Counter(r.status for r in shown)),
    )


def experiment_history(
    session: Session, experiment_id: uuid.UUID, *, since_last_deploy: bool = False
) -> History:
    """Each run in time order with its trigger, status and first failed execution; the last
    run that deployed successfully and the runs since; counts by trigger cause."""
    experiment = get_or_404(session, ExperimentRow, experiment_id, "experiment")
    return _history(
        session, experiment, store.runs_of_experiment(session, experiment_id), since_last_deploy
    )


def pipeline_history(
    session: Session, pipeline_id: uuid.UUID, *, since_last_deploy: bool = False
) -> History:
    pipeline = get_or_404(session, PipelineRow, pipeline_id, "pipeline")
    return _history(
        session, pipeline, store.runs_of_pipeline(session, pipeline_id), since_last_deploy
    )
