"""Document the one error shape in the OpenAPI document: ``application/problem+json``.

FastAPI documents its own ``HTTPValidationError`` for 422; modeltrail answers every error as
an RFC 9457 problem instead, so the document says so for every operation (explicit 422 and a
``default`` response), and generated clients and fuzzers see what the server really sends.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from modeltrail.server.problems import MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}},
            },
        },
    },
}
_REF = {"$ref": "#/components/schemas/Problem"}


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        schema["components"]["schemas"].pop("HTTPValidationError", None)
        schema["components"]["schemas"].pop("ValidationError", None)
        content = {MEDIA_TYPE: {"schema": _REF}}
        for item in schema.get("paths", {}).values():
            for op in item.values():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                responses = op["responses"]
                if "422" in responses:
                    responses["422"] = {"description": "Invalid request", "content": content}
                responses.setdefault("default", {"description": "A problem", "content": content})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
