"""API tokens: create (the secret is returned once), list, revoke, rotate, and authenticate.

Only a SHA-256 of each token is stored: tokens are 256-bit random strings, so a plain hash is
enough (no password stretching needed) and lets a lookup be one indexed equality.

Authenticating only reads (no last-use time is written): on SQLite a write on every request
would queue every reader behind the writers. The access log records each request's token.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from modeltrail.domain.errors import Conflict, InvalidInput
from modeltrail.domain.tokens import (
    Principal,
    Refusal,
    Role,
    Token,
    TokenCreate,
    TokenCreated,
    TokenRotate,
)
from modeltrail.services.common import get_or_404, require_existing
from modeltrail.store.tables import (
    ApiTokenRow,
    ExecutionRow,
    ExperimentRow,
    RunRow,
    utcnow,
)

TOKEN_PREFIX = "mt_"
# The name the admin token given by the server's configuration goes by.
CONFIGURED_ADMIN = "admin (configured)"


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
        expire_time=row.expire_time,
        previous_expire_time=row.previous_expire_time if row.previous_hash else None,
    )


def _expiry(seconds: int | None) -> datetime | None:
    return None if seconds is None else utcnow() + timedelta(seconds=seconds)


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
        prefix=_prefix(token),
        role=data.role.value if data.role else None,
        experiments={str(k): v.value for k, v in data.experiments.items()},
        create_time=utcnow(),
        expire_time=_expiry(data.expires_in),
    )
    session.add(row)
    session.flush()
    return TokenCreated(**to_token(row).model_dump(), token=token)


def _prefix(token: str) -> str:
    return token[: len(TOKEN_PREFIX) + 6]


def rotate_token(session: Session, token_id: uuid.UUID, data: TokenRotate) -> TokenCreated:
    """A new secret for the same token (same id, name and grants). The old secret is refused
    from now on, or after ``data.grace`` seconds; a secret older than that is refused at once."""
    row = get_or_404(session, ApiTokenRow, token_id, "token")
    if row.revoke_time is not None:
        raise Conflict(f"token {token_id} is revoked: create a new one instead")
    token = new_token()
    if data.grace:
        row.previous_hash = row.token_hash
        row.previous_expire_time = utcnow() + timedelta(seconds=data.grace)
    else:
        row.previous_hash = row.previous_expire_time = None
    # Written in two steps: the unique index on the hashes may see both at once otherwise.
    session.flush()
    row.token_hash = hash_token(token)
    row.prefix = _prefix(token)
    if data.expires_in is not None:
        row.expire_time = _expiry(data.expires_in)
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


def authenticate(
    session: Session, token: str, *, configured: str | None = None
) -> Principal | Refusal:
    """The principal a token stands for, or why it is refused (unknown, revoked, expired).

    ``configured`` is the admin token of the server's configuration: it stands for an admin
    unless it was retired (``retire_configured``). Only reads."""
    digest = hash_token(token)
    row = session.scalar(
        select(ApiTokenRow).where(
            or_(ApiTokenRow.token_hash == digest, ApiTokenRow.previous_hash == digest)
        )
    )
    if row is None:
        if configured is not None and secrets.compare_digest(digest, hash_token(configured)):
            return Principal(name=CONFIGURED_ADMIN, role=Role.ADMIN)
        return Refusal(detail="the token is unknown or revoked")
    now = utcnow()
    if row.revoke_time is not None:
        return Refusal(detail="the token is unknown or revoked")
    if row.expire_time is not None and row.expire_time <= now:
        return Refusal(detail=f"the token expired at {row.expire_time.isoformat()}")
    if row.token_hash != digest and (
        row.previous_expire_time is None or row.previous_expire_time <= now
    ):
        return Refusal(detail="the token was rotated: this secret is no longer accepted")
    t = to_token(row)
    return Principal(name=t.name, role=t.role, experiments=t.experiments, token_id=t.id)


def has_admin_token(session: Session) -> bool:
    """Whether the store holds an admin token that is neither revoked nor expired."""
    rows = session.scalars(
        select(ApiTokenRow.expire_time).where(
            ApiTokenRow.role == Role.ADMIN.value, ApiTokenRow.revoke_time.is_(None)
        )
    )
    now = utcnow()
    return any(expires is None or expires > now for expires in rows)


def retire_configured(session: Session, configured: str) -> Token:
    """Refuse the configured admin token from now on, on every server of this store.

    Its hash is stored as a revoked token, so that a server still configured with it refuses
    it too. Refused while no other admin token could take its place."""
    digest = hash_token(configured)
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == digest))
    if row is not None:
        return to_token(row)  # already retired
    if not has_admin_token(session):
        raise Conflict(
            "no other admin token exists: create one (role admin) before retiring the "
            "configured admin token, or nobody could administer this store any more"
        )
    now = utcnow()
    row = ApiTokenRow(
        id=uuid.uuid4(),
        name=CONFIGURED_ADMIN,
        token_hash=digest,
        prefix="configured",
        role=Role.ADMIN.value,
        experiments={},
        create_time=now,
        revoke_time=now,
    )
    session.add(row)
    session.flush()
    return to_token(row)


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
