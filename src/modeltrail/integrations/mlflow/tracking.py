"""MLflow's tracking API over modeltrail's own entities: what its experiments (``experiments``)
and runs (``runs``) share: ids, times, MLflow's state beside an entity, and MLflow's checks of
keys and values.

An MLflow experiment is an experiment (tags are its annotations); a run is a run whose params
are its configuration and whose tags are its annotations (``mlflow.parentRunId`` keeps a nested
run's parent, ``mlflow.runName`` its name). What MLflow keeps beyond that (soft deletion, the
KILLED and SCHEDULED statuses, an artifact location) is an ``MlflowStateRow`` beside the entity.
MLflow's experiment ``0`` (its Default experiment) is the experiment with the nil UUID.

Ids on the wire: an experiment's is its UUID (``0`` for Default), a run's is its UUID as 32
hex digits, as MLflow's own; either form is accepted back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain import models as m
from modeltrail.integrations.mlflow.errors import (
    invalid,
    invalid_fields,
    missing,
)
from modeltrail.store.tables import (
    MlflowStateRow,
)

DEFAULT_EXPERIMENT = uuid.UUID(int=0)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Ids modeltrail derives for what MLflow's API makes beside a run (its execution, datasets).
NAMESPACE = uuid.UUID("5b0f3f0e-2d7c-4f5e-9a57-6d6c666c6f77")
DEFAULT_NAME = "Default"

RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
TO_STATUS = {
    "RUNNING": m.Status.RUNNING,
    "SCHEDULED": m.Status.RUNNING,
    "FINISHED": m.Status.SUCCESS,
    "FAILED": m.Status.FAILED,
    "KILLED": m.Status.FAILED,
}
FROM_STATUS = {m.Status.RUNNING: "RUNNING", m.Status.SUCCESS: "FINISHED", m.Status.FAILED: "FAILED"}
VIEW_TYPES = {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3, "1": 1, "2": 2, "3": 3}

# MLflow's own limits (mlflow.utils.validation), refused as its server refuses them.
MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
MAX_EXPERIMENT_NAME = 500
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000
MAX_RESULTS = 50_000
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"
PARENT_TAG = "mlflow.parentRunId"


# ---------------------------------------------------------------- ids and times


def experiment_id(value: uuid.UUID) -> str:
    return "0" if value == DEFAULT_EXPERIMENT else str(value)


def run_id(value: uuid.UUID) -> str:
    return value.hex


def parse_experiment_id(text: Any) -> uuid.UUID:
    if text in ("0", 0):
        return DEFAULT_EXPERIMENT
    try:
        return uuid.UUID(str(text))
    except ValueError:
        raise missing(f"No Experiment with id={text}") from None


def parse_run_id(text: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        raise missing(f"Run with id={text} not found") from None


def ms(value: datetime | None) -> int | None:
    # Whole milliseconds, floored exactly (a float's product can land one below).
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // timedelta(milliseconds=1)


def from_ms(value: Any, name: str) -> datetime | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        number = int(value)
        return datetime.fromtimestamp(number / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise invalid(f"Invalid value {value!r} for parameter '{name}': milliseconds") from None


def _model(cls: type[BaseModel], **fields: Any) -> Any:
    """A modeltrail write model, its refusals said in MLflow's terms."""
    try:
        return cls(**fields)
    except ValidationError as exc:
        raise invalid_fields(exc) from None


def _text(value: Any) -> str:
    """A configuration value as an MLflow param (a string)."""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits, which orjson does not write
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------- states


def _states(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, MlflowStateRow]:
    wanted = list(ids)
    if not wanted:
        return {}
    rows: dict[uuid.UUID, MlflowStateRow] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = select(MlflowStateRow).where(MlflowStateRow.entity_id.in_(chunk))
        rows.update((row.entity_id, row) for row in session.scalars(query))
    return rows


def _state(session: Session, entity_id: uuid.UUID) -> MlflowStateRow:
    row = session.get(MlflowStateRow, entity_id)
    if row is None:
        row = MlflowStateRow(entity_id=entity_id, deleted=False)
        session.add(row)
    return row


def _stage(state: MlflowStateRow | None) -> str:
    return "deleted" if state is not None and state.deleted else "active"


def _in_view(state: MlflowStateRow | None, view: int) -> bool:
    deleted = state is not None and state.deleted
    return view == 3 or (view == 2) == deleted


def parse_view(value: Any) -> int:
    if value in (None, ""):
        return 1
    view = VIEW_TYPES.get(str(value).upper())
    if view is None:
        raise invalid(f"Invalid view type {value!r}: ACTIVE_ONLY, DELETED_ONLY or ALL")
    return view


# ---------------------------------------------------------------- entities


def _tags(items: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items.items()]


def execution_of(run: uuid.UUID) -> uuid.UUID:
    """The id of the execution that stands for an MLflow run's work (``lineage``)."""
    return uuid.uuid5(NAMESPACE, f"execution\x1f{run}")


def _check_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or not key:
        raise invalid(f"Missing value for required parameter 'key' of the {what}")
    if len(key) > MAX_KEY:
        raise invalid(
            f"{what.capitalize()} key '{key[:40]}...' had length {len(key)}, "
            f"which exceeded length limit of {MAX_KEY}"
        )
    if ".." in key.split("/") or key.startswith("/"):
        raise invalid(f"Invalid {what} key {key!r}: a name may not be a path out of its run")
    return key


def _check_tag(key: Any, value: Any, limit: int = MAX_TAG_VALUE) -> tuple[str, str]:
    key = _check_key(key, "tag")
    value = "" if value is None else value
    if not isinstance(value, str):
        raise invalid(f"Invalid value for tag {key!r}: a string")
    if len(value) > limit:
        raise invalid(
            f"Tag value for key {key!r} had length {len(value)}, which exceeded "
            f"length limit of {limit}"
        )
    return key, value


def _check_param(key: Any, value: Any) -> tuple[str, str]:
    key = _check_key(key, "param")
    value = "" if value is None else value
    if not isinstance(value, str):
        value = _text(value)
    if len(value) > MAX_PARAM_VALUE:
        raise invalid(
            f"Param value for key {key!r} had length {len(value)}, which exceeded "
            f"length limit of {MAX_PARAM_VALUE}"
        )
    return key, value
