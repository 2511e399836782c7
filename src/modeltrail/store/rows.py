"""An entity's row made from its create, and its read model made from its row.

The one mapping between the registry's models (``domain.entities``) and the tables, used by
a single create (an ORM row made of these values) and by the batch's bulk insert (the values
themselves) alike, so that both store the same row and answer the same entity. A field is
stored in the column of its own name, or in the one the entity's ``columns`` name (a
reference's ``_id``); fields that are no column (an execution's edges, a pipeline's
executables) are rows of their own tables, written by the entity's create.
"""

from __future__ import annotations

import uuid
from functools import cache
from operator import attrgetter, itemgetter
from typing import Any

from pydantic import BaseModel

from modeltrail.domain.entities import ENTITIES
from modeltrail.store.audit import actor
from modeltrail.store.tables import entity_rows, utcnow

_AUDIT_FIELDS = ("created_by", "updated_by")
_AUDIT_COLUMNS = ("created_by_id", "created_by_name", "updated_by_id", "updated_by_name")


@cache
def _stored(name: str, model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """(field, column) of each field of ``model`` that ``name``'s table stores."""
    declared = ENTITIES[name]
    table = entity_rows()[name].__table__
    pairs = ((f, declared.columns.get(f, f)) for f in model.model_fields)
    return tuple((f, c) for f, c in pairs if c in table.c and f not in _AUDIT_FIELDS)


def new_row(name: str, data: BaseModel, **computed: Any) -> dict[str, Any]:
    """The values of the row a create of entity ``name`` stores: the fields sent, a new id
    and the time of creation where none was sent, revision 1, and what the create computed
    (a fingerprint, a settled end time, the kind's version), which takes precedence."""
    values = {column: getattr(data, field) for field, column in _stored(name, type(data))}
    values["id"] = values.get("id") or uuid.uuid4()
    values["create_time"] = values.get("create_time") or utcnow()
    values["revision"] = 1
    values.update(computed)
    return values


@cache
def _reader(name: str) -> tuple[type[BaseModel], tuple[str, ...], Any, Any]:
    """The read model of ``name``, its stored fields, and the getters of their columns and the
    audit columns from an ORM row and from a row's values (each getter one C call)."""
    model = ENTITIES[name].model
    pairs = _stored(name, model)
    columns = (*(c for _, c in pairs), *_AUDIT_COLUMNS)
    return model, tuple(f for f, _ in pairs), attrgetter(*columns), itemgetter(*columns)


def to_model(name: str, row: Any, **extra: Any) -> Any:
    """The read model of entity ``name`` from its row (an ORM row or a row's values), with
    ``extra`` for the fields that are no column of it (edges)."""
    model, fields, of_row, of_values = _reader(name)
    got = (of_values if isinstance(row, dict) else of_row)(row)
    values = dict(zip(fields, got, strict=False))
    created_id, created_name, updated_id, updated_name = got[len(fields) :]
    values["created_by"] = actor(created_id, created_name)
    values["updated_by"] = actor(updated_id, updated_name)
    if extra:
        values.update(extra)
    return model.model_validate(values)
