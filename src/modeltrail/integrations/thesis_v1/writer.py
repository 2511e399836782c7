"""Writing the thesis's documents: stored entities rendered as Appendix A has them, related
entities loaded in bulk."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain import kinds as rules
from modeltrail.integrations.thesis_v1.reader import path_id
from modeltrail.integrations.thesis_v1.shapes import MODEL_KIND, Doc, model_to_thesis
from modeltrail.services.common import get_or_404
from modeltrail.services.entities import edges as execution_edges
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutableRow,
    ExecutionRow,
    ExperimentRow,
    KindRow,
    PipelineExecutableRow,
    PipelineRow,
    RunRow,
)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class Writer:
    """Renders stored entities as the thesis's documents, loading related rows in bulk."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._artifacts: dict[uuid.UUID, ArtifactRow] = {}
        self._kinds: dict[tuple[str, int], list[str]] = {}

    def _load_artifacts(self, ids: Iterable[uuid.UUID]) -> None:
        wanted = [i for i in set(ids) if i not in self._artifacts]
        if wanted:
            for row in self.session.scalars(select(ArtifactRow).where(ArtifactRow.id.in_(wanted))):
                self._artifacts[row.id] = row

    def _reference_properties(self, row: ArtifactRow) -> list[str]:
        key = (row.kind, row.kind_version)
        if key not in self._kinds:
            kind = self.session.get(KindRow, key)
            self._kinds[key] = rules.reference_properties(kind.schema_ if kind else {})
        return self._kinds[key]

    def artifact(self, row: ArtifactRow, *, expand_references: bool = True) -> Doc:
        doc: Doc = {
            "id": str(row.id),
            "name": row.name,
            "version": row.version,
            "kind": row.kind,
            "description": row.description,
            "createTime": _time(row.create_time),
            "uri": row.uri,
            "annotations": row.annotations,
        }
        attributes = dict(row.attributes)
        if expand_references:
            refs = [p for p in self._reference_properties(row) if attributes.get(p) is not None]
            self._load_artifacts(uuid.UUID(str(attributes[p])) for p in refs)
            for prop in refs:
                target = self._artifacts.get(uuid.UUID(str(attributes[prop])))
                if target is not None:
                    # One level deep: the referenced artifact's own references stay ids.
                    attributes[prop] = self.artifact(target, expand_references=False)
        if row.kind == MODEL_KIND:
            attributes = model_to_thesis(attributes)
        for key, value in attributes.items():
            doc.setdefault(key, value)  # a base field is never shadowed by an attribute
        return doc

    def artifacts(self, ids: list[uuid.UUID]) -> list[Doc]:
        self._load_artifacts(ids)
        return [self.artifact(self._artifacts[i]) for i in ids if i in self._artifacts]

    def executables(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Doc]:
        rows = self.session.scalars(select(ExecutableRow).where(ExecutableRow.id.in_(set(ids))))
        return {
            r.id: {
                "id": str(r.id),
                "name": r.name,
                "version": r.version,
                "description": r.description,
                "createTime": _time(r.create_time),
                "uri": r.uri,
                "annotations": r.annotations,
            }
            for r in rows
        }

    def executions(self, rows: list[ExecutionRow]) -> list[Doc]:
        edges = execution_edges.edges_of(self.session, [r.id for r in rows])
        self._load_artifacts(
            a for e in ("inputs", "outputs") for ids in edges[e].values() for a in ids
        )
        exes = self.executables(r.executable_id for r in rows)
        successor_ids = {s for ids in edges["successors"].values() for s in ids}
        stubs = {
            r.id: {
                "id": str(r.id),
                "name": r.name,
                "version": r.version,
                "kind": r.kind,
                "status": r.status,
            }
            for r in self.session.scalars(
                select(ExecutionRow).where(ExecutionRow.id.in_(successor_ids))
            )
        }
        return [
            {
                "id": str(r.id),
                "name": r.name,
                "version": r.version,
                "kind": r.kind,
                "executable": exes.get(r.executable_id),
                "startTime": _time(r.start_time),
                "endTime": _time(r.end_time),
                "status": r.status,
                "uri": r.uri,
                "inputArtifacts": self.artifacts(edges["inputs"].get(r.id, [])),
                "outputArtifacts": self.artifacts(edges["outputs"].get(r.id, [])),
                "configuration": r.configuration,
                # Successors are named, not nested: each is a document of its own.
                "successors": [stubs[s] for s in edges["successors"].get(r.id, []) if s in stubs],
                "annotations": r.annotations,
            }
            for r in rows
        ]

    def pipeline(self, pipeline_id: uuid.UUID) -> Doc | None:
        row = self.session.get(PipelineRow, pipeline_id)
        if row is None:
            return None
        ids = list(
            self.session.scalars(
                select(PipelineExecutableRow.executable_id)
                .where(PipelineExecutableRow.pipeline_id == pipeline_id)
                .order_by(PipelineExecutableRow.position)
            )
        )
        exes = self.executables(ids)
        return {
            "id": str(row.id),
            "name": row.name,
            "version": row.version,
            "createTime": _time(row.create_time),
            "uri": row.uri,
            "executables": [exes[i] for i in ids],
            "annotations": row.annotations,
        }

    def runs(self, rows: list[RunRow], *, with_executions: bool = True) -> list[Doc]:
        self._load_artifacts(r.event_id for r in rows if r.event_id is not None)
        docs = []
        for r in rows:
            doc: Doc = {
                "id": str(r.id),
                "name": r.name,
                "version": r.version,
                "createTime": _time(r.create_time),
                "status": r.status,
                "uri": r.uri,
                "configuration": r.configuration,
                "annotations": r.annotations,
                "event": self.artifact(self._artifacts[r.event_id])
                if r.event_id is not None
                else None,
                "pipeline": self.pipeline(r.pipeline_id) if r.pipeline_id is not None else None,
            }
            if with_executions:
                doc["executions"] = self.executions(run_executions(self.session, r.id))
            docs.append(doc)
        return docs

    def experiments(self, rows: list[ExperimentRow]) -> list[Doc]:
        runs: dict[uuid.UUID, list[RunRow]] = defaultdict(list)
        for run in self.session.scalars(
            select(RunRow)
            .where(RunRow.experiment_id.in_([r.id for r in rows]))
            .order_by(RunRow.create_time, RunRow.id)
        ):
            runs[run.experiment_id].append(run)
        return [
            {
                "id": str(r.id),
                "name": r.name,
                "version": r.version,
                "createTime": _time(r.create_time),
                "annotations": r.annotations,
                # Runs are listed without their executions: GET .../runs/{id} has those.
                "runs": self.runs(runs[r.id], with_executions=False),
            }
            for r in rows
        ]


def run_executions(session: Session, run_id: uuid.UUID) -> list[ExecutionRow]:
    rows = session.scalars(select(ExecutionRow).where(ExecutionRow.run_id == run_id))
    return sorted(rows, key=lambda r: (r.start_time or r.create_time, r.create_time, str(r.id)))


def experiment_runs(session: Session, experiment_id: uuid.UUID) -> list[RunRow]:
    return list(
        session.scalars(
            select(RunRow)
            .where(RunRow.experiment_id == experiment_id)
            .order_by(RunRow.create_time, RunRow.id)
        )
    )


def get_row(session: Session, row_type: Any, value: str, what: str) -> Any:
    return get_or_404(session, row_type, path_id(value, what), what)
