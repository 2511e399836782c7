"""Why did it run, and how did it end? (FR7, thesis Scenario 4.3)"""

from __future__ import annotations

import uuid
from collections import Counter

from sqlalchemy.orm import Session

from modeltrail.domain.lineage import History, RunHistory
from modeltrail.domain.models import Actor
from modeltrail.domain.registry import DEPLOY_ALIASES, Deployment
from modeltrail.services.common import get_or_404
from modeltrail.services.graph.nodes import DEPLOY_KINDS, execution_node, experiment_node, trigger
from modeltrail.store import lineage as store
from modeltrail.store import registry
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
    moves = _deployments(session, [r.id for r in runs])
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
                deployed=deployed or run.id in moves,
                deployments=moves.get(run.id, []),
            )
        )
    # The last deployment: a run's deploy step, or a move of production to a version a run
    # made, whichever is later; the runs since are those started after it.
    last = max((i for i, r in enumerate(items) if r.deployed and not r.deployments), default=None)
    moved = max((d for ds in moves.values() for d in ds), key=lambda d: d.time, default=None)
    if moved is not None and (last is None or moved.time > items[last].create_time):
        since = [r for i, r in enumerate(items) if i > (last if last is not None else -1)]
        since = [r for r in since if r.create_time > moved.time]
        last = next(i for i, r in enumerate(items) if moved in r.deployments)
    else:
        moved = None
        since = items[last + 1 :] if last is not None else items
    shown = since if since_last_deploy else items
    return History(
        subject=experiment_node(subject),
        runs=shown,
        last_deploy=items[last] if last is not None else None,
        last_deployment=moved,
        runs_since_last_deploy=len(since),
        since_last_deploy=since_last_deploy,
        counts_by_cause=dict(
            Counter((r.trigger.cause or "unknown") if r.trigger else "none" for r in shown)
        ),
        counts_by_status=dict(Counter(r.status for r in shown)),
    )


def _deployments(session: Session, run_ids: list[Id]) -> dict[Id, list[Deployment]]:
    """The moves of a deploying alias (``production``) to versions each run made."""
    out: dict[Id, list[Deployment]] = {}
    wanted = [uuid.UUID(hex=r) if isinstance(r, str) else r for r in run_ids]
    for run_id, model, e in registry.deployments_of_runs(session, wanted, DEPLOY_ALIASES):
        out.setdefault(run_id.hex, []).append(
            Deployment(
                model=model,
                alias=e.alias,
                version=e.to_version or 0,
                time=e.time,
                run=run_id,
                actor=Actor(name=e.actor_name, id=e.actor_id) if e.actor_name else None,
                reason=e.reason,
            )
        )
    return out


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
