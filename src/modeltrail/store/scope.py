"""Which experiment each entity belongs to, for deciding what a scoped token may see.

Experiments, runs and executions belong to one experiment each. An artifact belongs to the
experiments of the executions that wrote it; an artifact that no execution wrote belongs to the
experiments whose executions read it, whose runs it triggered, or that it was made in without a
run (``ArtifactExperimentRow``, MLflow's logged models); one that nothing touches belongs to no
experiment. Executables, pipelines and kinds are shared definitions and belong to
none (they are not looked up here).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from modeltrail.store.tables import (
    ArtifactExperimentRow,
    ArtifactRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ExperimentRow,
    RunRow,
)

# Ids per statement: far below the parameter limits of both databases.
CHUNK = 500

Owners = dict[uuid.UUID, set[uuid.UUID]]


def _chunks(ids: Iterable[uuid.UUID]) -> Iterator[list[uuid.UUID]]:
    listed = list(dict.fromkeys(ids))
    for i in range(0, len(listed), CHUNK):
        yield listed[i : i + CHUNK]


def _pairs(session: Session, query: Any, column: Any, ids: Iterable[uuid.UUID]) -> Owners:
    found: Owners = defaultdict(set)
    for chunk in _chunks(ids):
        for entity, experiment in session.execute(query.where(column.in_(chunk))):
            found[entity].add(experiment)
    return found


def experiments_of_artifacts(session: Session, ids: Iterable[uuid.UUID]) -> Owners:
    """Each artifact's experiments (an artifact of none is left out)."""
    wanted = list(ids)
    run_of = select(ExecutionRow.id, RunRow.experiment_id).join(
        RunRow, RunRow.id == ExecutionRow.run_id
    )
    producers = run_of.subquery()
    owners = _pairs(
        session,
        select(ExecutionOutputRow.artifact_id, producers.c.experiment_id).join(
            producers, producers.c.id == ExecutionOutputRow.execution_id
        ),
        ExecutionOutputRow.artifact_id,
        wanted,
    )
    unwritten = [a for a in wanted if a not in owners]
    if unwritten:
        readers = _pairs(
            session,
            select(ExecutionInputRow.artifact_id, producers.c.experiment_id).join(
                producers, producers.c.id == ExecutionInputRow.execution_id
            ),
            ExecutionInputRow.artifact_id,
            unwritten,
        )
        triggered = _pairs(
            session, select(RunRow.event_id, RunRow.experiment_id), RunRow.event_id, unwritten
        )
        made_in = _pairs(
            session,
            select(ArtifactExperimentRow.artifact_id, ArtifactExperimentRow.experiment_id),
            ArtifactExperimentRow.artifact_id,
            unwritten,
        )
        for found in (readers, triggered, made_in):
            for artifact, experiments in found.items():
                owners[artifact] |= experiments
    return dict(owners)


def set_artifact_experiment(
    session: Session, *, artifact_id: uuid.UUID, experiment_id: uuid.UUID
) -> None:
    """Make the artifact, made in ``experiment_id`` without a run, of that experiment while no
    execution writes it."""
    session.merge(ArtifactExperimentRow(artifact_id=artifact_id, experiment_id=experiment_id))


def experiments_of_executions(session: Session, ids: Iterable[uuid.UUID]) -> Owners:
    return _pairs(
        session,
        select(ExecutionRow.id, RunRow.experiment_id).join(
            RunRow, RunRow.id == ExecutionRow.run_id
        ),
        ExecutionRow.id,
        ids,
    )


def experiments_of_runs(session: Session, ids: Iterable[uuid.UUID]) -> Owners:
    return _pairs(session, select(RunRow.id, RunRow.experiment_id), RunRow.id, ids)


def experiments_of(session: Session, ids: Iterable[uuid.UUID]) -> Owners:
    """The experiments of any mix of experiments, runs, executions and artifacts (an artifact
    of no experiment with an empty set); an id of another entity (an executable, a pipeline)
    or of nothing is left out."""
    wanted = list(dict.fromkeys(ids))
    owners: Owners = {}
    for chunk in _chunks(wanted):
        for (experiment,) in session.execute(
            select(ExperimentRow.id).where(ExperimentRow.id.in_(chunk))
        ):
            owners[experiment] = {experiment}
    for find in (experiments_of_runs, experiments_of_executions):
        owners.update(find(session, [i for i in wanted if i not in owners]))
    artifacts = [
        a
        for chunk in _chunks(i for i in wanted if i not in owners)
        for a in session.scalars(select(ArtifactRow.id).where(ArtifactRow.id.in_(chunk)))
    ]
    if artifacts:
        found = experiments_of_artifacts(session, artifacts)
        owners.update({a: found.get(a, set()) for a in artifacts})
    return owners


# The types whose rows belong to an experiment: those ``readable_clause`` can filter.
EXPERIMENT_TYPES = (ExperimentRow, RunRow, ExecutionRow, ArtifactRow)


def belongs_to_experiment(row_type: Any) -> bool:
    """Whether rows of ``row_type`` belong to experiments (pipelines and executables do not)."""
    return row_type in EXPERIMENT_TYPES


def readable_clause(row_type: Any, experiments: frozenset[uuid.UUID]) -> Any:
    """A condition on ``row_type`` that keeps the entities of ``experiments`` (the same rule
    as ``experiments_of``, as SQL); None for a type that belongs to no experiment."""
    wanted = list(experiments)
    runs = select(RunRow.id).where(RunRow.experiment_id.in_(wanted))
    executions = select(ExecutionRow.id).where(ExecutionRow.run_id.in_(runs))
    if row_type is ExperimentRow:
        return ExperimentRow.id.in_(wanted)
    if row_type is RunRow:
        return RunRow.experiment_id.in_(wanted)
    if row_type is ExecutionRow:
        return ExecutionRow.run_id.in_(runs)
    if row_type is ArtifactRow:
        written = select(ExecutionOutputRow.artifact_id)
        return or_(
            ArtifactRow.id.in_(written.where(ExecutionOutputRow.execution_id.in_(executions))),
            and_(
                ArtifactRow.id.not_in(written),
                or_(
                    ArtifactRow.id.in_(
                        select(ExecutionInputRow.artifact_id).where(
                            ExecutionInputRow.execution_id.in_(executions)
                        )
                    ),
                    ArtifactRow.id.in_(
                        select(RunRow.event_id).where(
                            RunRow.experiment_id.in_(wanted), RunRow.event_id.is_not(None)
                        )
                    ),
                    ArtifactRow.id.in_(
                        select(ArtifactExperimentRow.artifact_id).where(
                            ArtifactExperimentRow.experiment_id.in_(wanted)
                        )
                    ),
                ),
            ),
        )
    return None
