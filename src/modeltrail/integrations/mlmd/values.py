"""The values of an ML Metadata store's properties, checked and decoded.

A property row keeps its value in one of several columns, as its type declares (or, for a
custom property, as it was written); a STRUCT or PROTO value is a serialised protocol buffer,
read here with the few lines of the wire format it needs. A value this module cannot read is
refused with the table, row and column at fault (``where``, a JSON pointer).
"""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Iterator
from typing import Any

from modeltrail.domain import limits
from modeltrail.domain.errors import InvalidInput

# A property row keeps its value in one of these columns (TypeProperty.data_type names which).
VALUE_COLUMNS = ("int_value", "double_value", "string_value", "bool_value", "proto_value")
DATA_TYPES = {1: "int_value", 2: "double_value", 3: "string_value", 4: "string_value"}
DATA_TYPES |= {5: "proto_value", 6: "bool_value"}
DATA_TYPE_NAMES = {0: "UNKNOWN", 1: "INT", 2: "DOUBLE", 3: "STRING", 4: "STRUCT", 5: "PROTO"}
DATA_TYPE_NAMES |= {6: "BOOLEAN"}
# ml-metadata writes a STRUCT property as a string: this prefix, then a base64 google.protobuf
# Struct.
STRUCT_PREFIX = "mlmd-struct::"
# What one property value may hold: beyond it a value is no metadata but a payload kept in the
# wrong place, and it would crowd the import's requests.
MAX_VALUE_CHARS = 1024 * 1024


def refuse(detail: str, pointer: str = "") -> InvalidInput:
    """The refusal of a store; ``pointer`` names the table (and row, column) at fault, which
    the sentence names too, so the one error it holds says only that it is there."""
    errors = [{"pointer": pointer, "detail": "not importable as it is"}] if pointer else []
    return InvalidInput(detail, errors=errors)


def checked_int(value: Any, where: str) -> Any:
    """An integer column's value (None stays None); text or a fraction there is refused."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise refuse(f"{where[1:]} holds {value}, beyond a 64-bit integer", where)
        return value
    if isinstance(value, bool):
        return int(value)
    raise refuse(f"{where[1:]} holds {_shown(value)} where ML Metadata keeps an integer", where)


def checked_text(value: Any, where: str, most: int, *, required: bool = False) -> Any:
    if value is None or value == "":
        if required:
            raise refuse(f"{where[1:]} is empty", where)
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode()
        except UnicodeDecodeError:
            raise refuse(f"{where[1:]} holds bytes that are not UTF-8 text", where) from None
    if not isinstance(value, str):
        value = str(value)  # MySQL and SQLite may answer a number where text is kept
    if len(value) > most:
        raise refuse(
            f"{where[1:]} is {len(value):,} characters long; modeltrail keeps at most {most:,}",
            where,
        )
    if any("\ud800" <= c <= "\udfff" or c == "\x00" for c in value):
        raise refuse(f"{where[1:]} holds a NUL or a lone surrogate, which is no text", where)
    return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value: Any, where: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refuse(f"{where[1:]} holds {_shown(value)} where ML Metadata keeps a number", where)
    if isinstance(value, float) and not math.isfinite(value):
        # JSON has no NaN nor infinity: kept as the words ml-metadata's own JSON uses.
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return float(value)


def _column_value(row: dict[str, Any], column: str, where: str) -> Any:
    value = row.get(column)
    if value is None:
        return None
    if column == "int_value":
        return checked_int(value, where)
    if column == "double_value":
        return _number(value, where)
    if column == "bool_value":
        if value in (0, 1):  # SQLite and MySQL keep booleans as 0 and 1
            return bool(value)
        raise refuse(f"{where[1:]} holds {_shown(value)} where ML Metadata keeps a boolean", where)
    if column == "proto_value":
        return _proto(value, where)
    if column == "byte_value":
        if not isinstance(value, bytes):
            raise refuse(f"{where[1:]} holds {_shown(value)} where bytes were expected", where)
        return {"base64": _bounded(base64.b64encode(value).decode(), where)}
    text = checked_text(value, where, MAX_VALUE_CHARS)
    if text is not None and text.startswith(STRUCT_PREFIX):
        return _struct(text, where)
    return text if text is not None else ""


def _bounded(text: str, where: str) -> str:
    if len(text) > MAX_VALUE_CHARS:
        raise refuse(
            f"{where[1:]} is {len(text):,} characters long; modeltrail keeps at most "
            f"{MAX_VALUE_CHARS:,} in one value",
            where,
        )
    return text


def typed_value(row: dict[str, Any], data_type: int, where: str) -> Any:
    column = DATA_TYPES[data_type]
    value = _column_value(row, column, where)
    if value is None:
        held = [c for c in (*VALUE_COLUMNS, "byte_value") if row.get(c) is not None]
        if held:
            raise refuse(
                f"{where[1:]} is declared {DATA_TYPE_NAMES[data_type]} but holds its value in "
                f"{held[0]}",
                where,
            )
    return value


def custom_value(row: dict[str, Any], where: str) -> Any:
    held = [c for c in (*VALUE_COLUMNS, "byte_value") if row.get(c) is not None]
    if len(held) > 1:
        raise refuse(f"{where[1:]} holds values in {' and '.join(held)}; a property has one", where)
    return _column_value(row, held[0], where) if held else None


# ---------------------------------------------------------------- protocol buffers
# A STRUCT property is a google.protobuf.Struct and a PROTO property a google.protobuf.Any,
# both serialised: read with the few lines of the wire format they need, not with protobuf.


def _wire(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of each field of a serialised message."""
    i = 0

    def varint() -> int:
        nonlocal i
        shift = result = 0
        while True:
            if i >= len(data) or shift > 63:
                raise ValueError("truncated varint")
            byte = data[i]
            i += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    while i < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            yield number, wire, varint()
        elif wire == 1:
            if i + 8 > len(data):
                raise ValueError("truncated double")
            yield number, wire, struct.unpack("<d", data[i : i + 8])[0]
            i += 8
        elif wire == 2:
            size = varint()
            if i + size > len(data):
                raise ValueError("truncated field")
            yield number, wire, data[i : i + size]
            i += size
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"wire type {wire}")


def _struct_message(data: bytes, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, wire, entry in _wire(data):
        if number != 1 or wire != 2:
            continue
        key, value = "", None
        for n, w, v in _wire(entry):
            if n == 1 and w == 2:
                key = v.decode()
            elif n == 2 and w == 2:
                value = _value_message(v, depth + 1)
        out[key] = value
    return out


def _value_message(data: bytes, depth: int) -> Any:
    if depth > limits.MAX_DOCUMENT_DEPTH:
        raise ValueError(f"nested deeper than {limits.MAX_DOCUMENT_DEPTH} levels")
    value: Any = None
    for number, wire, v in _wire(data):
        if number == 2 and wire == 1:
            value = v if math.isfinite(v) else str(v)
        elif number == 3 and wire == 2:
            value = v.decode()
        elif number == 4 and wire == 0:
            value = bool(v)
        elif number == 5 and wire == 2:
            value = _struct_message(v, depth)
        elif number == 6 and wire == 2:
            value = [
                _value_message(item, depth + 1) for n, w, item in _wire(v) if n == 1 and w == 2
            ]
        elif number == 1:
            value = None
    return value


def _struct(text: str, where: str) -> Any:
    try:
        data = base64.b64decode(text[len(STRUCT_PREFIX) :], validate=True)
        return _struct_message(data, 0)
    except (ValueError, UnicodeDecodeError) as exc:
        raise refuse(f"{where[1:]} is a STRUCT that cannot be read: {exc}", where) from None


def _proto(value: Any, where: str) -> Any:
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, bytes):
        raise refuse(
            f"{where[1:]} holds {_shown(value)} where a serialised proto was expected", where
        )
    type_url = ""
    try:
        for number, wire, v in _wire(value):
            if number == 1 and wire == 2:
                type_url = v.decode()
    except (ValueError, UnicodeDecodeError):
        type_url = ""
    encoded = _bounded(base64.b64encode(value).decode(), where)
    return {"typeUrl": type_url, "base64": encoded} if type_url else {"base64": encoded}
