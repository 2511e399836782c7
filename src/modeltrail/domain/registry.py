"""The model registry: registered models, their numbered versions, aliases, and every move.

A **registered model** is a name, unique in the store, with a description and tags. Its
**versions** are numbered 1, 2, 3... in the order they were registered (a number is never
reused, even after a version is deleted); each points at one artifact, and so at that
artifact's whole lineage. An **alias** (``champion``, ``production``) is a name per model that
points at one version and is moved atomically; each move is kept with who made it, when and
why, so the alias's version at any past time can be told. A **protected** alias is moved only
by a token with the ``deployer`` role (or ``admin``).

A model is named everywhere by a reference: ``models:/NAME@ALIAS``, ``models:/NAME/3`` (a
version), ``models:/NAME`` or ``models:/NAME/latest`` (its newest version).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from modeltrail.domain import limits
from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.models import Actor, Schema, StringMap, Text, UpdateSchema, WriteSchema

SCHEME = "models:/"
LATEST = "latest"
# Characters a model's name may not hold: they separate the parts of a reference
# (``models:/NAME@ALIAS``, ``models:/NAME/3``) and of the API's paths.
_NAME_FORBIDDEN = re.compile(r"[/@\\\x00-\x1f\x7f]")
# MLflow's registry rule (its clients set aliases through the compatible API): letters and
# digits of any script, '_' and '-'.
_ALIAS = re.compile(r"^[\w-]+$")
_VERSION_LIKE = re.compile(r"^[vV]\d+$")


def model_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a registered model, or None."""
    if not name or len(name) > limits.MAX_NAME:
        return f"a model's name has 1 to {limits.MAX_NAME} characters"
    if name != name.strip():
        return "a model's name may not start or end with white space"
    if _NAME_FORBIDDEN.search(name):
        return "a model's name may not contain '/', '@', '\\' or control characters"
    if name.startswith("models:"):
        return "a model's name may not start with 'models:'"
    return None


def alias_problem(alias: str) -> str | None:
    """Why ``alias`` cannot be an alias, or None. ``latest`` and ``v3`` would read as
    versions in a reference, so they are not aliases."""
    if not alias or len(alias) > limits.MAX_ALIAS:
        return f"an alias has 1 to {limits.MAX_ALIAS} characters"
    if not _ALIAS.match(alias):
        return "an alias holds only letters, digits, '_' and '-'"
    if alias.lower() == LATEST or _VERSION_LIKE.match(alias):
        return f"'{alias}' reads as a version; choose another alias"
    return None


def _model_name(value: str) -> str:
    if (problem := model_name_problem(value)) is not None:
        raise ValueError(problem)
    return value


def _alias(value: str) -> str:
    if (problem := alias_problem(value)) is not None:
        raise ValueError(problem)
    return value


ModelName = Annotated[str, Field(max_length=limits.MAX_NAME), AfterValidator(_model_name)]
AliasName = Annotated[str, Field(max_length=limits.MAX_ALIAS), AfterValidator(_alias)]
VersionNumber = Annotated[int, Field(ge=1, le=2**31 - 1)]
Reason = Annotated[str, Field(max_length=limits.MAX_TEXT)]


def check_model_name(name: str, *, pointer: str = "/name") -> str:
    """``name`` if it can name a model, else the problem naming ``pointer`` (422)."""
    if (problem := model_name_problem(name)) is not None:
        raise InvalidInput(problem, errors=[{"pointer": pointer, "detail": problem}])
    return name


def check_alias(alias: str, *, pointer: str = "/alias") -> str:
    if (problem := alias_problem(alias)) is not None:
        raise InvalidInput(problem, errors=[{"pointer": pointer, "detail": problem}])
    return alias


# ---------------------------------------------------------------- references


@dataclass(frozen=True)
class ModelRef:
    """A model as a user names it: a version, an alias, or (neither) the newest version."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.alias is not None:
            return f"{SCHEME}{self.name}@{self.alias}"
        if self.version is not None:
            return f"{SCHEME}{self.name}/{self.version}"
        return f"{SCHEME}{self.name}"

    @staticmethod
    def is_reference(text: str) -> bool:
        return text.startswith(SCHEME)

    @classmethod
    def parse(cls, text: str, *, pointer: str = "/uri", bare: bool = False) -> ModelRef:
        """``models:/NAME@ALIAS``, ``models:/NAME/VERSION``, ``models:/NAME[/latest]``;
        with ``bare`` also the same without ``models:/`` (``NAME@ALIAS``, ``NAME/3``)."""

        def refuse(detail: str) -> InvalidInput:
            return InvalidInput(
                f"'{text[:300]}' is not a model reference: {detail}",
                errors=[{"pointer": pointer, "detail": detail}],
            )

        if text.startswith(SCHEME):
            rest = text[len(SCHEME) :]
        elif bare:
            rest = text
        else:
            raise refuse(f"a model reference starts with '{SCHEME}'")
        version: int | None = None
        alias: str | None = None
        if "@" in rest:
            rest, _, alias = rest.rpartition("@")
            if (problem := alias_problem(alias)) is not None:
                raise refuse(problem)
        elif "/" in rest:
            rest, _, tail = rest.rpartition("/")
            if tail.lower() != LATEST:
                if not tail.isascii() or not tail.isdigit() or not 1 <= int(tail) < 2**31:
                    raise refuse(
                        "after the model's name comes @ALIAS, /VERSION (a number from 1) or /latest"
                    )
                version = int(tail)
        if (problem := model_name_problem(rest)) is not None:
            raise refuse(problem)
        return cls(rest, version, alias)


# ---------------------------------------------------------------- registered models


class RegisteredModelCreate(WriteSchema):
    name: ModelName
    description: Text | None = None
    tags: StringMap = Field(default_factory=dict)


class RegisteredModelUpdate(UpdateSchema):
    """Change a model: a new ``name`` renames it (its versions, aliases and history follow);
    ``tags`` replaces all its tags."""

    nullable: ClassVar[frozenset[str]] = frozenset({"description"})
    name: ModelName | None = None
    description: Text | None = None
    tags: StringMap | None = None


class RegisteredModel(Schema):
    id: uuid.UUID
    name: str
    description: str | None
    tags: dict[str, str]
    create_time: datetime
    update_time: datetime
    latest_version: int | None = Field(description="the newest version's number")
    versions: int = Field(description="how many versions it has")
    aliases: dict[str, int] = Field(description="each alias and the version it points at")
    protected_aliases: list[str] = Field(
        default_factory=list, description="aliases only a deployer or an admin may move"
    )
    created_by: Actor | None = None
    updated_by: Actor | None = None


# ---------------------------------------------------------------- versions


class ModelVersionCreate(WriteSchema):
    artifact: uuid.UUID = Field(description="the artifact (a trained model) this version is")
    description: Text | None = None
    tags: StringMap = Field(default_factory=dict)


class ModelVersionUpdate(UpdateSchema):
    nullable: ClassVar[frozenset[str]] = frozenset({"description"})
    description: Text | None = None
    tags: StringMap | None = None


class ArtifactSummary(Schema):
    id: uuid.UUID
    name: str
    version: str
    kind: str
    uri: str | None = None
    fingerprint: str


class RunSummary(Schema):
    id: uuid.UUID
    name: str
    status: str
    experiment: uuid.UUID


class ModelVersion(Schema):
    id: uuid.UUID
    model: str
    version: int
    artifact: ArtifactSummary
    run: RunSummary | None = Field(default=None, description="the run that made the artifact")
    execution: uuid.UUID | None = Field(
        default=None, description="the step that wrote the artifact"
    )
    inputs: list[ArtifactSummary] = Field(
        default_factory=list, description="what that step read (its data), triggers left out"
    )
    description: str | None = None
    tags: dict[str, str]
    aliases: list[str] = Field(default_factory=list)
    metrics: dict[str, Any] | None = Field(
        default=None, description="the metrics recorded of its artifact: name -> value"
    )
    create_time: datetime
    update_time: datetime
    created_by: Actor | None = None
    updated_by: Actor | None = None

    @property
    def uri(self) -> str:
        return str(ModelRef(self.model, self.version))


class TagSet(WriteSchema):
    value: Annotated[str, Field(max_length=limits.MAX_TEXT)]


# ---------------------------------------------------------------- aliases


class AliasAction(StrEnum):
    SET = "set"
    MOVE = "move"
    REMOVE = "remove"
    PROTECT = "protect"
    UNPROTECT = "unprotect"


_VERSION_OR_REFERENCE = (
    "a version number (1 to 2147483647), or a reference to a version: models:/NAME/3 or "
    f"models:/NAME@ALIAS, at most {limits.MAX_URI} characters"
)


def _one_version_error(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """One error at the field, not one per member of the union under names of pydantic's own
    (``/version/constrained-int``); and ``true`` is not version 1."""
    if isinstance(value, bool):
        raise PydanticCustomError("version", _VERSION_OR_REFERENCE)
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError("version", _VERSION_OR_REFERENCE) from None


class AliasSet(WriteSchema):
    version: Annotated[
        VersionNumber | Annotated[str, Field(max_length=limits.MAX_URI)],
        WrapValidator(_one_version_error),
    ] = Field(
        description="the version's number, or a reference to it: `models:/NAME/3`, or "
        "`models:/NAME@champion` for the version another alias points at"
    )
    reason: Reason | None = Field(default=None, description="why it moves, kept in its history")


class AliasProtection(WriteSchema):
    protected: bool
    reason: Reason | None = None


class Alias(Schema):
    model: str
    alias: str
    version: int | None = Field(description="null: the alias points at nothing (then)")
    previous_version: int | None = Field(
        default=None,
        description="the version it pointed at before the one it points at (read one alias)",
    )
    protected: bool
    update_time: datetime | None = Field(
        default=None, description="when it was last set or moved (protection is in its history)"
    )
    updated_by: Actor | None = Field(default=None, description="who last set or moved it")
    reason: str | None = Field(
        default=None, description="the reason given when it was set or moved"
    )


class AliasEvent(Schema):
    """One change of an alias: set, moved, removed, protected or unprotected."""

    id: uuid.UUID
    model: str
    alias: str
    action: AliasAction
    from_version: int | None = None
    to_version: int | None = None
    time: datetime
    actor: Actor | None = None
    reason: str | None = None
    protected: bool


# Moving one of these aliases is deploying the version it moves to: it counts in the history
# of the runs that made that version ("runs since the last deployment").
DEPLOY_ALIASES = frozenset({"production"})


class Deployment(Schema):
    """A move of a deploying alias (``production``) to a version a run made."""

    model: str
    alias: str
    version: int
    time: datetime
    run: uuid.UUID
    actor: Actor | None = None
    reason: str | None = None
