"""API tokens and roles: who may read, write and administer a store.

Roles are ordered: ``reader`` < ``writer`` < ``deployer`` < ``admin``. A ``deployer`` writes
like a writer and may also move the model registry's protected aliases (``production``). A
token holds a global role, grants on single experiments, or both; a request is allowed when the
role it needs is at most the token's role for the experiment the request touches (or its global
role when it touches none).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from modeltrail.domain import limits
from modeltrail.domain.models import Actor, Name, Schema, WriteSchema


class Role(StrEnum):
    READER = "reader"
    WRITER = "writer"
    DEPLOYER = "deployer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANK = {Role.READER: 1, Role.WRITER: 2, Role.DEPLOYER: 3, Role.ADMIN: 4}

MAX_GRANTS = limits.MAX_ANNOTATIONS
# The longest lifetime a token or a rotation's grace period may be given, in seconds.
MAX_LIFETIME = 10 * 366 * 86_400
MAX_GRACE = 30 * 86_400
# The admin token a server is configured with is a password anyone on the network may try:
# as long as ``secrets.token_urlsafe(24)`` at least.
MIN_ADMIN_TOKEN = 32


class TokenCreate(WriteSchema):
    name: Name
    role: Role | None = Field(
        default=None, description="global role; omit for experiment-only tokens"
    )
    experiments: Annotated[dict[uuid.UUID, Role], Field(max_length=MAX_GRANTS)] = Field(
        default_factory=dict, description="roles on single experiments: {experiment id: role}"
    )
    expires_in: int | None = Field(
        default=None,
        ge=60,
        le=MAX_LIFETIME,
        description="seconds until the token expires; omit for a token that does not expire",
    )


class TokenRotate(WriteSchema):
    grace: int = Field(
        default=0,
        ge=0,
        le=MAX_GRACE,
        description="seconds the old secret is still accepted, so that its users can switch",
    )
    expires_in: int | None = Field(
        default=None,
        ge=60,
        le=MAX_LIFETIME,
        description="seconds until the token expires from now; omit to keep its expiry",
    )


class Token(Schema):
    id: uuid.UUID
    name: str
    prefix: str
    role: Role | None
    experiments: dict[uuid.UUID, Role]
    create_time: datetime
    revoke_time: datetime | None
    expire_time: datetime | None = None
    previous_expire_time: datetime | None = Field(
        default=None, description="until when the secret before the last rotation is accepted"
    )


class TokenCreated(Token):
    """The one answer that carries the secret token; it is never shown again."""

    token: str


class Principal(Schema):
    """Who a request acts as."""

    name: str
    role: Role | None
    experiments: dict[uuid.UUID, Role] = Field(default_factory=dict)
    token_id: uuid.UUID | None = None

    def actor(self) -> Actor:
        """Who the principal's writes are recorded as."""
        return Actor(name=self.name, id=self.token_id)

    def role_for(self, experiment: uuid.UUID | None) -> Role | None:
        """The stronger of the global role and the grant on ``experiment``."""
        grant = self.experiments.get(experiment) if experiment is not None else None
        roles = [r for r in (self.role, grant) if r is not None]
        return max(roles, key=lambda r: r.rank) if roles else None


class Refusal(Schema):
    """Why a token is refused (401): unknown, revoked, expired, or an old secret."""

    detail: str
