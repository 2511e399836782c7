"""MLflow's error body on MLflow's paths: ``{"error_code": ..., "message": ...}``.

MLflow's client branches on ``error_code`` (``RESOURCE_DOES_NOT_EXIST`` makes
``get_experiment_by_name`` answer None) and retries on 429 and 5xx, so every refusal here is a
4xx with the code MLflow's own server would send.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import ValidationError

from modeltrail.domain.errors import ModeltrailError

INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
PERMISSION_DENIED = "PERMISSION_DENIED"

# The HTTP status MLflow's server answers with each code (mlflow.exceptions).
STATUS = {
    INVALID_PARAMETER_VALUE: 400,
    "BAD_REQUEST": 400,
    RESOURCE_ALREADY_EXISTS: 400,
    RESOURCE_DOES_NOT_EXIST: 404,
    ENDPOINT_NOT_FOUND: 404,
    "UNAUTHENTICATED": 401,
    PERMISSION_DENIED: 403,
    "RESOURCE_CONFLICT": 409,
    "RESOURCE_EXHAUSTED": 429,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
    "INTERNAL_ERROR": 500,
}


class MlflowError(ModeltrailError):
    """A refusal with MLflow's error code, answered with MLflow's status for it."""

    type_slug, title = "mlflow", "Refused"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, error_code=code)
        self.status = STATUS.get(code, 400)


def invalid(message: str) -> MlflowError:
    return MlflowError(INVALID_PARAMETER_VALUE, message)


def invalid_fields(exc: ValidationError) -> MlflowError:
    """A modeltrail model's refusal of a request's values, in MLflow's terms."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return invalid(f"Invalid value for {where}: {first['msg']}")


def missing(message: str) -> MlflowError:
    return MlflowError(RESOURCE_DOES_NOT_EXIST, message)


def _code(status: int, slug: str, extra: dict[str, Any]) -> str:
    code = extra.get("error_code")
    if isinstance(code, str):
        return code
    if status == 404:
        # A modeltrail NotFound names the entity it looked for; a path nothing serves does not.
        return RESOURCE_DOES_NOT_EXIST if "entity" in extra else ENDPOINT_NOT_FOUND
    return {
        400: INVALID_PARAMETER_VALUE,
        401: "UNAUTHENTICATED",
        403: PERMISSION_DENIED,
        405: ENDPOINT_NOT_FOUND,
        409: "RESOURCE_CONFLICT",
        412: "RESOURCE_CONFLICT",
        413: INVALID_PARAMETER_VALUE,
        415: "BAD_REQUEST",
        422: INVALID_PARAMETER_VALUE,
        503: "TEMPORARILY_UNAVAILABLE",
    }.get(status, "INTERNAL_ERROR")


def render(
    status: int, slug: str, detail: str, headers: dict[str, str] | None, extra: dict[str, Any]
) -> JSONResponse:
    """An error on MLflow's paths as MLflow's server answers it. modeltrail's own invalid
    input (422) is MLflow's INVALID_PARAMETER_VALUE, a 400; the other statuses stay."""
    code = _code(status, slug, extra)
    if status == 422:
        status = 400
    body = {"error_code": code, "message": detail}
    return JSONResponse(body, status_code=status, headers=headers)
