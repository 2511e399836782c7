"""The exceptions modeltrail raises, on the server and in the SDK alike.

    ModeltrailError
    ├── NotFound                 404
    ├── Conflict                 409  (id reused with other content; delete with referrers)
    ├── PreconditionFailed       412  (If-Match revision no longer current)
    ├── InvalidInput             422
    │   ├── InvalidKindAttributes
    │   ├── IncompatibleKind
    │   ├── UnknownKind
    │   ├── CycleDetected
    │   └── InvalidText          (text that is not Unicode: a lone UTF-16 surrogate)
    ├── Unavailable              503  (database gone; retried by the SDK)
    ├── Unauthorized / Forbidden 401 / 403
    └── ServerUnreachable        (SDK: no answer from the server at all)

Every exception carries ``detail`` (a sentence) and ``errors`` (``[{"pointer", "detail"}]``,
the failing fields).
"""

from __future__ import annotations

from typing import Any

from modeltrail.domain.errors import (
    Conflict,
    CycleDetected,
    Forbidden,
    IncompatibleKind,
    InvalidInput,
    InvalidKindAttributes,
    ModeltrailError,
    NotFound,
    PreconditionFailed,
    Unavailable,
    UnknownKind,
)
from modeltrail.domain.text import InvalidText


class Unauthorized(ModeltrailError):
    type_slug, status, title = "unauthorized", 401, "Unauthorized"


class ServerUnreachable(ModeltrailError):
    type_slug, status, title = "unreachable", 0, "Server unreachable"


_BY_SLUG: dict[str, type[ModeltrailError]] = {
    cls.type_slug: cls
    for cls in (
        NotFound,
        Conflict,
        PreconditionFailed,
        InvalidInput,
        InvalidKindAttributes,
        IncompatibleKind,
        UnknownKind,
        CycleDetected,
        InvalidText,
        Unavailable,
        Unauthorized,
        Forbidden,
    )
}
_BY_STATUS = {
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    422: InvalidInput,
    400: InvalidInput,
    503: Unavailable,
    401: Unauthorized,
    403: Forbidden,
}


def from_problem(status: int, body: Any) -> ModeltrailError:
    """The typed exception for a problem+json answer."""
    if not isinstance(body, dict):
        body = {"detail": str(body)}
    slug = str(body.get("type", "")).rsplit("/", 1)[-1]
    cls = _BY_SLUG.get(slug) or _BY_STATUS.get(status, ModeltrailError)
    extra = {
        k: v
        for k, v in body.items()
        if k not in {"type", "title", "status", "detail", "errors", "instance"}
    }
    exc = cls(
        str(body.get("detail") or body.get("title") or f"HTTP {status}"),
        errors=body.get("errors"),
        **extra,
    )
    exc.status = status
    return exc


__all__ = [
    "Conflict",
    "CycleDetected",
    "Forbidden",
    "IncompatibleKind",
    "InvalidInput",
    "InvalidKindAttributes",
    "InvalidText",
    "ModeltrailError",
    "NotFound",
    "PreconditionFailed",
    "ServerUnreachable",
    "Unauthorized",
    "Unavailable",
    "UnknownKind",
    "from_problem",
]
