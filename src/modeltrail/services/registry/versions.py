"""Versions of registered models: register an artifact, read, list with metrics, change,
delete."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain import limits
from modeltrail.domain.errors import Conflict, InvalidInput, NotFound
from modeltrail.domain.fingerprint import is_trigger
from modeltrail.domain.registry import (
    ModelVersion,
    ModelVersionCreate,
    ModelVersionUpdate,
    RegisteredModel,
    model_name_problem,
)
from modeltrail.services.access import can_read_artifact, scope_of
from modeltrail.services.common import missing
from modeltrail.services.registry import visible
from modeltrail.services.registry.models import (
    check_tag_key,
    ensure_model,
    get_model_row,
    remove_tag,
    set_tag,
    version_missing,
)
from modeltrail.store import registry as store
from modeltrail.store import version_pages as pages
from modeltrail.store.tables import (
    ArtifactRow,
    ModelAliasRow,
    ModelVersionRow,
    RegisteredModelRow,
    utcnow,
)


def get_version_row(session: Session, model: RegisteredModelRow, version: int) -> ModelVersionRow:
    row = store.read_version(session, model_id=model.id, version=version)
    if row is None:
        raise version_missing(model.name, version)
    return row


def _dashed(hex_id: str) -> str:
    """An id read as 32 hex digits in the text the API shows (``str(uuid.UUID(hex=...))``
    without making the ``UUID``)."""
    return f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"


# Where each of the 32 hex digits of an id goes in its dashed text (8-4-4-4-12).
_DASHED_PLACES = tuple(k + sum(k >= d for d in (8, 12, 16, 20)) for k in range(32))


def _dashed_each(hex_ids: Sequence[str | None]) -> list[str | None]:
    """``_dashed`` of each id (None stays None), all at once: the ids are laid side by side
    in one buffer and each digit's column is moved to its place in one slice, so the work
    per id is splitting the result. Dashing a page's five thousand ids one slice at a time
    was half of building its documents."""
    present = [i for i in hex_ids if i is not None]
    if not set(map(len, present)) <= {32}:  # not all 32 digits: each one by itself
        return [None if i is None else _dashed(i) for i in hex_ids]
    digits = "".join(present).encode("ascii")
    count = len(present)
    # Each dashed id and a space after it: 37 bytes.
    out = bytearray(b"-") * (37 * count)
    for k, place in enumerate(_DASHED_PLACES):
        out[place::37] = digits[k::32]
    out[36::37] = b" " * count
    each = iter(out.decode("ascii").split(" "))
    return [None if i is None else next(each) for i in hex_ids]


def _summary(row: Any, at: int) -> dict[str, Any]:
    """The artifact whose six columns start at ``at`` of ``row``."""
    return {
        "id": _dashed(row[at]),
        "name": row[at + 1],
        "version": row[at + 2],
        "kind": row[at + 3],
        "uri": row[at + 4],
        "fingerprint": row[at + 5],
    }


def _actor(actor_hex: str | None, name: str | None) -> dict[str, Any] | None:
    if name is None:
        return None
    return {"name": name, "id": None if actor_hex is None else _dashed(actor_hex)}


def version_documents(
    session: Session,
    model: RegisteredModelRow,
    rows: list[Any],
    *,
    metrics: bool = True,
) -> list[dict[str, Any]]:
    """The versions (rows of ``pages.list_versions``) as the API shows them
    (``ModelVersion``'s JSON form): each with its artifact, the run and step that made it,
    what that step read, its aliases and (``metrics``) the metrics recorded of its artifact.
    Three statements, whatever the number of versions.

    Built as plain documents from what the store holds, which needs no checking: a page of
    a thousand versions is answered without making and validating a model for each part of
    each version."""
    return _documents(session, {model.id: model.name}, rows, metrics=metrics)


# The ids of a version's row that its document shows: its own, its artifact's, its step's,
# its run's and its experiment's (in the order ``_documents`` takes them).
_SHOWN_IDS = (pages.V_ID, pages.V_ARTIFACT, pages.V_EXECUTION, pages.V_RUN, pages.V_EXPERIMENT)


def _documents(
    session: Session, names: dict[uuid.UUID, str], rows: list[Any], *, metrics: bool
) -> list[dict[str, Any]]:
    """``version_documents`` of versions of the models of ``names`` (id -> name)."""
    artifact_ids = [r[pages.V_ARTIFACT] for r in rows]
    measured = pages.metrics_of(session, artifact_ids) if metrics else {}
    read = pages.inputs_of(session, [r[pages.V_EXECUTION] for r in rows if r[pages.V_EXECUTION]])
    aliases: dict[tuple[str, int], list[str]] = {}
    for model_id, found in store.aliases_of(session, list(names)).items():
        for a in found:
            if a.version is not None:
                aliases.setdefault((model_id.hex, a.version), []).append(a.alias)
    named = {model_id.hex: name for model_id, name in names.items()}
    loads = orjson.loads
    count = len(rows)
    # The five ids each version shows, column after column, dashed in one go.
    dashed = _dashed_each([row[at] for at in _SHOWN_IDS for row in rows])
    out = []
    # Each row unpacked at once, in the order of the ``V_*`` positions: a page is a thousand
    # rows of two dozen columns, and reading each by an index named in another module is a
    # lookup more per column.
    for (
        id_text,
        artifact_text,
        execution_text,
        run_text,
        experiment_text,
        (
            _,
            version,
            description,
            tags,
            create_time,
            update_time,
            created_by_id,
            created_by_name,
            updated_by_id,
            updated_by_name,
            artifact,
            artifact_name,
            artifact_version,
            artifact_kind,
            artifact_uri,
            artifact_fingerprint,
            execution,
            _run,
            run_name,
            run_status,
            _experiment,
            model,
        ),
    ) in zip(
        dashed[:count],
        dashed[count : 2 * count],
        dashed[2 * count : 3 * count],
        dashed[3 * count : 4 * count],
        dashed[4 * count :],
        rows,
        strict=True,
    ):
        read_by_step = read[execution] if execution else None
        out.append(
            {
                "id": id_text,
                "model": named[model],
                "version": version,
                "artifact": {
                    "id": artifact_text,
                    "name": artifact_name,
                    "version": artifact_version,
                    "kind": artifact_kind,
                    "uri": artifact_uri,
                    "fingerprint": artifact_fingerprint,
                },
                "run": {
                    "id": run_text,
                    "name": run_name,
                    "status": run_status,
                    "experiment": experiment_text,
                }
                if execution
                else None,
                "execution": execution_text,
                "inputs": [
                    _summary(i, pages.I_ARTIFACT)
                    for i in read_by_step
                    if not is_trigger(i[pages.I_ARTIFACT + 3])
                ]
                if read_by_step
                else [],
                "description": description,
                "tags": loads(tags) if tags else {},
                "aliases": aliases.get((model, version), []),
                "metrics": measured.get(artifact, {}) if metrics else None,
                "createTime": create_time,
                "updateTime": update_time,
                "createdBy": None
                if created_by_name is None
                else _actor(created_by_id, created_by_name),
                "updatedBy": None
                if updated_by_name is None
                else _actor(updated_by_id, updated_by_name),
            }
        )
    return out


def versions_by_ids(
    session: Session,
    version_ids: Sequence[uuid.UUID],
    names: dict[uuid.UUID, str],
    *,
    metrics: bool = True,
) -> list[ModelVersion]:
    """The versions of ``version_ids`` in that order, of the models of ``names`` (id ->
    name), as ``versions_of_models`` answers them: a fixed number of statements, whatever
    their number. The caller has chosen them, the request's reading rights included."""
    rows = pages.read_versions(session, version_ids)
    return [
        ModelVersion.model_validate(doc)
        for doc in _documents(session, names, rows, metrics=metrics)
    ]


def newest_versions(
    session: Session, models: Sequence[RegisteredModel], *, metrics: bool = True
) -> dict[str, ModelVersion]:
    """The newest version the request may read of each of ``models``, by model name (a
    model without one is left out): a fixed number of statements, whatever the number of
    models."""
    names = {m.id: m.name for m in models if m.latest_version is not None}
    rows = pages.read_newest_versions(session, list(names), visible.readable_experiments(session))
    return {
        doc["model"]: ModelVersion.model_validate(doc)
        for doc in _documents(session, names, rows, metrics=metrics)
    }


def versions_of_artifact(
    session: Session, artifact_id: uuid.UUID, *, metrics: bool = False
) -> list[ModelVersion]:
    """The versions ``artifact_id`` is registered as, in every model (by model name, the
    newest version first), each with the aliases that point at it; none for an artifact that
    is registered nowhere. 404 for an artifact that is not there, and for one the request may
    not read, as for the artifact itself. A fixed number of statements."""
    if session.get(ArtifactRow, artifact_id) is None:
        raise missing("artifact", artifact_id)
    scope = scope_of(session)
    if scope is not None and not can_read_artifact(session, scope, artifact_id):
        raise missing("artifact", artifact_id)
    found = store.versions_of_artifact(session, artifact_id=artifact_id)
    names = {model_id: name for _, model_id, name in found}
    return versions_by_ids(session, [v for v, _, _ in found], names, metrics=metrics)


def versions_of_models(
    session: Session, names: Sequence[str], *, limit: int, metrics: bool = True
) -> list[ModelVersion]:
    """Up to ``limit`` versions of each model of ``names``, as ``list_versions`` answers its
    first page of each, one model after another in the order of ``names`` (a name given twice
    counts once); a name of no model,
    or of one with no version the request may read, adds none. A fixed number of statements,
    whatever the number of models and versions."""
    wanted = [n for n in dict.fromkeys(names) if model_name_problem(n) is None]
    found = {row.id: row.name for row in store.read_models(session, wanted)}
    rows = pages.read_versions_of_models(
        session, list(found), limit, visible.readable_experiments(session)
    )
    by_model: dict[str, list[ModelVersion]] = {}
    for doc in _documents(session, found, rows, metrics=metrics):
        by_model.setdefault(doc["model"], []).append(ModelVersion.model_validate(doc))
    return [v for name in wanted for v in by_model.get(name, [])]


def version_document(
    session: Session, model: RegisteredModelRow, version: int, *, metrics: bool = True
) -> dict[str, Any]:
    """One version of ``model`` as the API shows it; 404 if it has none of that number."""
    row = pages.read_version_summary(session, model_id=model.id, version=version)
    if row is None:
        raise version_missing(model.name, version)
    return version_documents(session, model, [row], metrics=metrics)[0]


def to_version(session: Session, model: RegisteredModelRow, version: int) -> ModelVersion:
    """``version_document`` as a ``ModelVersion`` model."""
    return ModelVersion.model_validate(version_document(session, model, version))


def _writable_row(session: Session, model: RegisteredModelRow, version: int) -> ModelVersionRow:
    """The version, to be changed: 404 where the request may not read it, 403 where it may
    not write it."""
    visible.require_writable_version(session, model, version)
    return get_version_row(session, model, version)


def create_version(
    session: Session, name: str, data: ModelVersionCreate, *, create_model: bool = False
) -> tuple[ModelVersion, bool]:
    """Register ``data.artifact`` as the model's next version; ``create_model``: register
    the model too if it is not. An artifact already a version of the model answers that
    version (``False``: nothing new), so a retried registration makes no second version."""
    model = ensure_model(session, name) if create_model else get_model_row(session, name, lock=True)
    if session.get(ArtifactRow, data.artifact) is None:
        raise InvalidInput(
            f"artifact {data.artifact} does not exist",
            errors=[{"pointer": "/artifact", "detail": "no such artifact"}],
        )
    visible.require_writable_artifact(session, data.artifact)
    existing = store.version_of_artifact(session, model_id=model.id, artifact_id=data.artifact)
    if existing is not None:
        return to_version(session, model, existing.version), False
    model.last_version += 1
    now = utcnow()
    row = ModelVersionRow(
        model_id=model.id,
        version=model.last_version,
        artifact_id=data.artifact,
        description=data.description,
        tags=dict(data.tags),
        create_time=now,
        update_time=now,
    )
    model.update_time = now
    session.add(row)
    session.flush()
    return to_version(session, model, row.version), True


def read_version(session: Session, name: str, version: int) -> ModelVersion:
    model, seen = visible.seen_model(session, name)
    if not visible.sees(seen, version):
        raise version_missing(name, version)
    return to_version(session, model, version)


def newest_version(session: Session, model: RegisteredModelRow, seen: set[int] | None) -> int:
    """The number of the model's newest version of those the request may read (``seen``,
    None: all); 404 when it has none."""
    if seen is None:
        row = store.latest_version(session, model_id=model.id)
        newest = None if row is None else row.version
    else:
        newest = max(seen, default=None)
    if newest is None:
        raise NotFound(f"model '{model.name}' has no versions yet", entity="model version")
    return newest


def latest_version(session: Session, name: str) -> ModelVersion:
    model, seen = visible.seen_model(session, name)
    return to_version(session, model, newest_version(session, model, seen))


def list_versions(
    session: Session,
    name: str,
    *,
    limit: int = limits.DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
    metrics: bool = True,
) -> dict[str, Any]:
    """A page of the model's versions, newest first, as the API shows it (``Page[ModelVersion]``'s
    JSON form); ``cursor`` is the ``nextCursor`` of the page before (the number of its last
    version). A token with grants on single experiments pages through the versions it may
    read."""
    model, _ = visible.seen_model(session, name)
    before: int | None = None
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 10:
            raise InvalidInput(
                "the cursor is not one this server issued",
                errors=[{"pointer": "/cursor", "in": "query", "detail": "not a cursor"}],
            )
        before = int(cursor)
    rows = pages.list_versions(
        session,
        model_id=model.id,
        before=before,
        limit=limit + 1,
        experiments=visible.readable_experiments(session),
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": version_documents(session, model, rows, metrics=metrics),
        "nextCursor": str(rows[-1][pages.V_VERSION]) if more and rows else None,
    }


def update_version(
    session: Session, name: str, version: int, data: ModelVersionUpdate
) -> ModelVersion:
    model, _ = visible.seen_model(session, name, lock=True)
    row = _writable_row(session, model, version)
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(row, field, dict(value) if field == "tags" else value)
    row.update_time = utcnow()
    session.flush()
    return to_version(session, model, row.version)


def set_version_tag(
    session: Session, name: str, version: int, key: str, value: str
) -> ModelVersion:
    check_tag_key(key)
    model, _ = visible.seen_model(session, name, lock=True)
    row = _writable_row(session, model, version)
    set_tag(row, key, value, holder="version")
    session.flush()
    return to_version(session, model, row.version)


def delete_version_tag(session: Session, name: str, version: int, key: str) -> ModelVersion:
    model, _ = visible.seen_model(session, name, lock=True)
    row = _writable_row(session, model, version)
    remove_tag(
        row, key, NotFound(f"version {version} of '{name}' has no tag '{key}'", entity="tag")
    )
    session.flush()
    return to_version(session, model, row.version)


def delete_version(session: Session, name: str, version: int) -> uuid.UUID:
    """Delete a version (its number is not given again) and answer the artifact it was.
    Refused (409) while an alias points at it: move or remove the alias first, so that
    nothing deployed loses its version."""
    model, _ = visible.seen_model(session, name, lock=True)
    row = _writable_row(session, model, version)
    held = session.scalars(
        select(ModelAliasRow.alias).where(
            ModelAliasRow.model_id == model.id, ModelAliasRow.version == version
        )
    ).all()
    if held:
        raise Conflict(
            f"version {version} of '{name}' cannot be deleted: alias(es) "
            f"{', '.join(held)} point at it; move or remove them first",
            aliases=list(held),
        )
    artifact = row.artifact_id
    session.delete(row)
    model.update_time = utcnow()
    session.flush()
    return artifact


def registrations_of(session: Session, artifact_id: uuid.UUID) -> list[dict[str, Any]]:
    """The model versions an artifact is, as ``{"model", "version"}``."""
    return [
        {"model": n, "version": v}
        for n, v, _ in store.versions_of_artifacts(session, [artifact_id])
    ]
