"""What an experiment-scoped token may read and write: the experiments it sees.

A token with a global role sees everything its role allows; a token with grants on single
experiments sees only those. ``Scope`` is the second kind, reduced to two sets of experiment
ids; ``None`` in place of a set means "every experiment" (the global role covers it). A request
whose token needs no scope carries no ``Scope`` at all, so an unscoped request pays nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from modeltrail.domain.tokens import Principal, Role


@dataclass(frozen=True)
class Scope:
    """The experiments a request may read and write; ``None``: all of them."""

    readable: frozenset[uuid.UUID] | None
    writable: frozenset[uuid.UUID] | None

    @classmethod
    def of(cls, principal: Principal) -> Scope | None:
        """The scope of ``principal``; None when its global role already covers everything
        (a global writer or admin)."""
        if principal.role is not None and principal.role.allows(Role.WRITER):
            return None

        def granted(needed: Role) -> frozenset[uuid.UUID] | None:
            if principal.role is not None and principal.role.allows(needed):
                return None
            return frozenset(e for e, r in principal.experiments.items() if r.allows(needed))

        return cls(readable=granted(Role.READER), writable=granted(Role.WRITER))

    def can_read(self, experiments: set[uuid.UUID] | frozenset[uuid.UUID]) -> bool:
        """Whether an entity of ``experiments`` may be read: one readable experiment is enough."""
        return self.readable is None or not self.readable.isdisjoint(experiments)

    def can_write(self, experiments: set[uuid.UUID] | frozenset[uuid.UUID]) -> bool:
        """Whether an entity of ``experiments`` may be changed: every one must be writable, and
        an entity of no experiment needs a global writer."""
        if self.writable is None:
            return True
        return bool(experiments) and experiments <= self.writable
