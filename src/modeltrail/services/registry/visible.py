"""What a token with grants on single experiments sees of the registry, and may change in it.

A version is of the experiments of its artifact (``modeltrail.store.scope``: the experiments
of the runs whose steps wrote it), so such a token reads a version where it may read the
artifact and changes it where it may write the artifact:

- **A version it may not read is absent**: 404 where it is named (``models:/NAME/3``, an
  alias that points at it), left out of pages of versions, of a model's count, newest version
  and aliases, and of the aliases' history. A model with no version it may read is absent
  too, from lists and by name.
- **It registers** an artifact it may write as a version (of a model it does not see, too:
  a model's name is not of an experiment), and changes the versions it may write (their
  description, tags, deletion).
- **It moves an alias** that is not protected from a version it may write to another one it
  may write; it removes one that points at a version it may write. Registered models
  themselves (their name, description, tags, deletion) and protected aliases belong to no
  experiment: they need the global writer (or deployer) role.

A request without a scope (access control off, a token with a global reader or writer role)
sees and changes everything its role allows; the checks here then cost a dictionary lookup.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from modeltrail.domain.errors import Forbidden, InvalidInput
from modeltrail.services.access import scope_of
from modeltrail.services.registry.models import get_model_row, model_missing, version_missing
from modeltrail.store import registry as store
from modeltrail.store import scope as owners
from modeltrail.store.tables import RegisteredModelRow


def readable_experiments(session: Session) -> frozenset[uuid.UUID] | None:
    """The experiments whose versions the request may read; None: every one."""
    scope = scope_of(session)
    return None if scope is None else scope.readable


def visible_versions(session: Session, model: RegisteredModelRow) -> set[int] | None:
    """The numbers of the model's versions the request may read; None: all of them."""
    experiments = readable_experiments(session)
    if experiments is None:
        return None
    return store.readable_versions(session, model_id=model.id, experiments=experiments)


def seen_model(
    session: Session, name: str, *, lock: bool = False
) -> tuple[RegisteredModelRow, set[int] | None]:
    """The model named ``name`` with the versions the request may read (None: all); 404
    when it may read none of them, for a change too (``lock``: to be changed), so that no
    answer tells such a model from one never registered."""
    model = get_model_row(session, name, lock=lock)
    visible = visible_versions(session, model)
    if visible is not None and not visible:
        raise model_missing(name)
    return model, visible


def sees(visible: set[int] | None, version: int | None) -> bool:
    return version is not None and (visible is None or version in visible)


def require_writable_artifact(session: Session, artifact_id: uuid.UUID) -> None:
    """Refuse to register an artifact the request may not write (403, at ``/artifact``)."""
    scope = scope_of(session)
    if scope is None or scope.writable is None:
        return
    found = owners.experiments_of_artifacts(session, [artifact_id]).get(artifact_id, set())
    if not scope.can_write(found):
        raise Forbidden(
            f"artifact {artifact_id} is not of an experiment this token may write: it "
            "registers the models of its own runs only; nothing was written",
            errors=[{"pointer": "/artifact", "detail": "not writable with this token"}],
        )


def writable_version(session: Session, model: RegisteredModelRow, version: int) -> bool:
    """Whether the request may change ``version`` of ``model`` (True for any version when
    it may write every experiment)."""
    scope = scope_of(session)
    if scope is None or scope.writable is None:
        return True
    row = store.read_version(session, model_id=model.id, version=version)
    if row is None:
        return False
    found = owners.experiments_of_artifacts(session, [row.artifact_id]).get(row.artifact_id, set())
    return scope.can_write(found)


def require_writable_version(
    session: Session,
    model: RegisteredModelRow,
    version: int,
    *,
    pointer: str = "/",
    missing: Exception | None = None,
) -> None:
    """Refuse a change of ``version`` the request may not make: ``missing`` (or the version
    as not found) where it may not even read it, 403 where it may only read it."""
    if not sees(visible_versions(session, model), version):
        raise missing or version_missing(model.name, version)
    if not writable_version(session, model, version):
        raise Forbidden(
            f"version {version} of '{model.name}' is of an experiment this token may read "
            "but not write; nothing was written",
            errors=[{"pointer": pointer, "detail": "not writable with this token"}],
        )


def no_such_target(model: RegisteredModelRow, version: int) -> InvalidInput:
    return InvalidInput(
        f"model '{model.name}' has no version {version}",
        errors=[{"pointer": "/version", "detail": f"no version {version}"}],
    )
