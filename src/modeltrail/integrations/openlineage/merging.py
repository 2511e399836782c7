"""OpenLineage in: the rules that make the stored result independent of the order events
arrive in, and fit OpenLineage's names to the store.

Every identity is a uuid5 of OpenLineage names and run ids (``derived_id``); facets are read
leniently (``as_object``, ``clean_facets``) and merged key by key with rules that give the
same value whichever event came first (``merge``, ``pick``); names too long for an entity
are shortened visibly (``entity_name``) and URIs too long are left out (``fitted_uri``)."""

from __future__ import annotations

import uuid
from typing import Any

from modeltrail.domain import limits
from modeltrail.domain.documents import fitted
from modeltrail.domain.fingerprint import canonical_json

# uuid5 namespace of every id derived from OpenLineage names.
ID_NAMESPACE = uuid.UUID("5d1c4f0e-7a57-4f0b-9a43-6f70656e6c69")


def derived_id(*parts: str) -> uuid.UUID:
    return uuid.uuid5(ID_NAMESPACE, "\x1f".join(parts))


def merge(a: Any, b: Any) -> Any:
    """Merge two facet values so that the order of arrival does not matter: objects key by
    key, otherwise equal values stay and different values resolve to the same one whichever
    came first."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {
            k: merge(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k))
            for k in sorted(a.keys() | b.keys())
        }
    if a == b:
        return a
    return a if canonical_json(a) >= canonical_json(b) else b


def clean_facets(facets: dict[str, Any] | None, skip: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in {"_producer", "_schemaURL"}}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return {k: strip(v) for k, v in (facets or {}).items() if k not in skip}


def pick(current: str, new: str, default: str) -> str:
    if current == default:
        return new
    if new == default:
        return current
    return max(current, new)


def as_object(value: Any) -> dict[str, Any]:
    """A facet's JSON object, or an empty one for anything else."""
    return value if isinstance(value, dict) else {}


def entity_name(value: str) -> str:
    """``value`` as an entity name: names longer than MAX_NAME are shortened, visibly; the
    full name is kept where it fits (the ``openlineage.job`` annotation, dataset attributes)."""
    return fitted(value, limits.MAX_NAME) or "-"


def fitted_uri(value: str) -> str | None:
    # A URI cut short would name another place: one too long is left out.
    return value if len(value) <= limits.MAX_URI else None


def job_annotation(name: str) -> dict[str, str]:
    """The full job name, for an entity whose name had to be shortened."""
    return {"openlineage.job": name} if len(name) > limits.MAX_NAME else {}
