"""OpenLineage in: a job's namespace becomes an experiment, a job an executable, and the
root job (the DAG, or the job itself) a pipeline listing the executables of its tasks."""

from __future__ import annotations

import uuid
from typing import Any

from modeltrail.domain import limits
from modeltrail.domain import models as m
from modeltrail.domain.documents import as_text, fitted
from modeltrail.integrations.openlineage.merging import (
    clean_facets,
    derived_id,
    entity_name,
    fitted_uri,
    job_annotation,
    merge,
)
from modeltrail.services.metadata import Transaction


def ensure_experiment(tx: Transaction, namespace: str) -> uuid.UUID:
    eid = derived_id("experiment", namespace)
    if tx.read("experiment", eid) is None:
        tx.create(
            "experiment",
            m.ExperimentCreate(
                id=eid,
                name=entity_name(namespace),
                annotations={"openlineage.namespace": namespace},
            ),
        )
    return eid


def ensure_executable(
    tx: Transaction, namespace: str, name: str, facets: dict[str, Any]
) -> uuid.UUID:
    xid = derived_id("executable", namespace, name)
    facets = clean_facets(facets)
    annotations = {"openlineage.namespace": namespace, "openlineage.job": name}
    for facet, value in sorted(facets.items()):
        if facet == "documentation":
            continue
        if facet == "sql" and isinstance(value, dict) and "query" in value:
            annotations["openlineage.sql"] = as_text(value["query"])
        else:
            annotations[fitted(f"openlineage.{facet}", limits.MAX_NAME)] = as_text(value)
    description = (facets.get("documentation") or {}).get("description")
    current = tx.read("executable", xid)
    if current is None:
        tx.create(
            "executable",
            m.ExecutableCreate(
                id=xid,
                name=entity_name(name),
                uri=fitted_uri(f"openlineage://{namespace}/{name}"),
                description=as_text(description) if description else None,
                annotations=annotations,
            ),
        )
        return xid
    merged = merge(current.annotations, annotations)
    new_description = (
        merge(current.description, description) if description else current.description
    )
    if merged != current.annotations or new_description != current.description:
        tx.update(
            "executable", xid, m.ExecutableUpdate(annotations=merged, description=new_description)
        )
    return xid


def ensure_pipeline(
    tx: Transaction, namespace: str, name: str, executable: uuid.UUID | None
) -> uuid.UUID:
    pid = derived_id("pipeline", namespace, name)
    current = tx.read("pipeline", pid)
    if current is None:
        tx.create(
            "pipeline",
            m.PipelineCreate(
                id=pid,
                name=entity_name(name),
                uri=fitted_uri(f"openlineage://{namespace}/{name}"),
                executables=[executable] if executable else [],
                annotations={"openlineage.namespace": namespace, **job_annotation(name)},
            ),
        )
        return pid
    if executable is not None and executable not in current.executables:
        # Sorted so that the list does not depend on which task reported first.
        executables = sorted({*current.executables, executable}, key=str)
        tx.update("pipeline", pid, m.PipelineUpdate(executables=executables))
    return pid
