"""How MLflow's client sends a request's parameters, read into one dict.

A JSON body for POST, PATCH and DELETE, query parameters for GET; int64 fields as numbers or
strings. Every refusal is MLflow's INVALID_PARAMETER_VALUE naming the parameter.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from modeltrail.domain import text
from modeltrail.integrations.mlflow.errors import invalid

Params = dict[str, Any]


async def read(request: Request) -> Params:
    return {**await sent(request), **request.path_params}


async def sent(request: Request) -> Params:
    if request.method == "GET":
        out: Params = {}
        for key, value in request.query_params.multi_items():
            if key in out:
                previous = out[key]
                out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                out[key] = value
        return out
    raw = await request.body()
    if not raw.strip():
        return dict(request.query_params)
    try:
        body = text.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise invalid(f"Malformed request body: the body is not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise invalid("Malformed request body: a JSON object is expected")
    return body


def string(p: Params, name: str, *, required: bool = False) -> str | None:
    value = p.get(name)
    if value is None or value == "":
        if required:
            raise invalid(f"Missing value for required parameter '{name}'.")
        return None
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid(f"Invalid value {value!r} for parameter '{name}' supplied: a string")
    return str(value)


def integer(p: Params, name: str, default: int, *, low: int = 1, high: int) -> int:
    value = p.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid value {value!r} for parameter '{name}': an integer") from None
    if not low <= number <= high:
        raise invalid(
            f"Invalid value {number} for parameter '{name}' supplied: it must be at least {low} "
            f"and at most {high}"
        )
    return number


def listed(p: Params, name: str) -> list[Any]:
    value = p.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        return [value]
    return value


def pairs(p: Params, name: str) -> list[tuple[Any, Any]]:
    out = []
    for item in listed(p, name):
        if not isinstance(item, dict):
            raise invalid(f"Invalid value for parameter '{name}': a list of {{key, value}}")
        out.append((item.get("key"), item.get("value")))
    return out


def run_id(p: Params) -> str:
    run = string(p, "run_id") or string(p, "run_uuid")
    if run is None:
        raise invalid("Missing value for required parameter 'run_id'.")
    return run
