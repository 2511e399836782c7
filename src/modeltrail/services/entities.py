"""Experiments, executables, pipelines and runs: create, read, update, delete, list."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from modeltrail.domain.filters import ListOptions
from modeltrail.domain.models import (
    Executable,
    ExecutableCreate,
    ExecutableUpdate,
    Experiment,
    ExperimentCreate,
    ExperimentUpdate,
    Page,
    Pipeline,
    PipelineCreate,
    PipelineUpdate,
    Run,
    RunCreate,
    RunUpdate,
)
from modeltrail.domain.status import settle_create, settle_update
from modeltrail.services import access
from modeltrail.services.common import (
    apply_update,
    audit,
    check_revision,
    existing_for_retry,
    get_or_404,
    list_page,
    refuse_if_referenced,
    require_existing,
)
from modeltrail.store.dialect import seconds_between
from modeltrail.store.listing import Fields
from modeltrail.store.metric_columns import metric_column, metric_joins
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutableRow,
    ExecutionRow,
    ExperimentRow,
    PipelineExecutableRow,
    PipelineRow,
    RunRow,
    utcnow,
)

# ---------------------------------------------------------------- experiments

EXPERIMENT_FIELDS = Fields(
    columns={
        "id": ExperimentRow.id,
        "name": ExperimentRow.name,
        "version": ExperimentRow.version,
        "createTime": ExperimentRow.create_time,
        "revision": ExperimentRow.revision,
    },
    documents={"annotations": ExperimentRow.annotations},
)


def to_experiment(row: ExperimentRow) -> Experiment:
    return Experiment(
        id=row.id,
        name=row.name,
        version=row.version,
        create_time=row.create_time,
        annotations=row.annotations,
        revision=row.revision,
        **audit(row),
    )


def create_experiment(session: Session, data: ExperimentCreate) -> tuple[Experiment, bool]:
    existing = existing_for_retry(
        session,
        ExperimentRow,
        data.id,
        "experiment",
        equal=lambda r: (
            (r.name, r.version, r.annotations) == (data.name, data.version, data.annotations)
        ),
    )
    if existing:
        return to_experiment(existing), False
    row = ExperimentRow(
        id=data.id or uuid.uuid4(),
        name=data.name,
        version=data.version,
        create_time=data.create_time or utcnow(),
        annotations=data.annotations,
        revision=1,
    )
    session.add(row)
    session.flush()
    return to_experiment(row), True


def read_experiment(session: Session, experiment_id: uuid.UUID) -> Experiment:
    return to_experiment(get_or_404(session, ExperimentRow, experiment_id, "experiment"))


def update_experiment(
    session: Session,
    experiment_id: uuid.UUID,
    data: ExperimentUpdate,
    *,
    if_match: int | None = None,
) -> Experiment:
    row = get_or_404(session, ExperimentRow, experiment_id, "experiment")
    check_revision(row, if_match, "experiment")
    apply_update(row, data.model_dump(exclude_unset=True), {})
    session.flush()
    return to_experiment(row)


def delete_experiment(session: Session, experiment_id: uuid.UUID) -> None:
    row = get_or_404(session, ExperimentRow, experiment_id, "experiment")
    runs = list(session.scalars(select(RunRow.id).where(RunRow.experiment_id == experiment_id)))
    refuse_if_referenced("experiment", experiment_id, {"runs": runs})
    session.delete(row)


def list_experiments(session: Session, options: ListOptions) -> Page[Experiment]:
    return list_page(session, ExperimentRow, EXPERIMENT_FIELDS, to_experiment, options)


def find_experiment_by_name(session: Session, name: str) -> list[ExperimentRow]:
    return list(session.scalars(select(ExperimentRow).where(ExperimentRow.name == name)))


# ---------------------------------------------------------------- executables

EXECUTABLE_FIELDS = Fields(
    columns={
        "id": ExecutableRow.id,
        "name": ExecutableRow.name,
        "version": ExecutableRow.version,
        "createTime": ExecutableRow.create_time,
        "uri": ExecutableRow.uri,
        "description": ExecutableRow.description,
        "revision": ExecutableRow.revision,
    },
    documents={"annotations": ExecutableRow.annotations},
)


def to_executable(row: ExecutableRow) -> Executable:
    return Executable(
        id=row.id,
        name=row.name,
        version=row.version,
        create_time=row.create_time,
        uri=row.uri,
        description=row.description,
        annotations=row.annotations,
        revision=row.revision,
        **audit(row),
    )


def _executable_content(
    name: str, version: str, uri: str | None, description: str | None, annotations: dict[str, str]
) -> tuple[Any, ...]:
    return (name, version, uri, description, annotations)


def create_executable(session: Session, data: ExecutableCreate) -> tuple[Executable, bool]:
    sent = _executable_content(
        data.name, data.version, data.uri, data.description, data.annotations
    )
    existing = existing_for_retry(
        session,
        ExecutableRow,
        data.id,
        "executable",
        equal=lambda r: (
            _executable_content(r.name, r.version, r.uri, r.description, r.annotations) == sent
        ),
    )
    if existing:
        return to_executable(existing), False
    row = ExecutableRow(
        id=data.id or uuid.uuid4(),
        name=data.name,
        version=data.version,
        create_time=data.create_time or utcnow(),
        uri=data.uri,
        description=data.description,
        annotations=data.annotations,
        revision=1,
    )
    session.add(row)
    session.flush()
    return to_executable(row), True


def find_executable(session: Session, data: ExecutableCreate) -> Executable | None:
    """The executable with this name, version and uri, if one is stored.

    Executables are shared by every execution of the same step, so steps that name the same
    code are recognised as the same step (FR6).
    """
    row = session.scalars(
        select(ExecutableRow)
        .where(
            ExecutableRow.name == data.name,
            ExecutableRow.version == data.version,
            ExecutableRow.uri.is_(None) if data.uri is None else ExecutableRow.uri == data.uri,
        )
        .order_by(ExecutableRow.create_time)
        .limit(1)
    ).first()
    return None if row is None else to_executable(row)


def read_executable(session: Session, executable_id: uuid.UUID) -> Executable:
    return to_executable(get_or_404(session, ExecutableRow, executable_id, "executable"))


def update_executable(
    session: Session,
    executable_id: uuid.UUID,
    data: ExecutableUpdate,
    *,
    if_match: int | None = None,
) -> Executable:
    row = get_or_404(session, ExecutableRow, executable_id, "executable")
    check_revision(row, if_match, "executable")
    apply_update(row, data.model_dump(exclude_unset=True), {})
    session.flush()
    return to_executable(row)


def delete_executable(session: Session, executable_id: uuid.UUID) -> None:
    row = get_or_404(session, ExecutableRow, executable_id, "executable")
    refuse_if_referenced(
        "executable",
        executable_id,
        {
            "executions": list(
                session.scalars(
                    select(ExecutionRow.id).where(ExecutionRow.executable_id == executable_id)
                )
            ),
            "pipelines": list(
                session.scalars(
                    select(PipelineExecutableRow.pipeline_id).where(
                        PipelineExecutableRow.executable_id == executable_id
                    )
                )
            ),
        },
    )
    session.delete(row)


def list_executables(session: Session, options: ListOptions) -> Page[Executable]:
    return list_page(session, ExecutableRow, EXECUTABLE_FIELDS, to_executable, options)


# ---------------------------------------------------------------- pipelines

PIPELINE_FIELDS = Fields(
    columns={
        "id": PipelineRow.id,
        "name": PipelineRow.name,
        "version": PipelineRow.version,
        "createTime": PipelineRow.create_time,
        "uri": PipelineRow.uri,
        "revision": PipelineRow.revision,
    },
    documents={"annotations": PipelineRow.annotations},
)


def _pipeline_executables(session: Session, pipeline_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        session.scalars(
            select(PipelineExecutableRow.executable_id)
            .where(PipelineExecutableRow.pipeline_id == pipeline_id)
            .order_by(PipelineExecutableRow.position)
        )
    )


def to_pipeline(session: Session, row: PipelineRow) -> Pipeline:
    return Pipeline(
        id=row.id,
        name=row.name,
        version=row.version,
        create_time=row.create_time,
        uri=row.uri,
        executables=_pipeline_executables(session, row.id),
        annotations=row.annotations,
        revision=row.revision,
        **audit(row),
    )


def _set_pipeline_executables(
    session: Session, pipeline_id: uuid.UUID, executables: list[uuid.UUID]
) -> None:
    require_existing(session, ExecutableRow, executables, pointer="/executables", what="executable")
    session.execute(
        delete(PipelineExecutableRow).where(PipelineExecutableRow.pipeline_id == pipeline_id)
    )
    session.add_all(
        PipelineExecutableRow(pipeline_id=pipeline_id, position=i, executable_id=e)
        for i, e in enumerate(executables)
    )


def create_pipeline(session: Session, data: PipelineCreate) -> tuple[Pipeline, bool]:
    existing = existing_for_retry(
        session,
        PipelineRow,
        data.id,
        "pipeline",
        equal=lambda r: (
            (r.name, r.version, r.uri, r.annotations, _pipeline_executables(session, r.id))
            == (data.name, data.version, data.uri, data.annotations, data.executables)
        ),
    )
    if existing:
        return to_pipeline(session, existing), False
    row = PipelineRow(
        id=data.id or uuid.uuid4(),
        name=data.name,
        version=data.version,
        create_time=data.create_time or utcnow(),
        uri=data.uri,
        annotations=data.annotations,
        revision=1,
    )
    session.add(row)
    session.flush()
    _set_pipeline_executables(session, row.id, data.executables)
    session.flush()
    return to_pipeline(session, row), True


def read_pipeline(session: Session, pipeline_id: uuid.UUID) -> Pipeline:
    return to_pipeline(session, get_or_404(session, PipelineRow, pipeline_id, "pipeline"))


def update_pipeline(
    session: Session, pipeline_id: uuid.UUID, data: PipelineUpdate, *, if_match: int | None = None
) -> Pipeline:
    row = get_or_404(session, PipelineRow, pipeline_id, "pipeline")
    check_revision(row, if_match, "pipeline")
    changes = data.model_dump(exclude_unset=True)
    executables = changes.pop("executables", None)
    changed = apply_update(row, changes, {})
    if executables is not None and executables != _pipeline_executables(session, pipeline_id):
        _set_pipeline_executables(session, pipeline_id, executables)
        if not changed:
            row.revision += 1
    session.flush()
    return to_pipeline(session, row)


def delete_pipeline(session: Session, pipeline_id: uuid.UUID) -> None:
    row = get_or_404(session, PipelineRow, pipeline_id, "pipeline")
    runs = list(session.scalars(select(RunRow.id).where(RunRow.pipeline_id == pipeline_id)))
    refuse_if_referenced("pipeline", pipeline_id, {"runs": runs})
    session.delete(row)


def list_pipelines(session: Session, options: ListOptions) -> Page[Pipeline]:
    return list_page(
        session, PipelineRow, PIPELINE_FIELDS, lambda r: to_pipeline(session, r), options
    )


# ---------------------------------------------------------------- runs


def _run_duration(dialect: str, path: tuple[str, ...]) -> Any:
    """A run's duration in seconds (NULL while it runs): sortable and searchable like a metric."""
    if path:
        raise ValueError("'duration' has no sub-fields")
    return seconds_between(dialect, RunRow.create_time, RunRow.end_time)


RUN_FIELDS = Fields(
    columns={
        "id": RunRow.id,
        "experiment": RunRow.experiment_id,
        "name": RunRow.name,
        "version": RunRow.version,
        "createTime": RunRow.create_time,
        "endTime": RunRow.end_time,
        "uri": RunRow.uri,
        "status": RunRow.status,
        "pipeline": RunRow.pipeline_id,
        "event": RunRow.event_id,
        "revision": RunRow.revision,
    },
    documents={"annotations": RunRow.annotations, "configuration": RunRow.configuration},
    named={"experiment": ExperimentRow, "pipeline": PipelineRow, "event": ArtifactRow},
    derived={
        "metrics": lambda dialect, path: metric_column(dialect, RunRow.id, path),
        "duration": lambda dialect, path: _run_duration(dialect, path),
    },
    joined={"metrics": lambda dialect, paths: metric_joins(dialect, RunRow.id, paths)},
)

RUN_COLUMNS = {"experiment": "experiment_id", "pipeline": "pipeline_id", "event": "event_id"}


def to_run(row: RunRow) -> Run:
    return Run(
        id=row.id,
        experiment=row.experiment_id,
        name=row.name,
        version=row.version,
        create_time=row.create_time,
        uri=row.uri,
        status=row.status,
        end_time=row.end_time,
        configuration=row.configuration,
        pipeline=row.pipeline_id,
        event=row.event_id,
        annotations=row.annotations,
        revision=row.revision,
        **audit(row),
    )


def _check_run_references(
    session: Session, pipeline: uuid.UUID | None, event: uuid.UUID | None
) -> None:
    if pipeline is not None:
        require_existing(
            session, PipelineRow, [pipeline], pointer="/pipeline", what="pipeline", indexed=False
        )
    if event is not None:
        require_existing(
            session, ArtifactRow, [event], pointer="/event", what="artifact", indexed=False
        )


def create_run(session: Session, data: RunCreate) -> tuple[Run, bool]:
    content = data.model_dump(exclude={"id", "create_time"})
    existing = existing_for_retry(
        session,
        RunRow,
        data.id,
        "run",
        equal=lambda r: to_run(r).model_dump(include=set(content)) == content,
    )
    if existing:
        return to_run(existing), False
    require_existing(
        session,
        ExperimentRow,
        [data.experiment],
        pointer="/experiment",
        what="experiment",
        indexed=False,
    )
    _check_run_references(session, data.pipeline, data.event)
    access.check_run(session, data.experiment, event=(None, data.event))
    end = settle_create("run", {"status": data.status, "end_time": data.end_time}, now=utcnow())
    row = RunRow(
        id=data.id or uuid.uuid4(),
        experiment_id=data.experiment,
        name=data.name,
        version=data.version,
        create_time=data.create_time or utcnow(),
        uri=data.uri,
        status=data.status,
        end_time=end["end_time"],
        configuration=data.configuration,
        pipeline_id=data.pipeline,
        event_id=data.event,
        annotations=data.annotations,
        revision=1,
    )
    session.add(row)
    session.flush()
    return to_run(row), True


def read_run(session: Session, run_id: uuid.UUID) -> Run:
    return to_run(get_or_404(session, RunRow, run_id, "run"))


def update_run(
    session: Session,
    run_id: uuid.UUID,
    data: RunUpdate,
    *,
    if_match: int | None = None,
    mirror: bool = False,
) -> Run:
    """Change a run; a finished one stays finished (``domain.status``; ``mirror``: an importer
    that mirrors another system's state may correct it)."""
    row = get_or_404(session, RunRow, run_id, "run")
    check_revision(row, if_match, "run")
    changes = settle_update(
        "run",
        row.id,
        status=row.status,
        end_time=row.end_time,
        changes=data.model_dump(exclude_unset=True),
        now=utcnow(),
        mirror=mirror,
    )
    _check_run_references(session, changes.get("pipeline"), changes.get("event"))
    access.check_run(
        session,
        row.experiment_id,
        event=(row.event_id, changes["event"]) if "event" in changes else None,
    )
    apply_update(row, changes, RUN_COLUMNS)
    session.flush()
    return to_run(row)


def delete_run(session: Session, run_id: uuid.UUID) -> None:
    row = get_or_404(session, RunRow, run_id, "run")
    executions = list(session.scalars(select(ExecutionRow.id).where(ExecutionRow.run_id == run_id)))
    refuse_if_referenced("run", run_id, {"executions": executions})
    session.delete(row)


def list_runs(session: Session, options: ListOptions) -> Page[Run]:
    return list_page(session, RunRow, RUN_FIELDS, to_run, options)
