"""The thesis's API (Appendix A, section 7.2.1) on top of modeltrail's services.

The thesis's documents nest what modeltrail keeps as relations: an execution carries its
executable and its artifacts as objects, a run its event and pipeline, and an artifact has its
kind's attributes at top level (``type``, ``framework``, ``reference``, ...). Everything that
translates between the two shapes is in this module, in two halves:

- *reading the thesis's documents* (``_Reader``): embedded objects that carry the id of an
  existing entity are linked, the others are created; every field of an artifact that is not a
  base field is a kind attribute; a property whose kind schema carries ``x-artifact-reference``
  accepts the referenced artifact as an object.
- *writing the thesis's documents* (``_Writer``): the reverse, loading related entities in bulk.

The trace (FR10) and workflow (FR3) functions come last. Every function takes the session of
one transaction, so a request that fails half-way leaves nothing behind.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain import kinds as rules
from modeltrail.domain import limits
from modeltrail.domain import models as m
from modeltrail.domain.errors import InvalidInput, ModeltrailError
from modeltrail.services import entities, executions
from modeltrail.services.common import get_or_404, missing
from modeltrail.store.kinds import read_latest_kind
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutableRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ExperimentRow,
    KindRow,
    PipelineExecutableRow,
    PipelineRow,
    RunRow,
)

if TYPE_CHECKING:
    from modeltrail.services.metadata import Transaction

Doc = dict[str, Any]
M = TypeVar("M", bound=BaseModel)

# The thesis's model (Table 6.9) has its framework as a Pair (value1, value2) and its schemas as
# JSON in strings; modeltrail keeps named fields and JSON. Translated here, and only here.
MODEL_KIND = "model"
SCHEMA_ATTRIBUTES = ("inputSchema", "outputSchema")


def _model_from_thesis(attributes: Doc) -> Doc:
    """A thesis model's attributes as modeltrail keeps them."""
    out = dict(attributes)
    pair = out.get("framework")
    if isinstance(pair, dict) and set(pair) <= {"value1", "value2"}:
        out["framework"] = {
            k: v
            for k, v in (("name", pair.get("value1")), ("version", pair.get("value2")))
            if v is not None
        }
    for key in SCHEMA_ATTRIBUTES:
        text = out.get(key)
        if isinstance(text, str):
            try:
                parsed = json.loads(text)
            except ValueError:
                continue  # free text stays text
            if isinstance(parsed, dict | list):
                out[key] = parsed
    return out


def _model_to_thesis(attributes: Doc) -> Doc:
    """A model's attributes as the thesis's documents have them (version 1 data passes as it
    is)."""
    out = dict(attributes)
    framework = out.get("framework")
    if isinstance(framework, dict) and ({"name", "version"} & set(framework)):
        out["framework"] = {"value1": framework.get("name"), "value2": framework.get("version")}
    for key in SCHEMA_ATTRIBUTES:
        value = out.get(key)
        if value is not None and not isinstance(value, str):
            out[key] = json.dumps(value, sort_keys=True)
    return out


# The fields every artifact has; any other field of a thesis artifact is a kind attribute.
ARTIFACT_BASE = ("id", "name", "version", "kind", "description", "createTime", "uri", "annotations")
# Appendix A requires these of every entity; an artifact's `kind` defaults to "artifact".
REQUIRED = ("name", "version")
DEFAULT_ARTIFACT_KIND = "artifact"
# A workflow is a tree; a DAG whose tree form would exceed this many nodes is refused.
MAX_WORKFLOW_NODES = 100_000
MAX_WORKFLOW_DEPTH = 500  # nesting JSON deeper than this is more than clients parse safely

# The plain fields of each document, for a create (POST) and for an update (PUT); everything
# else in a document is either a relation (handled by name below) or ignored, as the thesis's
# server ignored fields it did not know.
_EXPERIMENT = ("id", "name", "version", "createTime", "annotations")
_EXPERIMENT_UPDATE = ("name", "version", "annotations")
_RUN_UPDATE = ("name", "version", "uri", "status", "configuration", "annotations")
_EXECUTION_UPDATE = (
    "name",
    "version",
    "kind",
    "uri",
    "status",
    "startTime",
    "endTime",
    "configuration",
    "annotations",
)
_EXECUTABLE = ("id", "name", "version", "createTime", "uri", "description", "annotations")
_PIPELINE = ("id", "name", "version", "createTime", "uri", "annotations")
# The lists a read answers of what an entity holds: the rows, the column naming their holder,
# the holder, and the endpoint that creates them.
_MEMBERS: dict[str, tuple[type[RunRow | ExecutionRow | ArtifactRow], Any, str, str]] = {
    "runs": (
        RunRow,
        RunRow.experiment_id,
        "experiment",
        "POST /v1/metadata/experiments/{experiment}/runs",
    ),
    "executions": (
        ExecutionRow,
        ExecutionRow.run_id,
        "run",
        "POST /v1/metadata/experiments/runs/{run}/executions",
    ),
}


# ================================================================ reading the thesis's documents


def _invalid(pointer: str, detail: str) -> InvalidInput:
    return InvalidInput(
        f"{pointer or '/'}: {detail}", errors=[{"pointer": pointer or "/", "detail": detail}]
    )


def _object(value: Any, pointer: str) -> Doc:
    if not isinstance(value, dict):
        raise _invalid(pointer, "must be a JSON object")
    return value


def _array(value: Any, pointer: str) -> list[Any]:
    if not isinstance(value, list):
        raise _invalid(pointer, "must be a JSON array")
    if len(value) > limits.MAX_LIST:
        raise _invalid(pointer, f"holds {len(value)} items; at most {limits.MAX_LIST} are allowed")
    return value


def _pick(body: Doc, fields: Iterable[str]) -> Doc:
    """The listed fields the body has; a null is an absent field (generated clients send
    nothing for an unset field, others send null)."""
    return {f: body[f] for f in fields if body.get(f) is not None}


def _validate(
    model: type[M],
    data: Doc,
    pointer: str,
    *,
    required: Iterable[str] = (),
    flatten: str | None = None,
) -> M:
    """Build a domain model; every failing field is reported, pointing into the thesis's
    document.

    ``required`` are the fields Appendix A requires; ``flatten`` names a field whose content
    sits at the document's top level (the artifact's kind attributes).
    """
    missing = [f for f in required if data.get(f) is None]
    errors = [{"pointer": f"{pointer}/{f}", "detail": "Field required"} for f in missing]
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        result = None
        for e in exc.errors():
            loc = [str(p) for p in e["loc"]]
            if flatten and loc[:1] == [flatten]:
                loc = loc[1:]
            if loc[:1] and loc[0] in missing:
                continue
            errors.append({"pointer": pointer + "".join(f"/{p}" for p in loc), "detail": e["msg"]})
    if errors or result is None:
        where = ", ".join(x["pointer"] for x in errors[:5])
        raise InvalidInput(f"{len(errors)} field(s) are invalid: {where}", errors=errors)
    return result


def _rebased(exc: ModeltrailError, pointer: str) -> ModeltrailError:
    """A domain error about an embedded object, its pointers moved to where the object is."""
    for e in exc.errors:
        inner = e.get("pointer", "")
        if inner.startswith("/attributes"):
            inner = inner[len("/attributes") :]
        e["pointer"] = pointer + inner
    return exc


def _uuid(value: Any, pointer: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise _invalid(pointer, f"{value!r} is not an id (UUID)") from None


_TIME: TypeAdapter[datetime] = TypeAdapter(m.Timestamp)


def _unchanged_time(body: Doc, field: str, stored: datetime) -> None:
    """A time an update may send back but not change (an entity's ``createTime``)."""
    if body.get(field) is None:
        return
    try:
        sent = _TIME.validate_python(body[field])
    except ValidationError as exc:
        raise _invalid(f"/{field}", exc.errors()[0]["msg"]) from None
    if sent != stored:
        raise _invalid(
            f"/{field}", f"is {stored.isoformat()} and cannot change (sent {sent.isoformat()})"
        )


def _path_id(value: str, what: str) -> uuid.UUID:
    """An id from the URL; one that cannot exist is simply not found."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise missing(what, value) from None


class _Reader:
    """Turns the thesis's documents into domain writes in one transaction. Entities are
    created through it, so plugins see them as they see the project API's writes."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.session = tx.session

    def _existing(self, row_type: Any, body: Doc, pointer: str) -> tuple[uuid.UUID | None, bool]:
        """The id an embedded object carries and whether that entity is already stored."""
        if body.get("id") is None:
            return None, False
        entity_id = _uuid(body["id"], f"{pointer}/id")
        return entity_id, self.session.get(row_type, entity_id) is not None

    # ------------------------------------------------------------ artifacts

    def artifact_create(self, body: Doc, pointer: str) -> m.ArtifactCreate:
        base = _pick(body, ARTIFACT_BASE)
        base.setdefault("kind", DEFAULT_ARTIFACT_KIND)
        attributes = {k: v for k, v in body.items() if k not in ARTIFACT_BASE and v is not None}
        if base["kind"] == MODEL_KIND:
            attributes = _model_from_thesis(attributes)
        kind = (
            read_latest_kind(self.session, base["kind"]) if isinstance(base["kind"], str) else None
        )
        for prop in rules.reference_properties(kind.schema_ if kind else {}):
            value = attributes.get(prop)
            if isinstance(value, dict):  # the referenced artifact as an object
                where = f"{pointer}/{prop}/id"
                if value.get("id") is None:
                    raise _invalid(where, "a referenced artifact must carry its id")
                attributes[prop] = str(_uuid(value["id"], where))
        return _validate(
            m.ArtifactCreate,
            {**base, "attributes": attributes},
            pointer,
            required=REQUIRED,
            flatten="attributes",
        )

    def artifact(self, value: Any, pointer: str) -> uuid.UUID:
        """The id of an embedded artifact: linked if it exists, created if it does not."""
        body = _object(value, pointer)
        artifact_id, exists = self._existing(ArtifactRow, body, pointer)
        if exists:
            assert artifact_id is not None
            return artifact_id
        data = self.artifact_create(body, pointer)
        try:
            return self.tx.create("artifact", data).id  # type: ignore[no-any-return]
        except ModeltrailError as exc:
            raise _rebased(exc, pointer) from None

    def artifacts(self, value: Any, pointer: str) -> list[uuid.UUID]:
        return [self.artifact(a, f"{pointer}/{i}") for i, a in enumerate(_array(value, pointer))]

    # ------------------------------------------------------------ executables and pipelines

    def executable(self, value: Any, pointer: str) -> uuid.UUID:
        body = _object(value, pointer)
        executable_id, exists = self._existing(ExecutableRow, body, pointer)
        if exists:
            assert executable_id is not None
            return executable_id
        fields = _pick(body, _EXECUTABLE)
        data = _validate(m.ExecutableCreate, fields, pointer, required=REQUIRED)
        if executable_id is None:
            # Without an id, the same name, version and uri is the same step's code (FR6).
            return self.shared_executable(data)
        return self.tx.create("executable", data).id  # type: ignore[no-any-return]

    def shared_executable(self, data: m.ExecutableCreate) -> uuid.UUID:
        found = entities.find_executable(self.session, data)
        return found.id if found else self.tx.create("executable", data).id

    def pipeline(self, value: Any, pointer: str) -> uuid.UUID:
        body = _object(value, pointer)
        pipeline_id, exists = self._existing(PipelineRow, body, pointer)
        if exists:
            assert pipeline_id is not None
            return pipeline_id
        fields = _pick(body, _PIPELINE)
        _validate(m.PipelineCreate, fields, pointer, required=REQUIRED)
        listed = _array(body.get("executables") or [], f"{pointer}/executables")
        fields["executables"] = [
            self.executable(e, f"{pointer}/executables/{i}") for i, e in enumerate(listed)
        ]
        data = _validate(m.PipelineCreate, fields, pointer)
        return self.tx.create("pipeline", data).id  # type: ignore[no-any-return]

    # ------------------------------------------------------------ experiments, runs, executions
    #
    # The plain fields are checked first, all together and before anything is written; the
    # embedded objects are resolved after that.

    def members(self, body: Doc, name: str, owner: uuid.UUID | None) -> None:
        """An experiment's ``runs`` and a run's ``executions`` are what a read answers, not a
        way to write them: each is created through its own endpoint (thesis 7.2.1: "POST
        /experiments/runs/{runId}/executions ... is used to add a new execution to an existing
        run"). They are refused, never dropped.

        So that a document read can be sent back, an update (``owner``, the entity's id)
        accepts the members it lists by the id of one the entity already holds; as with any
        embedded object named by id, that links it and changes nothing in it."""
        row_type, column, parent, route = _MEMBERS[name]
        if body.get(name) is None:
            return
        listed = _array(body[name], f"/{name}")
        what = name[:-1]
        if owner is None:
            if listed:
                raise _invalid(
                    f"/{name}",
                    f"{name} are not created with their {parent}: create each {what} through"
                    f" {route} once the {parent} exists",
                )
            return
        held = set(self.session.scalars(select(row_type.id).where(column == owner)))
        errors = []
        for i, item in enumerate(listed):
            if not isinstance(item, dict):
                errors.append({"pointer": f"/{name}/{i}", "detail": "must be a JSON object"})
                continue
            try:
                member = uuid.UUID(str(item.get("id")))
            except ValueError:
                member = None
            if member not in held:
                errors.append(
                    {
                        "pointer": f"/{name}/{i}",
                        "detail": f"names no {what} of this {parent} by its id: create a {what}"
                        f" through {route}, change one through its own PUT",
                    }
                )
        if errors:
            where = ", ".join(x["pointer"] for x in errors[:5])
            raise InvalidInput(
                f"{len(errors)} {name} cannot be written here: {where}", errors=errors
            )

    def experiment(self, body: Doc, *, stored: ExperimentRow | None = None) -> Doc:
        """The fields of an experiment to create, or to change ``stored`` with."""
        self.members(body, "runs", stored.id if stored else None)
        if stored is None:
            return _pick(body, _EXPERIMENT)
        _unchanged_time(body, "createTime", stored.create_time)
        return _pick(body, _EXPERIMENT_UPDATE)

    def run(self, body: Doc, *, stored: RunRow | None = None) -> Doc:
        """The fields of a run to create, or to change ``stored`` with."""
        create = stored is None
        fields = _pick(body, _RUN_UPDATE)
        _validate(m.RunUpdate, fields, "", required=REQUIRED if create else ())
        self.members(body, "executions", stored.id if stored else None)
        if stored is not None:
            _unchanged_time(body, "createTime", stored.create_time)
        if create:
            fields.update(_pick(body, ("id", "createTime")))
        if body.get("event") is not None:
            fields["event"] = self.artifact(body["event"], "/event")
        if body.get("pipeline") is not None:
            fields["pipeline"] = self.pipeline(body["pipeline"], "/pipeline")
        return fields

    def execution(self, body: Doc, *, create: bool) -> Doc:
        fields = _pick(body, _EXECUTION_UPDATE)
        _validate(m.ExecutionUpdate, fields, "", required=(*REQUIRED, "kind") if create else ())
        if create:
            fields.update(_pick(body, ("id",)))
        if body.get("executable") is not None:
            fields["executable"] = self.executable(body["executable"], "/executable")
        elif create:
            # The thesis's enrichment (7.2.1): no execution without its executable.
            derived = m.ExecutableCreate(name=fields["name"], version=fields["version"])
            fields["executable"] = self.shared_executable(derived)
        for name in ("inputArtifacts", "outputArtifacts"):
            if body.get(name) is not None:
                fields[name] = self.artifacts(body[name], f"/{name}")
        if body.get("successors") is not None:
            listed = _array(body["successors"], "/successors")
            fields["successors"] = [
                _uuid(_object(s, f"/successors/{i}").get("id"), f"/successors/{i}/id")
                for i, s in enumerate(listed)
            ]
        return fields


def _body(value: Any) -> Doc:
    return _object(value, "")


# ================================================================ writing the thesis's documents


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class _Writer:
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
            attributes = _model_to_thesis(attributes)
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
        edges = executions.edges_of(self.session, [r.id for r in rows])
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
                doc["executions"] = self.executions(_run_executions(self.session, r.id))
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


def _run_executions(session: Session, run_id: uuid.UUID) -> list[ExecutionRow]:
    rows = session.scalars(select(ExecutionRow).where(ExecutionRow.run_id == run_id))
    return sorted(rows, key=lambda r: (r.start_time or r.create_time, r.create_time, str(r.id)))


def _experiment_runs(session: Session, experiment_id: uuid.UUID) -> list[RunRow]:
    return list(
        session.scalars(
            select(RunRow)
            .where(RunRow.experiment_id == experiment_id)
            .order_by(RunRow.create_time, RunRow.id)
        )
    )


def _get(session: Session, row_type: Any, value: str, what: str) -> Any:
    return get_or_404(session, row_type, _path_id(value, what), what)


# ================================================================ the operations
#
# Writes take one transaction of the store (``Metadata.transaction``): entities are created
# and changed through it, under the store's kind policy and with the plugins' hooks, as on the
# project API; each answers the document as it is now stored. Reads take a session.


def add_experiment(tx: Transaction, body: Any) -> Doc:
    fields = _Reader(tx).experiment(_body(body))
    created = tx.create("experiment", _validate(m.ExperimentCreate, fields, "", required=REQUIRED))
    return get_experiment(tx.session, str(created.id))


def list_experiments(session: Session) -> list[Doc]:
    query = select(ExperimentRow).order_by(ExperimentRow.create_time, ExperimentRow.id)
    return _Writer(session).experiments(list(session.scalars(query)))


def get_experiment(session: Session, experiment: str) -> Doc:
    return _Writer(session).experiments([_get(session, ExperimentRow, experiment, "experiment")])[0]


def update_experiment(tx: Transaction, experiment: str, body: Any) -> Doc:
    row = _get(tx.session, ExperimentRow, experiment, "experiment")
    fields = _Reader(tx).experiment(_check_id(body, row.id), stored=row)
    tx.update("experiment", row.id, _validate(m.ExperimentUpdate, fields, ""))
    return get_experiment(tx.session, experiment)


def add_run(tx: Transaction, experiment: str, body: Any) -> Doc:
    exp = _get(tx.session, ExperimentRow, experiment, "experiment")
    fields = _Reader(tx).run(_body(body))
    created = tx.create("run", _validate(m.RunCreate, {**fields, "experiment": exp.id}, ""))
    return get_run(tx.session, str(created.id))


def list_runs(session: Session, experiment: str) -> list[Doc]:
    exp = _get(session, ExperimentRow, experiment, "experiment")
    return _Writer(session).runs(_experiment_runs(session, exp.id))


def get_run(session: Session, run: str) -> Doc:
    return _Writer(session).runs([_get(session, RunRow, run, "run")])[0]


def update_run(tx: Transaction, run: str, body: Any) -> Doc:
    row = _get(tx.session, RunRow, run, "run")
    fields = _Reader(tx).run(_check_id(body, row.id), stored=row)
    tx.update("run", row.id, _validate(m.RunUpdate, fields, ""))
    return get_run(tx.session, run)


def add_execution(tx: Transaction, run: str, body: Any) -> Doc:
    run_row = _get(tx.session, RunRow, run, "run")
    fields = _Reader(tx).execution(_body(body), create=True)
    created = tx.create(
        "execution", _validate(m.ExecutionCreate, {**fields, "run": run_row.id}, "")
    )
    return get_execution(tx.session, str(created.id))


def list_executions(session: Session, run: str) -> list[Doc]:
    row = _get(session, RunRow, run, "run")
    return _Writer(session).executions(_run_executions(session, row.id))


def get_execution(session: Session, execution: str) -> Doc:
    return _Writer(session).executions([_get(session, ExecutionRow, execution, "execution")])[0]


def update_execution(tx: Transaction, execution: str, body: Any) -> Doc:
    session = tx.session
    row = _get(session, ExecutionRow, execution, "execution")
    fields = _Reader(tx).execution(_check_id(body, row.id), create=False)
    if fields.pop("executable", row.executable_id) != row.executable_id:
        raise _invalid("/executable", "an execution's executable cannot change; post a new one")
    # A PUT adds relations and never drops one: a client that sends back the document it read
    # before it added artifacts must not erase them (removing is PATCH /api/v1/executions/{id}).
    current = executions.read_execution(session, row.id).model_dump(by_alias=True)
    for name in ("inputArtifacts", "outputArtifacts", "successors"):
        if name in fields:
            fields[name] = list(dict.fromkeys([*current[name], *fields[name]]))
    tx.update("execution", row.id, _validate(m.ExecutionUpdate, fields, ""))
    return get_execution(session, execution)


def add_output_artifact(tx: Transaction, execution: str, body: Any) -> Doc:
    row = _get(tx.session, ExecutionRow, execution, "execution")
    artifact_id = _Reader(tx).artifact(_body(body), "")
    try:
        executions.add_edges(tx.session, row.id, outputs=[artifact_id])
    except ModeltrailError as exc:  # about the one output attached: the artifact sent
        exc.errors = [{**e, "pointer": "/"} for e in exc.errors]
        raise
    return get_artifact(tx.session, str(artifact_id))


def execution_artifacts(session: Session, execution: str) -> list[Doc]:
    """The artifacts the execution wrote (what POST .../artifacts added)."""
    row = _get(session, ExecutionRow, execution, "execution")
    outputs = executions.edges_of(session, [row.id])["outputs"].get(row.id, [])
    return _Writer(session).artifacts(outputs)


def get_artifact(session: Session, artifact: str) -> Doc:
    return _Writer(session).artifact(_get(session, ArtifactRow, artifact, "artifact"))


def run_artifacts(session: Session, run: str) -> list[Doc]:
    row = _get(session, RunRow, run, "run")
    return _artifacts_of_runs(session, [row])


def experiment_artifacts(session: Session, experiment: str) -> list[Doc]:
    exp = _get(session, ExperimentRow, experiment, "experiment")
    return _artifacts_of_runs(session, _experiment_runs(session, exp.id))


def _artifacts_of_runs(session: Session, runs: list[RunRow]) -> list[Doc]:
    """Every artifact the runs read or wrote, and the events that triggered them, oldest first."""
    in_runs = select(ExecutionRow.id).where(ExecutionRow.run_id.in_([r.id for r in runs]))
    ids = {r.event_id for r in runs if r.event_id is not None}
    for table in (ExecutionInputRow, ExecutionOutputRow):
        ids.update(
            session.scalars(select(table.artifact_id).where(table.execution_id.in_(in_runs)))
        )
    rows = session.scalars(select(ArtifactRow).where(ArtifactRow.id.in_(ids)))
    writer = _Writer(session)
    return [writer.artifact(r) for r in sorted(rows, key=lambda r: (r.create_time, str(r.id)))]


def _check_id(body: Any, path_id: uuid.UUID) -> Doc:
    doc = _body(body)
    if doc.get("id") is not None and _uuid(doc["id"], "/id") != path_id:
        raise _invalid("/id", f"the body is about {doc['id']}, the path about {path_id}")
    return doc


# ================================================================ workflow (FR3) and trace (FR10)


def _following(
    rows: list[ExecutionRow], edges: dict[str, dict[uuid.UUID, list[uuid.UUID]]]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Which executions of one run follow which: the successors the client gave, and for an
    execution without any, the executions that read one of its outputs."""
    ids = {r.id for r in rows}
    readers: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for r in rows:
        for a in edges["inputs"].get(r.id, []):
            readers[a].append(r.id)
    following: dict[uuid.UUID, list[uuid.UUID]] = {}
    for r in rows:
        given = [s for s in edges["successors"].get(r.id, []) if s in ids]
        flow = [x for a in edges["outputs"].get(r.id, []) for x in readers[a] if x != r.id]
        following[r.id] = list(dict.fromkeys(given or flow))
    return _without_cycles(rows, following)


def _without_cycles(
    rows: list[ExecutionRow], following: dict[uuid.UUID, list[uuid.UUID]]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Drop the edges that would close a cycle.

    Successors and artifact flow are each acyclic (the store refuses cycles), but mixing the
    two can close one: A names B as successor while B, without successors, wrote what A read.
    The edge found last in time order gives way.
    """
    state: dict[uuid.UUID, int] = {}  # 1: on the current path, 2: done
    for start in (r.id for r in rows):
        if start in state:
            continue
        state[start] = 1
        stack = [(start, iter(list(following[start])))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                following[node].remove(child)
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(list(following[child]))))
    return following


def _roots(
    rows: list[ExecutionRow], following: dict[uuid.UUID, list[uuid.UUID]]
) -> list[uuid.UUID]:
    followed = {c for cs in following.values() for c in cs}
    return [r.id for r in rows if r.id not in followed]  # rows are in time order


def _depths(
    rows: list[ExecutionRow], following: dict[uuid.UUID, list[uuid.UUID]]
) -> dict[uuid.UUID, int]:
    """Each execution's step in its pipeline: the longest path to it from a first execution."""
    indegree = {r.id: 0 for r in rows}
    for children in following.values():
        for c in children:
            indegree[c] += 1
    depth = dict.fromkeys(indegree, 0)
    ready = [i for i, d in indegree.items() if d == 0]
    while ready:
        node = ready.pop()
        for c in following[node]:
            depth[c] = max(depth[c], depth[node] + 1)
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
    return depth


def workflow(session: Session, run: str) -> Doc:
    """The run's executions as a DAG rooted at its first execution.

    The thesis's workflow has one root; executions that follow no other execution besides the
    first one are shown as its children, since the first execution began the run.
    """
    row = _get(session, RunRow, run, "run")
    rows = _run_executions(session, row.id)
    doc: Doc = {"id": str(uuid.uuid5(row.id, "workflow")), "runId": str(row.id), "root": None}
    if not rows:
        return doc
    following = _following(rows, executions.edges_of(session, [r.id for r in rows]))
    first, *other_roots = _roots(rows, following)
    following[first] = list(dict.fromkeys([*following[first], *other_roots]))

    # A node shared by several parents appears under each: count the tree before building it.
    depth = _depths(rows, following)
    sizes: dict[uuid.UUID, int] = {}
    for n in sorted(following, key=lambda n: -depth[n]):  # children before their parents
        sizes[n] = 1 + sum(sizes[c] for c in following[n])
    if sizes[first] > MAX_WORKFLOW_NODES or max(depth.values()) > MAX_WORKFLOW_DEPTH:
        raise InvalidInput(
            f"the workflow of run {row.id} is too large to show as a tree ({sizes[first]} nodes, "
            f"{max(depth.values()) + 1} levels); read GET /api/v1/runs/{row.id}/dag instead"
        )

    nodes: dict[uuid.UUID, Doc] = {}

    def node(execution_id: uuid.UUID) -> Doc:
        if execution_id not in nodes:
            nodes[execution_id] = {
                "nodeId": str(execution_id),
                "children": [node(c) for c in following[execution_id]],
            }
        return nodes[execution_id]

    doc["root"] = node(first)
    return doc


def trace(session: Session, experiment: str) -> Doc:
    """All runs of an experiment, grouped by execution type in pipeline order, with equal
    artifacts (equal fingerprints) merged into one trace artifact that names every run it
    appeared in (thesis 7.2.1, Figure 7.1).

    A type lists the artifacts its executions wrote, and those they read that no execution of
    the experiment wrote (the data that entered the pipeline there).
    """
    exp = _get(session, ExperimentRow, experiment, "experiment")
    runs = _experiment_runs(session, exp.id)
    run_order = {r.id: i for i, r in enumerate(runs)}
    rows = sorted(
        (e for r in runs for e in _run_executions(session, r.id)), key=lambda e: run_order[e.run_id]
    )
    edges = executions.edges_of(session, [e.id for e in rows])
    produced = {a for ids in edges["outputs"].values() for a in ids}

    # Pipeline order of a type: its earliest step in any run, then its first appearance.
    step: dict[uuid.UUID, int] = {}
    for run in runs:
        run_rows = [e for e in rows if e.run_id == run.id]
        step.update(_depths(run_rows, _following(run_rows, edges)))
    types: dict[str, list[ExecutionRow]] = defaultdict(list)
    for e in rows:
        types[e.kind].append(e)
    ordered = sorted(types, key=lambda k: (min(step[e.id] for e in types[k]), list(types).index(k)))

    artifact_rows = {
        a.id: a
        for a in session.scalars(
            select(ArtifactRow).where(
                ArtifactRow.id.in_(produced | {a for ids in edges["inputs"].values() for a in ids})
            )
        )
    }
    execution_types = []
    for order, kind in enumerate(ordered, start=1):
        merged: dict[str, Doc] = {}
        for e in types[kind]:
            entered = [a for a in edges["inputs"].get(e.id, []) if a not in produced]
            for artifact_id in [*entered, *edges["outputs"].get(e.id, [])]:
                a = artifact_rows[artifact_id]
                item = merged.setdefault(
                    a.fingerprint, {"artifactId": str(a.id), "name": a.name, "runIds": []}
                )
                if str(e.run_id) not in item["runIds"]:
                    item["runIds"].append(str(e.run_id))
        execution_types.append(
            {
                "executionId": str(types[kind][0].id),
                "name": kind,
                "order": order,
                "artifacts": list(merged.values()),
            }
        )
    return {
        "id": str(uuid.uuid5(exp.id, "trace")),
        "experimentId": str(exp.id),
        "executionTypes": execution_types,
    }
