"""The fast path of a batch: creates of new entities validated in memory, inserted in bulk.

A batch of a thousand creates would otherwise cost a thousand round trips of lookups and
flushes. Here the references of the whole batch are looked up with one query per table, each
create is checked against what is stored plus what the batch created before it, and the new
rows are inserted with one multi-row INSERT per table.

The fast path only ever accepts: whenever an operation is not plainly valid (a retry of a
stored id, an unknown kind, attributes that break the schema, a reference it cannot see, a
possible cycle), the batch hands it to the entity's ordinary create function, which gives the
one true answer (and error) for it. So the rules live in one place; this module only decides
when they are certain to pass.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple, cast

from pydantic import BaseModel
from sqlalchemy import Dialect, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from modeltrail.domain import kinds as rules
from modeltrail.domain.batch import ExecutionLinks
from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.fingerprint import (
    artifact_fingerprint,
    execution_fingerprint,
    is_trigger,
)
from modeltrail.domain.models import (
    ArtifactCreate,
    ExecutableCreate,
    ExecutionCreate,
    ExperimentCreate,
    RunCreate,
)
from modeltrail.domain.status import settle_create
from modeltrail.store import audit
from modeltrail.store import lineage as store
from modeltrail.store.kinds import read_latest_kind
from modeltrail.store.rows import new_row, to_model
from modeltrail.store.tables import (
    ArtifactReferenceRow,
    ArtifactRow,
    ExecutableRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ExecutionSuccessorRow,
    entity_rows,
    utcnow,
)

# The entities with a fast path here; the others (and any new one) take the ordinary path.
FAST = {"experiment", "executable", "artifact", "run", "execution"}
TABLES = entity_rows()
# Insert order: a table only after the tables its rows refer to.
ORDER = [
    "experiment",
    "executable",
    "artifact",
    "references",
    "run",
    "execution",
    "inputs",
    "outputs",
    "successors",
]
EDGE_TABLES = {
    "references": ArtifactReferenceRow,
    "inputs": ExecutionInputRow,
    "outputs": ExecutionOutputRow,
    "successors": ExecutionSuccessorRow,
}


class Created(NamedTuple):
    """A create the fast path queued: its id, and how to make its entity should a plugin's
    ``stored`` hook want it (the answer itself only needs the id)."""

    id: uuid.UUID
    entity: Callable[[], BaseModel]


class Linked(NamedTuple):
    """A link the fast path queued: the answer only needs the execution's id."""

    id: uuid.UUID


class _Kind:
    def __init__(self, row: Any) -> None:
        self.name, self.version = row.name, row.version
        self.is_valid = rules.attributes_check(row.schema_)
        self.references = rules.reference_properties(row.schema_)


def _settled(what: str, data: RunCreate | ExecutionCreate) -> dict[str, Any] | None:
    """The new entity's end (``domain.status``); None when it is refused, for the ordinary
    path to refuse it with its pointer."""
    try:
        return settle_create(what, {"status": data.status, "end_time": data.end_time}, now=utcnow())
    except InvalidInput:
        return None


class BulkWriter:
    """Known entities of one batch's transaction, and the rows waiting to be inserted."""

    def __init__(self, session: Session, operations: list[tuple[str, str, BaseModel]]) -> None:
        self.session = session
        self.known: dict[str, set[uuid.UUID]] = {name: set() for name in TABLES}
        self.fingerprints: dict[uuid.UUID, str] = {}
        self.triggers: set[uuid.UUID] = set()  # artifacts that are events, not data
        self.executables: dict[uuid.UUID, tuple[str, str, str | None]] = {}
        self.consumed: set[uuid.UUID] = set()  # artifacts some execution reads
        self.kinds: dict[str, _Kind] = {}
        self.pending: dict[str, list[dict[str, Any]]] = {name: [] for name in ORDER}
        # For links: executions this batch created without successors (nothing follows them,
        # so following them cannot close a cycle), the successor edges known to the batch, the
        # queued execution rows, and the revisions stored executions gain.
        self.leaves: set[uuid.UUID] = set()
        self.followed: set[tuple[uuid.UUID, uuid.UUID]] = set()
        self.queued_executions: dict[uuid.UUID, dict[str, Any]] = {}
        self.revisions: Counter[uuid.UUID] = Counter()
        # Who the batch writes for: the audit columns of its rows, and of its answers.
        self.actor = actor = audit.actor_of(session)
        self.audit_columns = audit.columns(actor)
        self.audit = {"created_by": actor, "updated_by": actor}
        self._prefetch(operations)

    # ------------------------------------------------------------ lookups, once per batch

    def _prefetch(self, operations: list[tuple[str, str, BaseModel]]) -> None:
        wanted: dict[str, set[uuid.UUID]] = {name: set() for name in TABLES}
        for op, entity, data in operations:
            if op != "create":
                continue
            own = getattr(data, "id", None)
            if own is not None:
                wanted[entity].add(own)
            if isinstance(data, RunCreate):
                wanted["experiment"].add(data.experiment)
                if data.event is not None:
                    wanted["artifact"].add(data.event)
                if data.pipeline is not None:
                    wanted["pipeline"].add(data.pipeline)
            elif isinstance(data, ExecutionCreate):
                wanted["run"].add(data.run)
                wanted["executable"].add(data.executable)
                wanted["artifact"].update(data.input_artifacts, data.output_artifacts)
                wanted["execution"].update(data.successors)
        known, session = self.known, self.session
        for entity, ids in wanted.items():
            if not ids:
                continue
            if entity == "artifact":
                for aid, fp, kind in store.columns_among(
                    session, ArtifactRow, "id", ("id", "fingerprint", "kind"), ids
                ):
                    known["artifact"].add(key := uuid.UUID(aid))
                    self.fingerprints[key] = fp
                    if is_trigger(kind):
                        self.triggers.add(key)
                self.consumed.update(
                    uuid.UUID(aid)
                    for (aid,) in store.columns_among(
                        session, ExecutionInputRow, "artifact_id", ("artifact_id",), ids
                    )
                )
            elif entity == "executable":
                for eid, name, version, uri in store.columns_among(
                    session, ExecutableRow, "id", ("id", "name", "version", "uri"), ids
                ):
                    known["executable"].add(key := uuid.UUID(eid))
                    self.executables[key] = (name, version, uri)
            else:
                known[entity].update(
                    uuid.UUID(i)
                    for (i,) in store.columns_among(session, TABLES[entity], "id", ("id",), ids)
                )

    def _kind(self, name: str) -> _Kind | None:
        kind = self.kinds.get(name)
        if kind is None:
            row = read_latest_kind(self.session, name)
            if row is None:
                return None
            kind = self.kinds[name] = _Kind(row)
        return kind

    # ------------------------------------------------------------ the fast path

    def try_create(self, entity: str, data: BaseModel) -> Created | None:
        """Queue the create and answer it, or None if the ordinary path must decide."""
        if entity not in FAST or getattr(data, "id", None) in self.known[entity]:
            return None  # a retry, or an id used twice: the ordinary path answers
        result: Created | None = getattr(self, f"_{entity}")(data)
        if result is not None:
            self.known[entity].add(result.id)
        return result

    def _experiment(self, data: ExperimentCreate) -> Created:
        return self._queued("experiment", new_row("experiment", data))

    def _executable(self, data: ExecutableCreate) -> Created:
        created = self._queued("executable", new_row("executable", data))
        self.executables[created.id] = (data.name, data.version, data.uri)
        return created

    def _queued(self, entity: str, values: dict[str, Any], **extra: Any) -> Created:
        """Queue the row of a new entity; its answer, made from the row when it is asked for
        (with ``extra``, its fields that are no column)."""
        row = {**values, **self.audit_columns}
        self.pending[entity].append(row)
        return Created(row["id"], lambda: to_model(entity, row, **extra))

    def _artifact(self, data: ArtifactCreate) -> Created | None:
        kind = self._kind(data.kind)
        if kind is None or not kind.is_valid(data.attributes):
            return None
        refs = {}
        for prop in kind.references:
            value = data.attributes.get(prop)
            if value is None:
                continue
            try:
                target = uuid.UUID(str(value))
            except ValueError:
                return None
            if target not in self.known["artifact"]:
                return None
            refs[prop] = target
        artifact_id = data.id or uuid.uuid4()
        fingerprint = artifact_fingerprint(
            id=artifact_id,
            name=data.name,
            version=data.version,
            kind=data.kind,
            description=data.description,
            uri=data.uri,
            annotations=data.annotations,
            attributes=data.attributes,
        )
        created = self._queued(
            "artifact",
            new_row(
                "artifact", data, id=artifact_id, kind_version=kind.version, fingerprint=fingerprint
            ),
        )
        self.pending["references"].extend(
            {"artifact_id": artifact_id, "attribute": k, "target_id": v} for k, v in refs.items()
        )
        self.fingerprints[artifact_id] = fingerprint
        if is_trigger(data.kind):
            self.triggers.add(artifact_id)
        return created

    def _run(self, data: RunCreate) -> Created | None:
        if data.experiment not in self.known["experiment"]:
            return None
        if data.pipeline is not None and data.pipeline not in self.known["pipeline"]:
            return None
        if data.event is not None and data.event not in self.known["artifact"]:
            return None
        end = _settled("run", data)
        if end is None:
            return None
        return self._queued("run", new_row("run", data, end_time=end["end_time"]))

    def _execution(self, data: ExecutionCreate) -> Created | None:
        inputs, outputs, successors = data.input_artifacts, data.output_artifacts, data.successors
        artifacts = self.known["artifact"]
        if (
            data.reused_from is not None
            or data.run not in self.known["run"]
            or data.executable not in self.executables
            or len(set(inputs)) != len(inputs)
            or len(set(outputs)) != len(outputs)
            or len(set(successors)) != len(successors)
            or set(inputs) & set(outputs)
            or not all(a in artifacts for a in inputs)
            or not all(a in artifacts for a in outputs)
            or not all(s in self.known["execution"] for s in successors)
            # A new execution can only close a cycle through an output somebody already reads.
            or any(a in self.consumed for a in outputs)
            or not all(a in self.fingerprints for a in inputs)
        ):
            return None
        execution_id = data.id or uuid.uuid4()
        if execution_id in successors:
            return None
        name, version, uri = self.executables[data.executable]
        end = _settled("execution", data)
        if end is None:
            return None
        fingerprint = execution_fingerprint(
            executable_name=name,
            executable_version=version,
            executable_uri=uri,
            kind=data.kind,
            configuration=data.configuration,
            input_fingerprints=[self.fingerprints[a] for a in inputs if a not in self.triggers],
        )
        created = self._queued(
            "execution",
            new_row(
                "execution",
                data,
                id=execution_id,
                end_time=end["end_time"],
                fingerprint=fingerprint,
            ),
            input_artifacts=inputs,
            output_artifacts=outputs,
            successors=successors,
        )
        self.pending["inputs"].extend(
            {"execution_id": execution_id, "artifact_id": a, "position": i}
            for i, a in enumerate(inputs)
        )
        self.pending["outputs"].extend(
            {"execution_id": execution_id, "artifact_id": a, "position": i}
            for i, a in enumerate(outputs)
        )
        self.pending["successors"].extend(
            {"execution_id": execution_id, "successor_id": s} for s in successors
        )
        self.consumed.update(inputs)
        self.queued_executions[execution_id] = self.pending["execution"][-1]
        self.followed.update((execution_id, s) for s in successors)
        if not successors:
            self.leaves.add(execution_id)
        return created

    def create(
        self, entity: str, data: BaseModel, ordinary: Callable[[BaseModel], tuple[Any, bool]]
    ) -> tuple[Any, bool]:
        """Create through the fast path, or else through ``ordinary`` (the entity's own create:
        its answer and whether it created), once the queued rows it may refer to are in."""
        fast = self.try_create(entity, data)
        if fast is not None:
            return fast, True
        self.flush()
        result = ordinary(data)
        self.note(entity, "create", result[0])
        return result

    def link(
        self,
        execution_id: uuid.UUID,
        data: ExecutionLinks,
        ordinary: Callable[[ExecutionLinks], Any],
    ) -> Any:
        """Queue a link that only adds successors this batch created and that have none of
        their own, or else link through ``ordinary`` (``add_edges``) once the queued rows are
        in. Answers the execution (a ``Linked`` from the fast path)."""
        successors = data.successors
        if (
            data.input_artifacts
            or data.output_artifacts
            or len(set(successors)) != len(successors)
            or execution_id in successors
            or not all(s in self.leaves for s in successors)
            or not self._execution_exists(execution_id)
        ):
            self.flush()
            result = ordinary(data)
            self.note("execution", "update", result)
            return result
        new = [s for s in successors if (execution_id, s) not in self.followed]
        if new:  # else already linked: nothing changes, as on the ordinary path
            self.pending["successors"].extend(
                {"execution_id": execution_id, "successor_id": s} for s in new
            )
            self.followed.update((execution_id, s) for s in new)
            self.leaves.discard(execution_id)
            queued = self.queued_executions.get(execution_id)
            if queued is not None:
                queued["revision"] += 1
            else:
                self.revisions[execution_id] += 1
        return Linked(execution_id)

    def _execution_exists(self, execution_id: uuid.UUID) -> bool:
        if execution_id not in self.known["execution"]:
            found = self.session.scalar(
                select(ExecutionRow.id).where(ExecutionRow.id == execution_id)
            )
            if found is None:
                return False
            self.known["execution"].add(execution_id)
        return True

    # ------------------------------------------------------------ the ordinary path's results

    def note(self, entity: str, op: str, result: Any) -> None:
        """Keep what an ordinary create or update changed in view of later fast creates."""
        self.known[entity].add(result.id)
        if entity == "artifact":
            self.fingerprints[result.id] = result.fingerprint
            if is_trigger(result.kind):
                self.triggers.add(result.id)
        elif entity == "executable":
            self.executables[result.id] = (result.name, result.version, result.uri)
        elif entity == "execution":
            self.consumed.update(result.input_artifacts)
            self.followed.update((result.id, s) for s in result.successors)
            if result.successors:
                self.leaves.discard(result.id)
        if entity == "artifact" or op == "update":
            self.kinds.clear()  # a create may have registered an open kind on the spot

    def flush(self) -> None:
        """Insert the queued rows, one executemany per table, in reference order."""
        connection = self.session.connection()
        for name in ORDER:
            rows = self.pending[name]
            if not rows:
                continue
            table = (EDGE_TABLES.get(name) or TABLES[name]).__table__
            sql, positional, columns = _insert(table, tuple(rows[0]), connection.dialect)
            names = [k for k, _ in columns]
            params: list[Any] = []
            for row in rows:
                values = [row[k] if bind is None else bind(row[k]) for k, bind in columns]
                params.append(
                    tuple(values) if positional else dict(zip(names, values, strict=True))
                )
            connection.exec_driver_sql(sql, params)
            rows.clear()
        self.queued_executions.clear()
        if self.revisions:
            table = cast(Table, ExecutionRow.__table__)
            connection.execute(
                update(table)
                .where(table.c.id == bindparam("linked", type_=table.c.id.type))
                .values(
                    revision=table.c.revision + bindparam("times"),
                    # An unknown writer leaves the last known one on record, as elsewhere.
                    **(audit.columns(self.actor, created=False) if self.actor else {}),
                ),
                [{"linked": k, "times": n} for k, n in self.revisions.items()],
            )
            # A row the session still holds would answer its old revision.
            for obj in list(self.session.identity_map.values()):
                if isinstance(obj, ExecutionRow) and obj.id in self.revisions:
                    self.session.expire(obj)
            self.revisions.clear()


@lru_cache
def _insert(
    table: Table, keys: tuple[str, ...], dialect: Dialect
) -> tuple[str, bool, list[tuple[str, Any]]]:
    """The INSERT of rows with ``keys`` in the driver's own terms, and each column's bind
    processor. The rows are complete, so the statement is compiled once and the values are
    put in their stored form by the column types' own processors (exactly what the Core
    would store), without the Core's per-row work around them, a large part of what a flush
    spends on each entity."""
    compiled = insert(table).values({k: bindparam(k) for k in keys}).compile(dialect=dialect)
    order = compiled.positiontup if compiled.positional else keys
    assert order is not None and set(order) == set(keys), "a row leaves out a column"
    columns = [(k, table.c[k].type.dialect_impl(dialect).bind_processor(dialect)) for k in order]
    return str(compiled), compiled.positional, columns
