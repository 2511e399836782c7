"""The building blocks of every model: the base classes that set the wire format (camelCase,
unknown fields refused in writes, NUL refused in text), the bounded field types, and who
wrote an entity."""

from __future__ import annotations

import math
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Self

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

from modeltrail.domain import limits, text


class Status(StrEnum):
    """The three status values of the thesis (runs and executions)."""

    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


def _check_annotations(value: dict[str, str] | None) -> dict[str, str] | None:
    if value is not None and len(value) > limits.MAX_ANNOTATIONS:
        raise ValueError(f"at most {limits.MAX_ANNOTATIONS} annotations are allowed")
    return value


def unstorable_number(value: Any) -> str | None:
    """Why a number is not one every database and every client holds (an integer beyond 64
    bits, a float that is not finite), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return "integers must fit in 64 bits"
    if isinstance(value, float) and not math.isfinite(value):
        return "numbers must be finite"
    return None


def check_document(value: Any) -> Any:
    """JSON every database and every client can hold: bounded nesting, finite 64-bit numbers.

    Looked through a level at a time, in one loop: a document of a few flat values (the
    usual attributes) costs a type test per value instead of a Python call per value."""
    level, depth = [value], 0
    while level:
        if depth > limits.MAX_DOCUMENT_DEPTH:
            raise ValueError(f"documents nest at most {limits.MAX_DOCUMENT_DEPTH} levels deep")
        below: list[Any] = []
        for item in level:
            kind = type(item)
            if kind is str or kind is bool or item is None:
                continue
            if kind is dict or (kind is not list and isinstance(item, dict)):
                below.extend(item.values())
            elif kind is list or isinstance(item, list):
                below.extend(item)
            elif (reason := unstorable_number(item)) is not None:
                raise ValueError(reason)
        level, depth = below, depth + 1
    return value


Document = Annotated[dict[str, Any], AfterValidator(check_document)]


def in_utc(value: datetime) -> datetime:
    """A time every database can store: in UTC (a time without a zone is taken as UTC),
    within the years 1 to 9999 once converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time falls outside the years 1 to 9999 in UTC") from None


# A time a client sends: what the store keeps (UTC) is what the answer shows.
Timestamp = Annotated[datetime, AfterValidator(in_utc)]
Name = Annotated[str, Field(min_length=1, max_length=limits.MAX_NAME)]
Version = Annotated[str, Field(min_length=1, max_length=limits.MAX_NAME)]
Uri = Annotated[str, Field(max_length=limits.MAX_URI)]
Text = Annotated[str, Field(max_length=limits.MAX_TEXT)]
ShortText = Annotated[str, Field(max_length=limits.MAX_NAME)]
StringMap = Annotated[
    dict[
        Annotated[str, Field(max_length=limits.MAX_NAME)],
        Annotated[str, Field(max_length=limits.MAX_TEXT)],
    ],
    AfterValidator(_check_annotations),
]
# Configuration values are kept as the client sent them (thesis: Map<String, String>, but
# pipelines often pass numbers and flags); only their size is bounded.
Configuration = Annotated[
    dict[Annotated[str, Field(max_length=limits.MAX_NAME)], Any],
    AfterValidator(_check_annotations),
    AfterValidator(check_document),
]
IdList = Annotated[list[uuid.UUID], Field(max_length=limits.MAX_LIST)]


class Schema(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


# Set while a model's fields are validated after its whole input was found free of NUL, so
# that the models inside it (a batch's operations) do not look through their part again.
_INSIDE_CLEAN_INPUT: ContextVar[bool] = ContextVar("inside_clean_input", default=False)


class WriteSchema(Schema):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=False
    )

    @model_validator(mode="wrap")
    @classmethod
    def _refuse_nul(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        # PostgreSQL text and JSONB cannot hold U+0000; refuse it on every database alike.
        # The whole input is looked at once, in C (a check per field was a Python call for
        # every field of every entity written); only when it may hold a NUL are the fields
        # looked through one by one, to name them.
        if _INSIDE_CLEAN_INPUT.get():
            return handler(data)  # a model it is part of found no NUL in the whole input
        if isinstance(data, dict) and not may_hold_nul(data):
            token = _INSIDE_CLEAN_INPUT.set(True)
            try:
                return handler(data)
            finally:
                _INSIDE_CLEAN_INPUT.reset(token)
        if isinstance(data, dict) and (bad := text.invalid_paths(data)):
            # Text that is not Unicode (a lone surrogate) is refused before anything else
            # is looked at: no store, fingerprint or answer can hold it.
            raise ValidationError.from_exception_data(
                cls.__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("invalid_text", detail), loc=where, input=""
                    )
                    for where, detail in bad
                ],
            )
        try:
            model = handler(data)
        except ValidationError as exc:
            if not isinstance(data, dict):
                raise
            # Name the fields holding a NUL beside the errors of the others, as a client
            # fixing its input wants to see them all.
            failed = {e["loc"][0] for e in exc.errors() if e["loc"]}
            nul = [k for k, v in data.items() if k not in failed and _has_nul([k, v])]
            if not nul:
                raise
            errors = [
                InitErrorDetails(
                    type=PydanticCustomError(e["type"], e["msg"]), loc=e["loc"], input=e["input"]
                )
                for e in exc.errors()
            ]
            raise _nul_error(cls, nul, data, errors) from None
        fields = cls.model_fields.items()
        nul = [f.alias or k for k, f in fields if _has_nul(getattr(model, k))]
        if nul:
            raise _nul_error(cls, nul, data, [])
        return model


NUL = "text may not contain NUL (U+0000) characters"


def _nul_error(
    cls: type[BaseModel], names: list[str], data: Any, errors: list[InitErrorDetails]
) -> ValidationError:
    nul = [
        InitErrorDetails(
            type=PydanticCustomError("value_error", f"Value error, {NUL}"),
            loc=(name,),
            input=data.get(name) if isinstance(data, dict) else data,
        )
        for name in names
    ]
    return ValidationError.from_exception_data(cls.__name__, errors + nul)


def may_hold_nul(data: Any) -> bool:
    """Whether a NUL may be in ``data``: orjson writes it out escaped as \\u0000 (as it does
    a literal backslash followed by u0000, which the precise look then clears)."""
    try:
        return b"\\u0000" in orjson.dumps(data)
    except TypeError:  # something JSON cannot hold: look through it
        return True


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class UpdateSchema(WriteSchema):
    """A PATCH body: a field left out keeps its value; null clears only what may be empty."""

    nullable: ClassVar[frozenset[str]] = frozenset(
        {"uri", "description", "start_time", "end_time", "pipeline", "event"}
    )

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value


class Actor(Schema):
    """Who wrote an entity: the API token the write was made with, by its name (as it was
    then) and its id (null for the admin token given by the server's configuration)."""

    name: str
    id: uuid.UUID | None = None


# Who created an entity and who changed it last; null when no token was involved (access
# control off, the embedded store, entities written before this was recorded).
CreatedBy = Annotated[Actor | None, Field(description="the API token that created it")]
UpdatedBy = Annotated[Actor | None, Field(description="the API token that changed it last")]
