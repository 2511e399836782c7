"""A store's lineage as a W3C PROV-JSON document."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.store.portability.export import experiment_scope, where_in_scope
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutableRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ExecutionSuccessorRow,
    RunRow,
)

# ---------------------------------------------------------------- W3C PROV-JSON


def _t(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def prov_document(session: Session, *, experiment: uuid.UUID | None = None) -> dict[str, Any]:
    """Lineage as W3C PROV-JSON: artifacts are entities, executions and runs activities,
    executables agents; inputs ``used``, outputs ``wasGeneratedBy``, successors
    ``wasInformedBy``, a run's trigger ``wasStartedBy`` (each execution is started by its run).
    """
    scope = experiment_scope(session, experiment) if experiment else None

    def rows(model: Any) -> Iterator[Any]:
        query = select(model)
        where = where_in_scope(scope, model.__table__)
        if where is not None and where is not True and where is not False:
            query = query.where(where)
        yield from session.scalars(query)

    doc: dict[str, Any] = {
        "prefix": {
            "mt": "https://modeltrail.dev/ns#",
            "artifact": "urn:modeltrail:artifact:",
            "execution": "urn:modeltrail:execution:",
            "run": "urn:modeltrail:run:",
            "executable": "urn:modeltrail:executable:",
        },
        "entity": {},
        "activity": {},
        "agent": {},
        "used": {},
        "wasGeneratedBy": {},
        "wasInformedBy": {},
        "wasStartedBy": {},
        "wasAssociatedWith": {},
    }
    for a in rows(ArtifactRow):
        doc["entity"][f"artifact:{a.id}"] = _clean(
            {
                "prov:label": a.name,
                "prov:type": f"mt:{a.kind}",
                "mt:version": a.version,
                "mt:kindVersion": a.kind_version,
                "prov:location": a.uri,
                "mt:createTime": _t(a.create_time),
                "mt:fingerprint": a.fingerprint,
                "mt:attributes": orjson.dumps(a.attributes).decode(),
            }
        )
    for x in rows(ExecutableRow):
        doc["agent"][f"executable:{x.id}"] = _clean(
            {
                "prov:type": "prov:SoftwareAgent",
                "prov:label": x.name,
                "mt:version": x.version,
                "prov:location": x.uri,
            }
        )
    for r in rows(RunRow):
        doc["activity"][f"run:{r.id}"] = _clean(
            {
                "prov:type": "mt:run",
                "prov:label": r.name,
                "prov:startTime": _t(r.create_time),
                "prov:endTime": _t(r.end_time),
                "mt:status": r.status,
            }
        )
        if r.event_id:
            doc["wasStartedBy"][f"_:start-run-{r.id}"] = {
                "prov:activity": f"run:{r.id}",
                "prov:trigger": f"artifact:{r.event_id}",
            }
    for e in rows(ExecutionRow):
        eid = f"execution:{e.id}"
        doc["activity"][eid] = _clean(
            {
                "prov:type": f"mt:{e.kind}",
                "prov:label": e.name,
                "prov:startTime": _t(e.start_time or e.create_time),
                "prov:endTime": _t(e.end_time),
                "mt:status": e.status,
                "mt:fingerprint": e.fingerprint,
            }
        )
        doc["wasStartedBy"][f"_:start-{e.id}"] = {
            "prov:activity": eid,
            "prov:starter": f"run:{e.run_id}",
        }
        doc["wasAssociatedWith"][f"_:assoc-{e.id}"] = {
            "prov:activity": eid,
            "prov:agent": f"executable:{e.executable_id}",
        }
    for i in rows(ExecutionInputRow):
        doc["used"][f"_:used-{i.execution_id}-{i.artifact_id}"] = {
            "prov:activity": f"execution:{i.execution_id}",
            "prov:entity": f"artifact:{i.artifact_id}",
        }
    for o in rows(ExecutionOutputRow):
        doc["wasGeneratedBy"][f"_:gen-{o.execution_id}-{o.artifact_id}"] = {
            "prov:entity": f"artifact:{o.artifact_id}",
            "prov:activity": f"execution:{o.execution_id}",
        }
    for s in rows(ExecutionSuccessorRow):
        doc["wasInformedBy"][f"_:inf-{s.execution_id}-{s.successor_id}"] = {
            "prov:informed": f"execution:{s.successor_id}",
            "prov:informant": f"execution:{s.execution_id}",
        }
    return {k: v for k, v in doc.items() if v}


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
