"""What the notification rules look for in the store, and what each says when it fires.

The queries find a run's failure streak since the experiment's last deployment and what a
deployment was made from; the messages are Slack's ``{"text": ...}`` with the details under
``modeltrail`` for generic receivers. The plugin (``notifications``) decides when a rule is
evaluated and records and delivers what it says.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modeltrail.domain.limits import MAX_LINEAGE_DEPTH
from modeltrail.domain.registry import DEPLOY_ALIASES
from modeltrail.store import lineage
from modeltrail.store.registry import alias_moves_onto_outputs
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutionOutputRow,
    ExecutionRow,
    FlagRow,
    ModelAliasEventRow,
    ModelVersionRow,
    RegisteredModelRow,
    RunRow,
)

# ---------------------------------------------------------------- queries


def last_deployment_time(
    session: Session, experiment: uuid.UUID, kinds: list[str]
) -> datetime | None:
    """When the experiment last deployed: the start of its latest successful run that wrote
    a deployment, or the latest move of ``production`` to a model version one of its runs
    made, whichever is later."""
    moved = session.scalar(
        alias_moves_onto_outputs(func.max(ModelAliasEventRow.time), aliases=DEPLOY_ALIASES)
        .join(RunRow, RunRow.id == ExecutionRow.run_id)
        .where(RunRow.experiment_id == experiment)
    )
    stepped = session.scalar(
        select(func.max(RunRow.create_time))
        .join(ExecutionRow, ExecutionRow.run_id == RunRow.id)
        .join(ExecutionOutputRow, ExecutionOutputRow.execution_id == ExecutionRow.id)
        .join(ArtifactRow, ArtifactRow.id == ExecutionOutputRow.artifact_id)
        .where(
            RunRow.experiment_id == experiment,
            RunRow.status == "SUCCESS",
            ArtifactRow.kind.in_(kinds),
        )
    )
    return max((t for t in (moved, stepped) if t is not None), default=None)


def failure_streak(
    session: Session, run: RunRow, kinds: list[str]
) -> tuple[list[RunRow], datetime | None]:
    """The failed runs in a row that end with ``run``, since the last successful deployment."""
    since = last_deployment_time(session, run.experiment_id, kinds)
    query = select(RunRow).where(
        RunRow.experiment_id == run.experiment_id, RunRow.create_time <= run.create_time
    )
    if since is not None:
        query = query.where(RunRow.create_time > since)
    streak: list[RunRow] = []
    for row in session.scalars(query.order_by(RunRow.create_time.desc(), RunRow.id.desc())):
        if row.status != "FAILED":
            break
        streak.append(row)
    return streak, since


def upstream_artifacts(session: Session, start: uuid.UUID) -> set[uuid.UUID]:
    """Every artifact ``start`` was made from: what its producers read, what it refers to
    (a deployment -> its model), recursively: the lineage walk, without merging equal copies."""
    walk = lineage.walk_artifacts(
        session, seeds=[(start.hex, 0)], direction="upstream", depth=MAX_LINEAGE_DEPTH, merge=False
    )
    return {uuid.UUID(hex=k) for k in walk.depths} - {start}


# ---------------------------------------------------------------- messages


def run_ended_message(run: RunRow, public_url: str) -> dict[str, Any]:
    link = f" {public_url}/api/v1/runs/{run.id}" if public_url else ""
    return {
        "text": f"run {run.name} ended: {run.status}{link}",
        "modeltrail": {
            "rule": "run-ended",
            "run": str(run.id),
            "name": run.name,
            "status": run.status,
            "experiment": str(run.experiment_id),
            "endTime": run.end_time.isoformat() if run.end_time else None,
        },
    }


def failures_message(
    run: RunRow, streak: list[RunRow], since: datetime | None, threshold: int
) -> dict[str, Any]:
    return {
        "text": f"{len(streak)} runs in a row failed since the last successful deployment"
        + (f" ({since.isoformat()})" if since else " (none yet)")
        + f"; latest: {run.name}",
        "modeltrail": {
            "rule": "failures-in-a-row",
            "experiment": str(run.experiment_id),
            "failedRuns": [str(r.id) for r in reversed(streak)],
            "since": since.isoformat() if since else None,
            "threshold": threshold,
        },
    }


def version_registered_message(
    model: RegisteredModelRow, version: ModelVersionRow
) -> dict[str, Any]:
    return {
        "text": f"{model.name} version {version.version} registered",
        "modeltrail": {
            "rule": "model-registered",
            "model": model.name,
            "version": version.version,
            "uri": f"models:/{model.name}/{version.version}",
            "artifact": str(version.artifact_id),
        },
    }


def alias_changed_message(
    event: ModelAliasEventRow, model: RegisteredModelRow, artifact: uuid.UUID | None
) -> dict[str, Any]:
    change = {
        "set": f"set to version {event.to_version}",
        "move": f"moved from version {event.from_version} to {event.to_version}",
        "remove": f"removed from version {event.from_version}",
    }.get(event.action, event.action)
    by = f" by {event.actor_name}" if event.actor_name else ""
    why = f": {event.reason}" if event.reason else ""
    return {
        "text": f"{event.alias} of {model.name} {change}{by}{why}",
        "modeltrail": {
            "rule": "alias-changed",
            "model": model.name,
            "alias": event.alias,
            "action": event.action,
            "fromVersion": event.from_version,
            "toVersion": event.to_version,
            "uri": f"models:/{model.name}@{event.alias}",
            "artifact": str(artifact) if artifact else None,
            "actor": event.actor_name,
            "reason": event.reason,
            "time": event.time.isoformat(),
        },
    }


def flagged_deployment_message(
    deployment: ArtifactRow, flag: FlagRow, flagged_name: str
) -> dict[str, Any]:
    return {
        "text": f"deployment {deployment.name} serves a model made from flagged "
        f"{flagged_name}: {flag.reason}",
        "modeltrail": {
            "rule": "flagged-data-deployed",
            "deployment": str(deployment.id),
            "flagged": str(flag.artifact_id),
            "reason": flag.reason,
        },
    }
