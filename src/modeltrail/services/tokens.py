"""API tokens: create (the secret is returned once), list, revoke, and authenticate.

Only a SHA-256 of each token is stored: tokens are 256-bit random strings, so a plain hash is
enough (no password stretching needed) and lets a lookup be one indexed equality.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.tokens import Principal, Role, Token, TokenCreate, TokenCreated
from modeltrail.services.common import get_or_404, require_existing
from modeltrail.store.tables import (
    ApiTokenRow,
    ExecutionRow,
    ExperimentRow,
    RunRow,
    utcnow,
)

TOKEN_PREFIX = "mt_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def to_token(row: ApiTokenRow) -> Token:
    return Token(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        role=Role(row.role) if row.role else None,
        experiments={uuid.UUID(k): Role(v) for k, v in row.experiments.items()},
        create_time=row.create_time,
        revoke_time=row.revoke_time,
    )


def create_token(session: Session, data: TokenCreate) -> TokenCreated:
    if data.role is None and not data.experiments:
        raise InvalidInput(
            "a token needs a global role or a role on at least one experiment",
            errors=[{"pointer": "/role", "detail": "give role or experiments"}],
        )
    require_existing(
        session,
        ExperimentRow,
        data.experiments,
        pointer="/experiments",
        what="experiment",
        indexed=False,
    )
    token = new_token()
    row = ApiTokenRow(
        id=uuid.uuid4(),
        name=data.name,
        token_hash=hash_token(token),
        prefix=token[: len(TOKEN_PREFIX) + 6],
        role=data.role.value if data.role else None,
        experiments={str(k): v.value for k, v in data.experiments.items()},
        create_time=utcnow(),
    )
    session.add(row)
    session.flush()
    return TokenCreated(**to_token(row).model_dump(), token=token)


def list_tokens(session: Session, *, include_revoked: bool = False) -> list[Token]:
    query = select(ApiTokenRow).order_by(ApiTokenRow.create_time, ApiTokenRow.id)
    if not include_revoked:
        query = query.where(ApiTokenRow.revoke_time.is_(None))
    return [to_token(r) for r in session.scalars(query)]


def revoke_token(session: Session, token_id: uuid.UUID) -> Token:
    row = get_or_404(session, ApiTokenRow, token_id, "token")
    if row.revoke_time is None:
        row.revoke_time = utcnow()
        session.flush()
    return to_token(row)


def authenticate(session: Session, token: str) -> Principal | None:
    """The principal a token stands for, or None for an unknown or revoked token."""
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == hash_token(token)))
    if row is None or row.revoke_time is not None:
        return None
    t = to_token(row)
    return Principal(name=t.name, role=t.role, experiments=t.experiments, token_id=t.id)


def experiment_of(session: Session, entity: str, entity_id: uuid.UUID) -> uuid.UUID | None:
    """The experiment an experiment, run or execution belongs to (None if unknown)."""
    if entity == "experiment":
        return entity_id
    if entity == "run":
        return session.scalar(select(RunRow.experiment_id).where(RunRow.id == entity_id))
    if entity == "execution":
        return session.scalar(
            select(RunRow.experiment_id)
            .join(ExecutionRow, ExecutionRow.run_id == RunRow.id)
            .where(ExecutionRow.id == entity_id)
        )
    return None
