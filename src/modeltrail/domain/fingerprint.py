"""Fingerprints: how modeltrail decides that two artifacts or two executions are the same.

Artifacts are equal when every attribute except id and creation time is equal (thesis 7.2.1).
Two executions are the same work when they ran the same executable (name, version, uri) of the
same kind with the same configuration on inputs with the same fingerprints (FR6).
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


def artifact_fingerprint(
    *,
    name: str,
    version: str,
    kind: str,
    description: str | None,
    uri: str | None,
    annotations: Mapping[str, str],
    attributes: Mapping[str, Any],
) -> str:
    return _digest(
        {
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
    return _digest(
        {
            "executable": [executable_name, executable_version, executable_uri],
            "kind": kind,
            "configuration": dict(configuration),
            "inputs": sorted(input_fingerprints),
        }
    )
