"""The entity registry: each entity type declared once, everything else derived from it.

The API's CRUD routes, the batch request's operations, the bulk writer's tables, the SDK's
write buffer, the command line's ``list|show|delete`` groups and the UI's tables are all made
from ``ENTITIES``. Adding an entity is declaring it here, with its three models
(``domain.models``), its table (``store.tables``, and a migration) and its create and
delete (``services.entities``, one module named after the entity, which declares there what
its read, update and list do beyond the shared ones of ``services.entities.crud``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from modeltrail.domain import models as m


@dataclass(frozen=True)
class Entity:
    """One entity type.

    ``columns``: the fields stored under another column name (a reference's ``_id``).
    ``refers_to``: the entity types a create may name, so that the creates of a batch can be
    put in an order where every reference points back. ``shown``: the fields a table of
    them shows. ``in_experiment``: whether they are listed by experiment (``experiment`` is a
    filter field of theirs). ``browsed``: whether the UI has a table of them.
    """

    name: str
    plural: str
    create: type[m.WriteSchema]
    update: type[m.UpdateSchema]
    model: type[m.Schema]
    table: str
    shown: tuple[str, ...]
    columns: dict[str, str] = field(default_factory=dict)
    refers_to: tuple[str, ...] = ()
    in_experiment: bool = False
    browsed: bool = False


def _create_order(entities: Iterable[Entity]) -> list[str]:
    """The entity names with every one after those it refers to (declared order otherwise)."""
    pending = list(entities)
    order: list[str] = []
    while pending:
        ready = next(e for e in pending if all(r in order or r == e.name for r in e.refers_to))
        order.append(ready.name)
        pending.remove(ready)
    return order


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "experiment",
            "experiments",
            m.ExperimentCreate,
            m.ExperimentUpdate,
            m.Experiment,
            table="experiments",
            shown=("id", "name", "version", "createTime"),
            browsed=True,
        ),
        Entity(
            "run",
            "runs",
            m.RunCreate,
            m.RunUpdate,
            m.Run,
            table="runs",
            shown=("id", "name", "status", "createTime", "experiment"),
            columns={"experiment": "experiment_id", "pipeline": "pipeline_id", "event": "event_id"},
            refers_to=("experiment", "pipeline", "artifact"),
            in_experiment=True,
            browsed=True,
        ),
        Entity(
            "pipeline",
            "pipelines",
            m.PipelineCreate,
            m.PipelineUpdate,
            m.Pipeline,
            table="pipelines",
            shown=("id", "name", "version", "uri"),
            refers_to=("executable",),
        ),
        Entity(
            "executable",
            "executables",
            m.ExecutableCreate,
            m.ExecutableUpdate,
            m.Executable,
            table="executables",
            shown=("id", "name", "version", "uri"),
        ),
        Entity(
            "execution",
            "executions",
            m.ExecutionCreate,
            m.ExecutionUpdate,
            m.Execution,
            table="executions",
            shown=("id", "name", "kind", "status", "startTime", "run"),
            columns={
                "run": "run_id",
                "executable": "executable_id",
                "reused_from": "reused_from_id",
            },
            refers_to=("run", "executable", "artifact", "execution"),
            in_experiment=True,
            browsed=True,
        ),
        Entity(
            "artifact",
            "artifacts",
            m.ArtifactCreate,
            m.ArtifactUpdate,
            m.Artifact,
            table="artifacts",
            shown=("id", "name", "version", "kind", "uri", "createTime"),
            refers_to=("artifact",),
            in_experiment=True,
            browsed=True,
        ),
    )
}

NAMES: tuple[str, ...] = tuple(ENTITIES)
BY_PLURAL: dict[str, Entity] = {e.plural: e for e in ENTITIES.values()}
# Each entity after those it refers to: creates sent in this order never point forward.
CREATE_ORDER: list[str] = _create_order(ENTITIES.values())
