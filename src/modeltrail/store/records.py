"""Rows as the graph readers give them: read-only records whose ids are 32 hex digits.

A graph answer reads thousands of rows and mostly does dictionary work with their ids: a
``str`` is made, hashed and compared in C where a ``uuid.UUID`` runs Python code each
time, and a named tuple's field is a C slot read where a SQLAlchemy ``Row``'s is a Python
call. So the graph readers (``store.lineage``) give these records, with every id, its own
and those it refers to, as ``Id``. The ORM rows (``store.tables``) keep ``uuid.UUID``: a
service that holds both turns one into the other with ``hexes`` or ``uuid.UUID(hex=...)``.

Each record's fields are its table's columns, in the table's order (a test holds them to
it). A *light* read leaves the JSON documents out: those fields are ``None`` then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

Id = str  # an id as 32 lowercase hex digits (``uuid.UUID.hex``)
Document = dict[str, Any]


class ArtifactRecord(NamedTuple):
    kind: str
    kind_version: int
    description: str | None
    uri: str | None
    attributes: Document | None  # None in a light read
    fingerprint: str
    id: Id
    name: str
    version: str
    create_time: datetime
    annotations: dict[str, str] | None  # None in a light read
    revision: int
    created_by_id: Id | None
    created_by_name: str | None
    updated_by_id: Id | None
    updated_by_name: str | None


class ExecutionRecord(NamedTuple):
    run_id: Id
    executable_id: Id
    kind: str
    uri: str | None
    status: str
    start_time: datetime | None
    end_time: datetime | None
    configuration: Document | None  # None in a light read
    fingerprint: str
    reused_from_id: Id | None
    id: Id
    name: str
    version: str
    create_time: datetime
    annotations: dict[str, str] | None  # None in a light read
    revision: int
    created_by_id: Id | None
    created_by_name: str | None
    updated_by_id: Id | None
    updated_by_name: str | None


class ExecutableRecord(NamedTuple):
    uri: str | None
    description: str | None
    id: Id
    name: str
    version: str
    create_time: datetime
    annotations: dict[str, str]
    revision: int
    created_by_id: Id | None
    created_by_name: str | None
    updated_by_id: Id | None
    updated_by_name: str | None


class ExecutableRef(NamedTuple):
    """What a light read gives of an executable: enough to name it."""

    uri: str | None
    id: Id
    name: str
    version: str


class RunRecord(NamedTuple):
    experiment_id: Id
    uri: str | None
    status: str
    end_time: datetime | None
    configuration: Document
    pipeline_id: Id | None
    event_id: Id | None
    id: Id
    name: str
    version: str
    create_time: datetime
    annotations: dict[str, str]
    revision: int
    created_by_id: Id | None
    created_by_name: str | None
    updated_by_id: Id | None
    updated_by_name: str | None


class FlagRecord(NamedTuple):
    artifact_id: Id
    reason: str
    create_time: datetime


Executable = ExecutableRecord | ExecutableRef
