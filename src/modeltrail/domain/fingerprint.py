"""Fingerprints: how modeltrail decides that two artifacts or two executions are the same.

Artifacts are equal when every attribute except id and creation time is equal (thesis 7.2.1).
Two executions are the same work when they ran the same executable (name, version, uri) of the
same kind with the same configuration on inputs with the same fingerprints (FR6).

A trigger (an artifact of kind ``event``) is the exception on both counts. It is something that
happened, once: two manual triggers with the same attributes are two events, so an event's id is
part of its fingerprint. And it says why a run started, not what a step computed: the run's first
step reads it so that lineage starts there (FR4, FR7), but it is not one of the inputs that make
two executions the same work, whatever triggered their runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson


def canonical_json(value: Any) -> bytes:
    """JSON with sorted keys and no insignificant whitespace: equal values, equal bytes."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def _digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


TRIGGER_KIND = "event"


def is_trigger(kind: str) -> bool:
    """Whether artifacts of this kind are triggers: events, not data."""
    return kind == TRIGGER_KIND


def artifact_fingerprint(
    *,
    id: Any = None,
    name: str,
    version: str,
    kind: str,
    description: str | None,
    uri: str | None,
    annotations: Mapping[str, str],
    attributes: Mapping[str, Any],
) -> str:
    """The artifact's equality; ``id`` counts for triggers only (see the module)."""
    identity = {"id": str(id)} if is_trigger(kind) else {}
    return _digest(
        {
            **identity,
            "name": name,
            "version": version,
            "kind": kind,
            "description": description,
            "uri": uri,
            "annotations": dict(annotations),
            "attributes": dict(attributes),
        }
    )


def execution_fingerprint(
    *,
    executable_name: str,
    executable_version: str,
    executable_uri: str | None,
    kind: str,
    configuration: Mapping[str, Any],
    input_fingerprints: Iterable[str],
) -> str:
    """The execution's work; ``input_fingerprints`` are those of its data inputs, the triggers
    left out (``work_inputs``)."""
    return _digest(
        {
            "executable": [executable_name, executable_version, executable_uri],
            "kind": kind,
            "configuration": dict(configuration),
            "inputs": sorted(input_fingerprints),
        }
    )


def work_inputs(inputs: Iterable[tuple[str, str]]) -> list[str]:
    """The fingerprints of ``(kind, fingerprint)`` inputs that make an execution's work: all
    but the triggers'."""
    return [fingerprint for kind, fingerprint in inputs if not is_trigger(kind)]
