"""Access of experiment-scoped tokens: which edges they may write, what graphs they may see.

The request's ``Scope`` (``modeltrail.domain.scope``) travels with its session
(``Metadata.scoped``); a request without one (no access control, or a token with a global
writer role) skips every check here at the cost of one dictionary lookup.

What "an artifact's experiment" is, is decided in ``modeltrail.store.scope``. The rules:

- **An edge is authorised on both of its ends.** The execution (or run, or referring
  artifact) it starts from must be writable. Its other end must be *writable* when the edge
  changes that end's upstream lineage, its provenance: an artifact made an output, an execution
  made a successor. It must be *readable* when the edge only records that the writable side
  used it: an artifact read as an input, a run's trigger event, the artifact a metric refers to,
  the execution whose outputs were reused. Such an edge grows the other end's downstream
  (impact), a true statement about the writer's own execution, which the other experiment's
  readers see redacted. An edge removed counts as an edge written.
- **An artifact created in the same request** is the request's own: it may be attached.
- **Answers are redacted, not refused**: an entity of an experiment the token may not read is
  replaced by ``{"id", "type", "redacted": true}`` (the graph keeps its shape) and the answer
  says how many it redacted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from modeltrail.domain.errors import Forbidden
from modeltrail.domain.scope import Scope
from modeltrail.store import scope as owners

SCOPE = "modeltrail.scope"
_CREATED = "modeltrail.created"


def scope_of(session: Session) -> Scope | None:
    """The scope the session's request runs under; None for an unscoped one."""
    scope: Scope | None = session.info.get(SCOPE)
    return scope


def bind_scope(session: Session, scope: Scope | None) -> None:
    if scope is not None:
        session.info[SCOPE] = scope


def note_created(session: Session, artifact_id: uuid.UUID) -> None:
    """Remember an artifact this request created: the request may attach it anywhere it writes."""
    if scope_of(session) is not None:
        session.info.setdefault(_CREATED, set()).add(artifact_id)


def note_writable(session: Session, artifact_id: uuid.UUID) -> None:
    """Let this request change and attach an artifact that an integration found writable by
    its own rule (MLflow's logged models are of the experiment they were made in, before any
    run writes them), as it may one it created."""
    note_created(session, artifact_id)


def _created(session: Session) -> set[uuid.UUID]:
    return session.info.get(_CREATED, set())  # type: ignore[no-any-return]


def _refuse(problems: list[dict[str, str]]) -> Forbidden:
    return Forbidden(
        problems[0]["detail"]
        + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        + "; nothing was written",
        errors=problems,
    )


def require_global_writer(scope: Scope | None, what: str) -> None:
    """Refuse ``what`` (a batch, an import) to a token that may write single experiments only:
    it names entities of any experiment in one go."""
    if scope is not None and scope.writable is not None:
        raise Forbidden(
            f"{what} needs a token with the global writer role; this token may write single "
            "experiments only",
            errors=[{"pointer": "/", "detail": "needs the global writer role"}],
        )


Change = tuple[Sequence[uuid.UUID], Sequence[uuid.UUID]]


def _changed(field: str, change: Change | None) -> list[tuple[str, uuid.UUID]]:
    """(pointer, id) of each id added to or removed from a list."""
    if change is None:
        return []
    before, after = change
    old, new = set(before), set(after)
    return [(f"/{field}/{i}", x) for i, x in enumerate(after) if x not in old] + [
        (f"/{field}", x) for x in before if x not in new
    ]


def check_execution(
    session: Session,
    run_id: uuid.UUID,
    *,
    inputs: Change | None = None,
    outputs: Change | None = None,
    successors: Change | None = None,
    reused_from: uuid.UUID | None = None,
) -> None:
    """Refuse the execution's edges (each ``(before, after)``) unless both ends allow them."""
    scope = scope_of(session)
    if scope is None:
        return
    problems: list[dict[str, str]] = []
    if not scope.can_write(owners.experiments_of_runs(session, [run_id]).get(run_id, set())):
        problems.append(
            {
                "pointer": "/run",
                "detail": f"run {run_id} is of an experiment this token may not write",
            }
        )
    read = _changed("inputArtifacts", inputs)
    written = _changed("outputArtifacts", outputs)
    artifacts = owners.experiments_of_artifacts(session, [a for _, a in read + written])
    created = _created(session)
    for pointer, artifact in read:
        if artifact not in created and not scope.can_read(artifacts.get(artifact, set())):
            problems.append(
                {
                    "pointer": pointer,
                    "detail": f"artifact {artifact} is of an experiment this token may not read",
                }
            )
    for pointer, artifact in written:
        if artifact not in created and not scope.can_write(artifacts.get(artifact, set())):
            problems.append(
                {
                    "pointer": pointer,
                    "detail": f"artifact {artifact} is of another experiment (or of none): "
                    "making it an output changes its lineage, which needs the writer role on "
                    "every experiment it belongs to",
                }
            )
    followed = _changed("successors", successors)
    steps = owners.experiments_of_executions(session, [e for _, e in followed])
    for pointer, execution in followed:
        if not scope.can_write(steps.get(execution, set())):
            problems.append(
                {
                    "pointer": pointer,
                    "detail": f"execution {execution} is of an experiment this token may not "
                    "write: a successor's lineage changes with the edge",
                }
            )
    if reused_from is not None and not scope.can_read(
        owners.experiments_of_executions(session, [reused_from]).get(reused_from, set())
    ):
        problems.append(
            {
                "pointer": "/reusedFrom",
                "detail": f"execution {reused_from} is of an experiment this token may not read",
            }
        )
    if problems:
        raise _refuse(problems)


def check_run(
    session: Session,
    experiment_id: uuid.UUID,
    *,
    event: tuple[uuid.UUID | None, uuid.UUID | None] | None = None,
) -> None:
    """Refuse a run's trigger edge (``(before, after)``) unless both ends allow it."""
    scope = scope_of(session)
    if scope is None:
        return
    problems: list[dict[str, str]] = []
    if not scope.can_write({experiment_id}):
        problems.append(
            {
                "pointer": "/experiment",
                "detail": f"experiment {experiment_id} is not writable with this token",
            }
        )
    if event is not None and event[0] != event[1]:
        changed = [e for e in event if e is not None]
        found = owners.experiments_of_artifacts(session, changed)
        for artifact in changed:
            if artifact not in _created(session) and not scope.can_read(found.get(artifact, set())):
                problems.append(
                    {
                        "pointer": "/event",
                        "detail": f"artifact {artifact} is of an experiment this token may not "
                        "read",
                    }
                )
    if problems:
        raise _refuse(problems)


def check_artifact(
    session: Session,
    artifact_id: uuid.UUID | None,
    references: dict[str, uuid.UUID],
) -> None:
    """Refuse a change of an artifact (``None``: one being created) that the token may not
    write, or references from it to artifacts it may not read."""
    scope = scope_of(session)
    if scope is None:
        return
    problems: list[dict[str, str]] = []
    targets = [t for t in references.values() if t not in _created(session)]
    found = owners.experiments_of_artifacts(
        session, [*targets, *([artifact_id] if artifact_id else [])]
    )
    if (
        artifact_id is not None
        and artifact_id not in _created(session)
        and not scope.can_write(found.get(artifact_id, set()))
    ):
        problems.append(
            {"pointer": "/", "detail": f"artifact {artifact_id} is not writable with this token"}
        )
    for prop, target in references.items():
        if target in targets and not scope.can_read(found.get(target, set())):
            problems.append(
                {
                    "pointer": f"/attributes/{prop}",
                    "detail": f"artifact {target} is of an experiment this token may not read",
                }
            )
    if problems:
        raise _refuse(problems)


def can_list(session: Session, row_type: Any) -> bool:
    """Whether the session may list ``row_type`` rows at all: a request with a global role
    any type, one scoped to experiments only the types that belong to an experiment."""
    scope = scope_of(session)
    return scope is None or scope.readable is None or owners.belongs_to_experiment(row_type)


def readable_rows(session: Session, row_type: Any, query: Any) -> Any:
    """``query`` (of ``row_type`` rows) keeping only what the session's scope may read;
    ``Forbidden`` for a type the session may not list (``can_list``)."""
    scope = scope_of(session)
    if scope is None or scope.readable is None:
        return query
    clause = owners.readable_clause(row_type, scope.readable)
    if clause is None:
        raise Forbidden("listing these needs a token with a global role")
    return query.where(clause)


def can_read_artifact(session: Session, scope: Scope, artifact_id: uuid.UUID) -> bool:
    """Whether ``scope`` may read the artifact (False for one that does not exist)."""
    found = owners.experiments_of(session, [artifact_id])
    return artifact_id in found and scope.can_read(found[artifact_id])


def can_write_artifact(session: Session, scope: Scope, artifact_id: uuid.UUID) -> bool:
    """Whether ``scope`` may change the artifact (False for one that does not exist)."""
    found = owners.experiments_of(session, [artifact_id])
    return artifact_id in found and scope.can_write(found[artifact_id])


# ---------------------------------------------------------------- redaction of answers

_KEEP = ("id", "type")
# Members that name an entity a dict is about without being its "id": a lineage diff's
# differences and aligned steps, the thesis API's trace. Such a dict keeps them, and only
# them, when one is redacted.
_ABOUT = (
    "beforeId",
    "afterId",
    "artifactExecution",
    "againstExecution",
    "artifactId",
    "executionId",
)
_ABOUT_KEEP = (*_ABOUT, "category", "derived")


def _ids(value: Any, into: set[str]) -> None:
    if isinstance(value, dict):
        for key in ("id", *_ABOUT):
            if isinstance(value.get(key), str):
                into.add(value[key])
        members = value.get("artifacts")
        if isinstance(members, list) and value.get("type") in ("artifact", "event"):
            into.update(m for m in members if isinstance(m, str))
        for v in value.values():
            _ids(v, into)
    elif isinstance(value, list):
        for v in value:
            _ids(v, into)


def hidden_ids(session: Session, scope: Scope, ids: Iterable[str]) -> set[str]:
    """Of ``ids`` (texts), those of entities the scope may not read."""
    parsed: dict[uuid.UUID, str] = {}
    for text in ids:
        try:
            parsed[uuid.UUID(text)] = text
        except ValueError:
            continue
    found = owners.experiments_of(session, parsed)
    return {parsed[i] for i, experiments in found.items() if not scope.can_read(experiments)}


def redact(session: Session, answer: Any) -> Any:
    """``answer`` (a model or JSON document) as JSON, with every entity the session's scope may
    not read replaced by a placeholder; a document answer gets ``redacted``, their number."""
    scope = scope_of(session)
    if scope is None or scope.readable is None:
        return answer
    document = (
        answer.model_dump(mode="json", by_alias=True, exclude_none=True)
        if hasattr(answer, "model_dump")
        else answer
    )
    ids: set[str] = set()
    _ids(document, ids)
    hidden = hidden_ids(session, scope, ids)
    redacted: set[str] = set()

    def visible(node: dict[str, Any]) -> bool:
        members = node.get("artifacts") if node.get("type") in ("artifact", "event") else None
        candidates = [node["id"], *(members if isinstance(members, list) else [])]
        return any(c not in hidden for c in candidates)

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if isinstance(value.get("id"), str) and not visible(value):
                redacted.add(value["id"])
                return {**{k: value[k] for k in _KEEP if k in value}, "redacted": True}
            about = [value[k] for k in _ABOUT if isinstance(value.get(k), str)]
            if any(a in hidden for a in about):
                redacted.update(about)
                return {**{k: value[k] for k in _ABOUT_KEEP if k in value}, "redacted": True}
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    result = walk(document)
    if isinstance(result, dict):
        result["redacted"] = len(redacted & hidden)
    return result
