"""Domain errors. The server maps each to one RFC 9457 problem type; the SDK maps back."""

from __future__ import annotations

from typing import Any


def json_pointer(*parts: Any) -> str:
    """A JSON pointer (RFC 6901) to ``parts``, escaping ``~`` and ``/`` in keys: how every
    problem names the field it is about."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class ModeltrailError(Exception):
    """Base of every error modeltrail raises on purpose."""

    type_slug = "error"
    status = 500
    title = "Internal error"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


class NotFound(ModeltrailError):
    type_slug, status, title = "not-found", 404, "Not found"


class Conflict(ModeltrailError):
    """The request contradicts what is stored (an id reused with other content, referrers)."""

    type_slug, status, title = "conflict", 409, "Conflict"


class PreconditionFailed(ModeltrailError):
    """An If-Match revision no longer matches: someone else wrote in between."""

    type_slug, status, title = "precondition-failed", 412, "Precondition failed"


class Forbidden(ModeltrailError):
    """The token may not do this (its role, or an entity of an experiment it may not use)."""

    type_slug, status, title = "forbidden", 403, "Forbidden"


class InvalidInput(ModeltrailError):
    """The request is well-formed JSON but its content is not acceptable."""

    type_slug, status, title = "invalid-input", 422, "Invalid input"


class InvalidKindAttributes(InvalidInput):
    type_slug, title = "invalid-kind-attributes", "Attributes break the kind's schema"


class IncompatibleKind(InvalidInput):
    type_slug, title = "incompatible-kind-version", "Kind version is not backward compatible"


class UnknownKind(InvalidInput):
    type_slug, title = "unknown-kind", "Unknown artifact kind"


class CycleDetected(InvalidInput):
    type_slug, title = "cycle", "The relation would form a cycle"


class Unavailable(ModeltrailError):
    type_slug, status, title = "unavailable", 503, "Database unavailable"


class TooLarge(ModeltrailError):
    """A body (a file) larger than the configured limit."""

    type_slug, status, title = "too-large", 413, "Request body too large"


class HashMismatch(InvalidInput):
    """A file's content does not have the sha256 (or size) it was declared with."""

    type_slug, title = "hash-mismatch", "The content does not match its declared hash"


class RangeNotSatisfiable(ModeltrailError):
    type_slug, status, title = "range-not-satisfiable", 416, "Range not satisfiable"
