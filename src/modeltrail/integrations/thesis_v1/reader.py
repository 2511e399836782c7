"""Reading the thesis's documents: embedded objects that carry the id of an existing entity
are linked, the others are created; every field of an artifact that is not a base field is a
kind attribute; a property whose kind schema carries ``x-artifact-reference`` accepts the
referenced artifact as an object."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select

from modeltrail.domain import kinds as rules
from modeltrail.domain import limits
from modeltrail.domain import models as m
from modeltrail.domain.errors import InvalidInput, ModeltrailError
from modeltrail.integrations.thesis_v1.shapes import (
    ARTIFACT_BASE,
    DEFAULT_ARTIFACT_KIND,
    EXECUTABLE_FIELDS,
    EXECUTION_UPDATE,
    EXPERIMENT_FIELDS,
    EXPERIMENT_UPDATE,
    MEMBERS,
    MODEL_KIND,
    PIPELINE_FIELDS,
    REQUIRED,
    RUN_UPDATE,
    Doc,
    M,
    model_from_thesis,
)
from modeltrail.services.common import missing
from modeltrail.services.entities import executable
from modeltrail.store.kinds import read_latest_kind
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutableRow,
    ExperimentRow,
    PipelineRow,
    RunRow,
)

if TYPE_CHECKING:
    from modeltrail.services.metadata import Transaction


def invalid(pointer: str, detail: str) -> InvalidInput:
    return InvalidInput(
        f"{pointer or '/'}: {detail}", errors=[{"pointer": pointer or "/", "detail": detail}]
    )


def _object(value: Any, pointer: str) -> Doc:
    if not isinstance(value, dict):
        raise invalid(pointer, "must be a JSON object")
    return value


def _array(value: Any, pointer: str) -> list[Any]:
    if not isinstance(value, list):
        raise invalid(pointer, "must be a JSON array")
    if len(value) > limits.MAX_LIST:
        raise invalid(pointer, f"holds {len(value)} items; at most {limits.MAX_LIST} are allowed")
    return value


def _pick(body: Doc, fields: Iterable[str]) -> Doc:
    """The listed fields the body has; a null is an absent field (generated clients send
    nothing for an unset field, others send null)."""
    return {f: body[f] for f in fields if body.get(f) is not None}


def validate(
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


def as_uuid(value: Any, pointer: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise invalid(pointer, f"{value!r} is not an id (UUID)") from None


_TIME: TypeAdapter[datetime] = TypeAdapter(m.Timestamp)


def _unchanged_time(body: Doc, field: str, stored: datetime) -> None:
    """A time an update may send back but not change (an entity's ``createTime``)."""
    if body.get(field) is None:
        return
    try:
        sent = _TIME.validate_python(body[field])
    except ValidationError as exc:
        raise invalid(f"/{field}", exc.errors()[0]["msg"]) from None
    if sent != stored:
        raise invalid(
            f"/{field}", f"is {stored.isoformat()} and cannot change (sent {sent.isoformat()})"
        )


def path_id(value: str, what: str) -> uuid.UUID:
    """An id from the URL; one that cannot exist is simply not found."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise missing(what, value) from None


class Reader:
    """Turns the thesis's documents into domain writes in one transaction. Entities are
    created through it, so plugins see them as they see the project API's writes."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.session = tx.session

    def _existing(self, row_type: Any, body: Doc, pointer: str) -> tuple[uuid.UUID | None, bool]:
        """The id an embedded object carries and whether that entity is already stored."""
        if body.get("id") is None:
            return None, False
        entity_id = as_uuid(body["id"], f"{pointer}/id")
        return entity_id, self.session.get(row_type, entity_id) is not None

    # ------------------------------------------------------------ artifacts

    def artifact_create(self, body: Doc, pointer: str) -> m.ArtifactCreate:
        base = _pick(body, ARTIFACT_BASE)
        base.setdefault("kind", DEFAULT_ARTIFACT_KIND)
        attributes = {k: v for k, v in body.items() if k not in ARTIFACT_BASE and v is not None}
        if base["kind"] == MODEL_KIND:
            attributes = model_from_thesis(attributes)
        kind = (
            read_latest_kind(self.session, base["kind"]) if isinstance(base["kind"], str) else None
        )
        for prop in rules.reference_properties(kind.schema_ if kind else {}):
            value = attributes.get(prop)
            if isinstance(value, dict):  # the referenced artifact as an object
                where = f"{pointer}/{prop}/id"
                if value.get("id") is None:
                    raise invalid(where, "a referenced artifact must carry its id")
                attributes[prop] = str(as_uuid(value["id"], where))
        return validate(
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
        fields = _pick(body, EXECUTABLE_FIELDS)
        data = validate(m.ExecutableCreate, fields, pointer, required=REQUIRED)
        if executable_id is None:
            # Without an id, the same name, version and uri is the same step's code (FR6).
            return self.shared_executable(data)
        return self.tx.create("executable", data).id  # type: ignore[no-any-return]

    def shared_executable(self, data: m.ExecutableCreate) -> uuid.UUID:
        found = executable.find_executable(self.session, data)
        return found.id if found else self.tx.create("executable", data).id

    def pipeline(self, value: Any, pointer: str) -> uuid.UUID:
        body = _object(value, pointer)
        pipeline_id, exists = self._existing(PipelineRow, body, pointer)
        if exists:
            assert pipeline_id is not None
            return pipeline_id
        fields = _pick(body, PIPELINE_FIELDS)
        validate(m.PipelineCreate, fields, pointer, required=REQUIRED)
        listed = _array(body.get("executables") or [], f"{pointer}/executables")
        fields["executables"] = [
            self.executable(e, f"{pointer}/executables/{i}") for i, e in enumerate(listed)
        ]
        data = validate(m.PipelineCreate, fields, pointer)
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
        row_type, column, parent, route = MEMBERS[name]
        if body.get(name) is None:
            return
        listed = _array(body[name], f"/{name}")
        what = name[:-1]
        if owner is None:
            if listed:
                raise invalid(
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
            return _pick(body, EXPERIMENT_FIELDS)
        _unchanged_time(body, "createTime", stored.create_time)
        return _pick(body, EXPERIMENT_UPDATE)

    def run(self, body: Doc, *, stored: RunRow | None = None) -> Doc:
        """The fields of a run to create, or to change ``stored`` with."""
        create = stored is None
        fields = _pick(body, RUN_UPDATE)
        validate(m.RunUpdate, fields, "", required=REQUIRED if create else ())
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
        fields = _pick(body, EXECUTION_UPDATE)
        validate(m.ExecutionUpdate, fields, "", required=(*REQUIRED, "kind") if create else ())
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
                as_uuid(_object(s, f"/successors/{i}").get("id"), f"/successors/{i}/id")
                for i, s in enumerate(listed)
            ]
        return fields


def as_document(value: Any) -> Doc:
    return _object(value, "")
