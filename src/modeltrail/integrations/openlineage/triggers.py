"""OpenLineage in: what started a run (a schedule's ``nominalTime``, Airflow's run facets,
modeltrail's own ``modeltrail_trigger``) becomes the run's trigger, an ``event`` artifact."""

from __future__ import annotations

import uuid
from typing import Any

from modeltrail.domain import models as m
from modeltrail.integrations.openlineage.merging import (
    as_object,
    derived_id,
    entity_name,
    merge,
)
from modeltrail.services.metadata import Transaction

AIRFLOW_RUN_TYPES = {
    "manual": "manual",
    "scheduled": "schedule",
    "backfill": "backfill",
    "dataset_triggered": "data change",
    "asset_triggered": "data change",
}


def trigger_details(facets: dict[str, Any]) -> dict[str, Any] | None:
    """What started the run, from ``nominalTime`` (a schedule), Airflow's run facets and
    modeltrail's own ``modeltrail_trigger``."""
    details: dict[str, Any] = {}
    nominal = facets.get("nominalTime")
    if isinstance(nominal, dict) and nominal.get("nominalStartTime"):
        details.update(cause="schedule", nominalStartTime=nominal["nominalStartTime"])
        if nominal.get("nominalEndTime"):
            details["nominalEndTime"] = nominal["nominalEndTime"]
    airflow = as_object(facets.get("airflow"))
    dag_run = as_object(airflow.get("dagRun"))
    run_args = as_object(facets.get("airflow_runArgs"))
    run_type = dag_run.get("run_type")
    if run_type in AIRFLOW_RUN_TYPES:
        details.update(cause=AIRFLOW_RUN_TYPES[run_type], airflowRunType=run_type)
    elif dag_run.get("external_trigger") is True or run_args.get("externalTrigger") is True:
        details.update(cause="manual", externalTrigger=True)
    # What another modeltrail server sent (its openlineage plugin): the trigger as it knew it.
    own = as_object(facets.get("modeltrail_trigger"))
    if own:
        details.update(as_object(own.get("attributes")))
        cause = own.get("cause")
        if not isinstance(cause, str) or not cause:
            cause = details.get("cause") if isinstance(details.get("cause"), str) else None
        details["cause"] = cause or (own["kind"] if isinstance(own.get("kind"), str) else "trigger")
    return details or None


def ensure_trigger(tx: Transaction, root_run: str, details: dict[str, Any]) -> uuid.UUID:
    tid = derived_id("trigger", root_run)
    current = tx.read("artifact", tid)
    if current is None:
        tx.create(
            "artifact",
            m.ArtifactCreate(
                id=tid,
                name=entity_name(f"{details['cause']}: run {root_run}"),
                kind="event",
                attributes=details,
                annotations={"openlineage.runId": root_run},
            ),
        )
        return tid
    merged = merge(current.attributes, details)
    if merged != current.attributes:
        tx.update(
            "artifact",
            tid,
            m.ArtifactUpdate(
                attributes=merged, name=entity_name(f"{merged['cause']}: run {root_run}")
            ),
        )
    return tid
