"""What a token with grants on single experiments may do on MLflow's paths: what it may do on
modeltrail's own API, decided by the same rule (``modeltrail.services.access``, the request's
``Scope``).

- **What it may not read does not exist**: an experiment or run of another experiment is
  answered ``RESOURCE_DOES_NOT_EXIST``, as one that is not there, and searches leave it out,
  so that neither its id nor its name tells that it exists.
- **What it may read but not write is refused** (``PERMISSION_DENIED``), before anything is
  written.

A request without a scope (no access control, a token with a global writer role) passes every
check here at the cost of one dictionary lookup.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.orm import Session

from modeltrail.integrations.mlflow.errors import PERMISSION_DENIED, MlflowError
from modeltrail.services.access import readable_rows, scope_of
from modeltrail.store.tables import ExperimentRow


def check_experiment(
    session: Session,
    experiment: uuid.UUID,
    *,
    write: bool,
    absent: Callable[[], MlflowError],
) -> None:
    """Refuse a read of ``experiment`` (or of what it holds) that the request's token may not
    make as ``absent()``, a change it may read but not make as ``PERMISSION_DENIED``."""
    scope = scope_of(session)
    if scope is None:
        return
    if not scope.can_read({experiment}):
        raise absent()
    if write and not scope.can_write({experiment}):
        raise MlflowError(
            PERMISSION_DENIED,
            "This token may read this experiment and its runs but not change them.",
        )


def check_sees_every_experiment(session: Session, change: str) -> None:
    """Refuse ``change``, which must keep a name unique among all experiments, to a token that
    does not read them all: it could take another experiment's name unseen, or, refused, learn
    that the name is taken."""
    scope = scope_of(session)
    if scope is not None and scope.readable is not None:
        raise MlflowError(
            PERMISSION_DENIED,
            f"{change} needs a token that may read every experiment (a global role).",
        )


def readable_experiments(session: Session, ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """Of ``ids``, those the request may read (in their order)."""
    scope = scope_of(session)
    wanted = list(ids)
    if scope is None:
        return wanted
    return [e for e in wanted if scope.can_read({e})]


def experiments_query(session: Session, query: Any) -> Any:
    """``query`` of experiment rows, cut in SQL to those the request may read."""
    return readable_rows(session, ExperimentRow, query)
