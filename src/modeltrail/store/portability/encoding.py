"""The NDJSON format of an export: which tables, and how a row's values are written and
read back."""

from __future__ import annotations

import base64
import math
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import LargeBinary, Table

from modeltrail.domain import secrets
from modeltrail.domain.errors import InvalidInput
from modeltrail.store.tables import (
    Base,
    MetricValue,
    UTCDateTime,
)

FORMAT = "modeltrail-ndjson"
FORMAT_VERSION = 1
# Credentials, and the answers kept for a day to retried batches: not metadata. The search
# index is the database's own copy of the entities, rebuilt by its triggers as they come in.
EXCLUDED = frozenset({"api_tokens", "batch_receipts", "search_entries"})
REPLACED = frozenset({"kinds"})
CHUNK = 500
# Rows that may hold a credential (a webhook URL with its token), as they may leave the store
# and enter it: masked, both ways.
SCRUBBED: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "notifications": secrets.scrub_notification
}


def tables() -> list[Table]:
    """Every exported table, parents before children."""
    return [t for t in Base.metadata.sorted_tables if t.name not in EXCLUDED]


# ---------------------------------------------------------------- encoding


def encode(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"$b64": base64.b64encode(value).decode()}
    return value


def non_finite_columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if isinstance(c.type, MetricValue)]


def spelt_out(row: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    """The row with its infinite metric values as text (JSON has no number for them)."""
    for name in columns:
        value = row.get(name)
        if isinstance(value, float) and value in (math.inf, -math.inf):
            row[name] = {"$float": "Infinity" if value > 0 else "-Infinity"}
    return row


def _decoded_float(value: Any) -> float:
    if isinstance(value, dict):
        return {"Infinity": math.inf, "-Infinity": -math.inf}[value["$float"]]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"{value!r} is not a number")


def _decoded_bytes(value: Any) -> bytes:
    if isinstance(value, dict) and isinstance(value.get("$b64"), str):
        return base64.b64decode(value["$b64"], validate=True)
    raise ValueError('binary data is written {"$b64": ...}')


def decoder(table: Table) -> Callable[[dict[str, Any]], dict[str, Any]]:
    kinds: dict[str, str] = {}
    for column in table.columns:
        if isinstance(column.type, UTCDateTime):
            kinds[column.name] = "datetime"
        elif column.type.__class__.__name__ == "Uuid":
            kinds[column.name] = "uuid"
        elif isinstance(column.type, MetricValue):
            kinds[column.name] = "float"
        elif isinstance(column.type, LargeBinary):
            kinds[column.name] = "bytes"

    def decode(row: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for name, value in row.items():
            if name not in table.c:
                raise InvalidInput(f"column {table.name}.{name} does not exist in this version")
            kind = kinds.get(name)
            if value is None or kind is None:
                out[name] = value
            elif kind == "uuid":
                out[name] = uuid.UUID(value)
            elif kind == "float":
                out[name] = _decoded_float(value)
            elif kind == "bytes":
                out[name] = _decoded_bytes(value)
            else:
                out[name] = datetime.fromisoformat(value)
        return out

    return decode


def dumps(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, default=encode, option=orjson.OPT_PASSTHROUGH_DATETIME) + b"\n"
