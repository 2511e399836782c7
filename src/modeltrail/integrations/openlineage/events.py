"""OpenLineage out: modeltrail's runs and steps as OpenLineage run events.

The mapping is the receiver's (``translator``) read backwards, so that events sent to another
modeltrail server's ``POST /api/v1/lineage`` come back as the same lineage:

- a run is an OpenLineage run (its ``runId`` the run's id) of the job named after its
  pipeline (else its experiment), in the namespace named after its experiment;
- a step (an execution) is an OpenLineage run of the job named after its executable, with a
  ``parent`` facet naming the run and its job (the root, too: modeltrail's runs are the root);
- a step's input and output artifacts are its input and output datasets; the run's own events
  carry none, so that a receiver does not see the run's steps' reads and writes twice;
- RUNNING is START, SUCCESS is COMPLETE, FAILED is FAIL, or ABORT for a run that MLflow's
  client killed or that arrived as an OpenLineage ABORT.

What arrived as OpenLineage keeps its names and ids (the ``openlineage.*`` annotations and
the dataset attributes the receiver stored), so that a server forwards such lineage unchanged.
Facets: ``jobType``, ``sourceCodeLocation`` and ``sourceCode`` (the executable's git
repository, commit and path, or its uri; its source when an annotation holds it),
``documentation``, ``parent``, ``errorMessage``, ``nominalTime`` (a schedule's), and
modeltrail's own ``modeltrail_trigger``, ``modeltrail_metrics``, ``modeltrail_artifact`` (every
dataset's kind) and ``modeltrail_model``. A run's own events have no ``parent`` facet and
``jobType`` integration ``MODELTRAIL``: a receiving modeltrail server files them as the run
alone, not as one more step of it.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from openlineage.client.event_v2 import (
    DatasetEvent,
    InputDataset,
    Job,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
    StaticDataset,
)
from openlineage.client.facet_v2 import (
    RunFacet,
    dataset_version_dataset,
    error_message_run,
    nominal_time_run,
    parent_run,
)
from openlineage.client.generated.base import DatasetFacet
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from modeltrail.domain import models as m
from modeltrail.integrations.openlineage import facets as mt
from modeltrail.integrations.openlineage.outgoing_jobs import run_job, step_job
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutionOutputRow,
    ExecutionRow,
    MetricSeriesRow,
    MlflowStateRow,
    ModelAliasRow,
    ModelVersionRow,
    RegisteredModelRow,
    RunMetricRow,
)

TERMINAL = {m.Status.SUCCESS: RunState.COMPLETE, m.Status.FAILED: RunState.FAIL}
# The attributes a dataset that arrived as OpenLineage keeps besides its facets.
DATASET_NAMING = {"type", "namespace", "name"}


@dataclass
class Settings:
    """What the events say beyond the store: which kinds are models and metrics, and the
    namespace of artifacts that have no URI."""

    model_kinds: frozenset[str] = frozenset({"model"})
    metrics_kinds: frozenset[str] = frozenset({"metrics"})
    dataset_namespace: str = "modeltrail"
    producer: str = mt.PRODUCER


def terminal_state(status: str, aborted: bool) -> RunState | None:
    state = TERMINAL.get(m.Status(status))
    if state is RunState.FAIL and aborted:
        return RunState.ABORT
    return state


def _iso(at: datetime | None) -> str:
    at = at or datetime.now(UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.isoformat()


def _run_id(entity_id: uuid.UUID, annotations: dict[str, str]) -> str:
    """The OpenLineage run id: the one an event that arrived gave, else modeltrail's id."""
    given = annotations.get("openlineage.runId")
    if given:
        try:
            return str(uuid.UUID(given))
        except ValueError:
            pass
    return str(entity_id)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


class EventBuilder:
    """Reads what an event needs from the store. One per worker; not thread-safe."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # ------------------------------------------------------------ datasets

    def dataset_name(self, artifact: ArtifactRow) -> tuple[str, str]:
        """The OpenLineage namespace and name of an artifact: as it arrived, else from its
        URI (``s3://bucket/key`` is ``s3://bucket`` and ``key``), else modeltrail's own."""
        attrs = artifact.attributes
        if (
            "openlineage.namespace" in artifact.annotations
            and isinstance(attrs.get("namespace"), str)
            and isinstance(attrs.get("name"), str)
        ):
            return attrs["namespace"], attrs["name"]
        uri = artifact.uri
        if uri:
            try:
                parts = urlsplit(uri)
            except ValueError:
                parts = None
            if parts is not None and parts.scheme and len(parts.scheme) > 1:
                rest = uri.split(":", 1)[1]
                if parts.netloc:
                    namespace = f"{parts.scheme}://{parts.netloc}"
                    name = rest[2 + len(parts.netloc) :].lstrip("/") or "/"
                else:  # file:///path has an empty authority
                    namespace, name = parts.scheme, rest.removeprefix("//")
                return namespace, name
        return f"{self.settings.dataset_namespace}://{artifact.kind}", artifact.name

    def _dataset_facets(self, session: Session, artifact: ArtifactRow) -> dict[str, DatasetFacet]:
        """The facets of an artifact; a model's lists the versions it is registered as, an
        empty list included: a receiver keeps the list of the latest event whole, so a step's
        event sent after its model's last version went must say so to clear it."""
        p = self.settings.producer
        out: dict[str, DatasetFacet] = {}
        arrived = "openlineage.namespace" in artifact.annotations
        version = artifact.attributes.get("version") if arrived else None
        if not arrived:
            out["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=artifact.version, producer=p
            )
        elif isinstance(version, dict) and isinstance(version.get("datasetVersion"), str):
            out["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=version["datasetVersion"], producer=p
            )
        out["modeltrail_artifact"] = mt.ModeltrailArtifactDatasetFacet(
            id=str(artifact.id),
            name=artifact.name,
            version=artifact.version,
            kind=artifact.kind,
            producer=p,
        )
        if artifact.kind in self.settings.model_kinds:
            out["modeltrail_model"] = self._model_facet(session, artifact)
        return out

    def _model_facet(
        self, session: Session, artifact: ArtifactRow
    ) -> mt.ModeltrailModelDatasetFacet:
        attrs = artifact.attributes
        registered = []
        for model, version in session.execute(
            select(RegisteredModelRow.name, ModelVersionRow.version)
            .join(RegisteredModelRow, RegisteredModelRow.id == ModelVersionRow.model_id)
            .where(ModelVersionRow.artifact_id == artifact.id)
            .order_by(RegisteredModelRow.name, ModelVersionRow.version)
        ):
            aliases = session.scalars(
                select(ModelAliasRow.alias)
                .join(RegisteredModelRow, RegisteredModelRow.id == ModelAliasRow.model_id)
                .where(RegisteredModelRow.name == model, ModelAliasRow.version == version)
                .order_by(ModelAliasRow.alias)
            ).all()
            registered.append({"model": model, "version": version, "aliases": list(aliases)})
        framework = attrs.get("framework")
        hyper = attrs.get("hyperParameters")
        return mt.ModeltrailModelDatasetFacet(
            id=str(artifact.id),
            name=artifact.name,
            version=artifact.version,
            kind=artifact.kind,
            type=attrs["type"] if isinstance(attrs.get("type"), str) else None,
            framework=framework if isinstance(framework, dict) else None,
            hyperParameters=hyper if isinstance(hyper, dict) else None,
            registeredVersions=registered,
            producer=self.settings.producer,
        )

    def _artifacts(self, session: Session, ids: Iterable[uuid.UUID]) -> list[ArtifactRow]:
        ids = list(ids)
        if not ids:
            return []
        rows = {
            r.id: r for r in session.scalars(select(ArtifactRow).where(ArtifactRow.id.in_(ids)))
        }
        return [rows[i] for i in ids if i in rows]

    def dataset_event(self, session: Session, artifact_id: uuid.UUID) -> DatasetEvent | None:
        """The artifact as an OpenLineage ``DatasetEvent``: its name and facets as a step's
        events give them, ``modeltrail_model`` with the versions it is registered as and
        their aliases as they are now, which is the event's time (None for an artifact
        gone since)."""
        found = self._artifacts(session, [artifact_id])
        if not found:
            return None
        namespace, name = self.dataset_name(found[0])
        facets = self._dataset_facets(session, found[0])
        return DatasetEvent(
            eventTime=_iso(None),
            dataset=StaticDataset(namespace=namespace, name=name, facets=facets),
            producer=self.settings.producer,
        )

    def _metrics_facet(
        self, session: Session, series: list[dict[str, Any]], artifacts: list[ArtifactRow]
    ) -> mt.ModeltrailMetricsRunFacet | None:
        written = [
            {
                "id": str(a.id),
                "name": a.name,
                "kind": a.kind,
                **{k: a.attributes[k] for k in ("value", "schema") if k in a.attributes},
                **(
                    {"measures": a.attributes["reference"]}
                    if isinstance(a.attributes.get("reference"), str)
                    else {}
                ),
            }
            for a in artifacts
            if a.kind in self.settings.metrics_kinds
        ]
        if not series and not written:
            return None
        return mt.ModeltrailMetricsRunFacet(
            series=series, artifacts=written, producer=self.settings.producer
        )

    # ------------------------------------------------------------ events

    def _error(self, annotations: dict[str, str]) -> error_message_run.ErrorMessageRunFacet | None:
        message = annotations.get("error.message") or annotations.get("openlineage.errorMessage")
        if not message:
            return None
        return error_message_run.ErrorMessageRunFacet(
            message=message,
            programmingLanguage=annotations.get("openlineage.programmingLanguage", "python"),
            stackTrace=annotations.get("error.traceback")
            or annotations.get("openlineage.stackTrace"),
            producer=self.settings.producer,
        )

    def aborted(self, session: Session, entity_id: uuid.UUID, annotations: dict[str, str]) -> bool:
        if annotations.get("openlineage.aborted") == "true":
            return True
        state = session.get(MlflowStateRow, entity_id)
        return state is not None and state.status == "KILLED"

    def run_event(self, session: Session, run: m.Run, state: RunState) -> RunEvent:
        job = run_job(session, run, self.settings.producer)
        p = self.settings.producer
        facets: dict[str, RunFacet] = {}
        trigger = session.get(ArtifactRow, run.event) if run.event else None
        if trigger is not None:
            attrs = trigger.attributes
            facets["modeltrail_trigger"] = mt.ModeltrailTriggerRunFacet(
                id=str(trigger.id),
                name=trigger.name,
                kind=trigger.kind,
                version=trigger.version,
                cause=attrs["cause"] if isinstance(attrs.get("cause"), str) else None,
                uri=trigger.uri,
                attributes=attrs,
                producer=p,
            )
            nominal = attrs.get("nominalStartTime")
            if isinstance(nominal, str):
                end = attrs.get("nominalEndTime")
                facets["nominalTime"] = nominal_time_run.NominalTimeRunFacet(
                    nominalStartTime=nominal,
                    nominalEndTime=end if isinstance(end, str) else None,
                    producer=p,
                )
        if state in (RunState.FAIL, RunState.ABORT):
            error = self._error(run.annotations)
            if error is not None:
                facets["errorMessage"] = error
        if state in (RunState.COMPLETE, RunState.FAIL, RunState.ABORT):
            series = _summaries(
                session,
                select(RunMetricRow)
                .where(RunMetricRow.run_id == run.id)
                .order_by(RunMetricRow.key),
            )
            outputs = session.scalars(
                select(ArtifactRow)
                .join(ExecutionOutputRow, ExecutionOutputRow.artifact_id == ArtifactRow.id)
                .join(ExecutionRow, ExecutionRow.id == ExecutionOutputRow.execution_id)
                .where(
                    ExecutionRow.run_id == run.id, ArtifactRow.kind.in_(self.settings.metrics_kinds)
                )
                .order_by(ArtifactRow.create_time, ArtifactRow.id)
            ).all()
            metrics = self._metrics_facet(session, series, list(outputs))
            if metrics is not None:
                facets["modeltrail_metrics"] = metrics
        at = run.create_time if state is RunState.START else (run.end_time or None)
        return RunEvent(
            eventType=state,
            eventTime=_iso(at),
            run=Run(runId=_run_id(run.id, run.annotations), facets=facets),
            job=Job(namespace=job.namespace, name=job.name, facets=dict(job.facets)),
            producer=p,
        )

    def execution_event(
        self, session: Session, execution: m.Execution, run: m.Run, state: RunState
    ) -> RunEvent:
        parent = run_job(session, run, self.settings.producer)
        job = step_job(session, execution, parent, self.settings.producer)
        p = self.settings.producer
        parent_id = _run_id(run.id, run.annotations)
        facets: dict[str, RunFacet] = {
            "parent": parent_run.ParentRunFacet(
                run=parent_run.Run(runId=parent_id),
                job=parent_run.Job(namespace=parent.namespace, name=parent.name),
                root=parent_run.Root(
                    run=parent_run.RootRun(runId=parent_id),
                    job=parent_run.RootJob(namespace=parent.namespace, name=parent.name),
                ),
                producer=p,
            )
        }
        if state in (RunState.FAIL, RunState.ABORT):
            error = self._error(execution.annotations)
            if error is not None:
                facets["errorMessage"] = error
        inputs = self._artifacts(session, execution.input_artifacts)
        outputs = self._artifacts(session, execution.output_artifacts)
        if state in (RunState.COMPLETE, RunState.FAIL, RunState.ABORT):
            series = _summaries(
                session,
                select(MetricSeriesRow)
                .where(MetricSeriesRow.execution_id == execution.id)
                .order_by(MetricSeriesRow.key),
            )
            metrics = self._metrics_facet(session, series, outputs)
            if metrics is not None:
                facets["modeltrail_metrics"] = metrics
        if state is RunState.START:
            at = execution.start_time or execution.create_time
        else:
            at = execution.end_time or execution.start_time or execution.create_time
        return RunEvent(
            eventType=state,
            eventTime=_iso(at),
            run=Run(runId=_run_id(execution.id, execution.annotations), facets=facets),
            job=Job(namespace=job.namespace, name=job.name, facets=dict(job.facets)),
            inputs=[
                InputDataset(*self.dataset_name(a), facets=self._dataset_facets(session, a))
                for a in inputs
            ],
            outputs=[
                OutputDataset(*self.dataset_name(a), facets=self._dataset_facets(session, a))
                for a in outputs
            ],
            producer=p,
        )


def _summaries(session: Session, rows: Select[Any]) -> list[dict[str, Any]]:
    """The summary of each series (or a run's summary of each key) that ``rows`` selects."""
    return [
        _summary(r.key, r.latest_value, r.latest_step, r.min_value, r.max_value, r.count)
        for r in session.scalars(rows)
    ]


def _summary(
    key: str,
    latest: float | None,
    step: int | None,
    low: float | None,
    high: float | None,
    count: int,
) -> dict[str, Any]:
    return {
        "key": key,
        "latest": _finite(latest),
        "latestStep": step,
        "min": _finite(low),
        "max": _finite(high),
        "count": count,
    }
