"""MLflow's tracking operations on modeltrail's own entities.

An MLflow experiment is an experiment (tags are its annotations); a run is a run whose params
are its configuration and whose tags are its annotations (``mlflow.parentRunId`` keeps a nested
run's parent, ``mlflow.runName`` its name). What MLflow keeps beyond that (soft deletion, the
KILLED and SCHEDULED statuses, an artifact location) is an ``MlflowStateRow`` beside the entity.
MLflow's experiment ``0`` (its Default experiment) is the experiment with the nil UUID.

Ids on the wire: an experiment's is its UUID (``0`` for Default), a run's is its UUID as 32
hex digits, as MLflow's own; either form is accepted back.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain import limits
from modeltrail.domain import models as m
from modeltrail.domain.errors import ModeltrailError
from modeltrail.integrations.mlflow import run_query, search
from modeltrail.integrations.mlflow.errors import (
    RESOURCE_ALREADY_EXISTS,
    MlflowError,
    invalid,
    missing,
)
from modeltrail.services.metadata import Metadata, Transaction
from modeltrail.store.tables import (
    ExecutionRow,
    ExperimentRow,
    MlflowStateRow,
    RunRow,
    utcnow,
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
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise invalid(f"Invalid value for {where}: {first['msg']}") from None


def _text(value: Any) -> str:
    """A configuration value as an MLflow param (a string)."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


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


# ---------------------------------------------------------------- experiments


def _tags(items: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items.items()]


def experiment_json(row: ExperimentRow, state: MlflowStateRow | None) -> dict[str, Any]:
    eid = experiment_id(row.id)
    update = state.update_time if state is not None and state.update_time else row.create_time
    return {
        "experiment_id": eid,
        "name": row.name,
        "artifact_location": (state.artifact_location if state else None)
        or f"mlflow-artifacts:/{eid}",
        "lifecycle_stage": _stage(state),
        "creation_time": ms(row.create_time),
        "last_update_time": ms(update),
        "tags": _tags(row.annotations),
    }


def _experiment_row(session: Session, eid: uuid.UUID, shown: Any) -> ExperimentRow:
    row = session.get(ExperimentRow, eid)
    if row is None:
        raise missing(f"No Experiment with id={shown} exists")
    return row


def _by_name(session: Session, name: str) -> ExperimentRow | None:
    # Names are unique among experiments made through MLflow's API; among those made otherwise
    # (two versions of one name) MLflow's client sees the newest.
    return session.scalars(
        select(ExperimentRow)
        .where(ExperimentRow.name == name)
        .order_by(ExperimentRow.create_time.desc(), ExperimentRow.id)
        .limit(1)
    ).first()


def ensure_default(meta: Metadata) -> None:
    """Make MLflow's Default experiment (id 0), where runs go that name no experiment."""

    def make(session: Session) -> None:
        if session.get(ExperimentRow, DEFAULT_EXPERIMENT) is None:
            meta.create_in(
                session, "experiment", m.ExperimentCreate(id=DEFAULT_EXPERIMENT, name=DEFAULT_NAME)
            )

    meta.call(make)


def _check_experiment_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise invalid("Invalid experiment name: the name must be a non-empty string")
    if len(name) > min(MAX_EXPERIMENT_NAME, limits.MAX_NAME):
        raise invalid(f"Invalid experiment name: at most {limits.MAX_NAME} characters")
    return name


def create_experiment(
    meta: Metadata, name: Any, artifact_location: str | None, tags: Mapping[str, str]
) -> str:
    name = _check_experiment_name(name)
    for key, value in tags.items():
        _check_tag(key, value, MAX_TAG_VALUE * 3)
    data = _model(m.ExperimentCreate, name=name, annotations=dict(tags))

    def create(tx: Transaction) -> str:
        if _by_name(tx.session, name) is not None:
            raise MlflowError(RESOURCE_ALREADY_EXISTS, f"Experiment(name={name}) already exists.")
        made = tx.create("experiment", data)
        if artifact_location:
            _state(tx.session, made.id).artifact_location = artifact_location
        return experiment_id(made.id)

    return meta.write(create)


def get_experiment(meta: Metadata, shown: Any) -> dict[str, Any]:
    eid = parse_experiment_id(shown)

    def read(session: Session) -> dict[str, Any]:
        row = _experiment_row(session, eid, shown)
        return experiment_json(row, session.get(MlflowStateRow, eid))

    return meta.query(read)


def get_experiment_by_name(meta: Metadata, name: Any) -> dict[str, Any]:
    if not isinstance(name, str) or not name:
        raise invalid("Missing value for required parameter 'experiment_name'")

    def read(session: Session) -> dict[str, Any]:
        row = _by_name(session, name)
        if row is None:
            raise missing(f"Could not find experiment with name '{name}'")
        return experiment_json(row, session.get(MlflowStateRow, row.id))

    return meta.query(read)


def search_experiments(
    meta: Metadata,
    *,
    view: int,
    filter_string: str | None,
    order_by: list[str],
    max_results: int,
    page_token: str | None,
) -> dict[str, Any]:
    clauses = search.parse_filter(filter_string, search.EXPERIMENTS)
    orders = search.parse_order_by(order_by, search.EXPERIMENTS)
    offset = search.decode_page_token(page_token)

    def read(session: Session) -> list[dict[str, Any]]:
        rows = list(session.scalars(select(ExperimentRow)))
        states = _states(session, [r.id for r in rows])
        return [
            experiment_json(r, states.get(r.id)) for r in rows if _in_view(states.get(r.id), view)
        ]

    found = meta.query(read)

    def lookup(e: dict[str, Any], kind: str, key: str) -> Any:
        if kind == search.TAG:
            return next((t["value"] for t in e["tags"] if t["key"] == key), None)
        return e.get(key)

    found = [e for e in found if search.matches(clauses, partial(lookup, e))]
    found.sort(key=lambda e: (-e["creation_time"], e["experiment_id"]))
    search.sort(found, orders, lookup)
    page = found[offset : offset + max_results]
    answer: dict[str, Any] = {"experiments": page}
    if offset + max_results < len(found):
        answer["next_page_token"] = search.encode_page_token(offset + max_results)
    return answer


def _active_experiment(session: Session, shown: Any) -> ExperimentRow:
    eid = parse_experiment_id(shown)
    row = _experiment_row(session, eid, shown)
    if _stage(session.get(MlflowStateRow, eid)) != "active":
        raise invalid(
            f"The experiment {shown} must be in the 'active' state. Current state is deleted."
        )
    return row


def _touch(session: Session, entity_id: uuid.UUID) -> MlflowStateRow:
    state = _state(session, entity_id)
    state.update_time = utcnow()
    return state


def update_experiment(meta: Metadata, shown: Any, new_name: Any) -> None:
    name = _check_experiment_name(new_name)

    def rename(tx: Transaction) -> None:
        row = _active_experiment(tx.session, shown)
        other = _by_name(tx.session, name)
        if other is not None and other.id != row.id:
            raise MlflowError(RESOURCE_ALREADY_EXISTS, f"Experiment(name={name}) already exists.")
        tx.update("experiment", row.id, _model(m.ExperimentUpdate, name=name))
        _touch(tx.session, row.id)

    meta.write(rename)


def set_experiment_lifecycle(meta: Metadata, shown: Any, *, deleted: bool) -> None:
    eid = parse_experiment_id(shown)

    def change(session: Session) -> None:
        _experiment_row(session, eid, shown)
        state = _touch(session, eid)
        if eid == DEFAULT_EXPERIMENT and deleted:
            raise invalid("Cannot delete the default experiment '0'. This is an internal error.")
        if not deleted and not state.deleted:
            raise invalid(
                f"Cannot restore an active experiment. Experiment {shown} is not in the deleted "
                "state."
            )
        state.deleted = deleted
        state.delete_time = utcnow() if deleted else None

    meta.call(change)


def set_experiment_tag(meta: Metadata, shown: Any, key: Any, value: Any) -> None:
    key, value = _check_tag(key, value, MAX_TAG_VALUE * 3)

    def tag(tx: Transaction) -> None:
        row = _active_experiment(tx.session, shown)
        tags = {**row.annotations, key: value}
        tx.update("experiment", row.id, _model(m.ExperimentUpdate, annotations=tags))
        _touch(tx.session, row.id)

    meta.write(tag)


def delete_experiment_tag(meta: Metadata, shown: Any, key: Any) -> None:
    def untag(tx: Transaction) -> None:
        row = _active_experiment(tx.session, shown)
        if key not in row.annotations:
            raise missing(f"No tag with name: {key} in experiment with id {shown}")
        tags = {k: v for k, v in row.annotations.items() if k != key}
        tx.update("experiment", row.id, _model(m.ExperimentUpdate, annotations=tags))
        _touch(tx.session, row.id)

    meta.write(untag)


# ---------------------------------------------------------------- runs


_ADJECTIVES = ("bold", "calm", "eager", "fair", "gentle", "keen", "lively", "merry", "noble")
_NOUNS = ("bass", "cat", "crane", "deer", "fox", "hawk", "lark", "mole", "owl", "ram", "swan")


def _run_name() -> str:
    # MLflow names an unnamed run with two words and a number; so does modeltrail for it.
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(100, 999)}"


def _status(row: RunRow, state: MlflowStateRow | None) -> str:
    base = FROM_STATUS[m.Status(row.status)]
    if state is not None and state.status and TO_STATUS[state.status].value == row.status:
        return state.status
    return base


def execution_of(run: uuid.UUID) -> uuid.UUID:
    """The id of the execution that stands for an MLflow run's work (``lineage``)."""
    return uuid.uuid5(NAMESPACE, f"execution\x1f{run}")


def follow_run(tx: Transaction, run: RunRow) -> None:
    """Keep the run's execution (if it has one) in the run's status and end."""
    eid = execution_of(run.id)
    row = tx.session.get(ExecutionRow, eid)
    if row is None or (row.status, row.end_time) == (run.status, run.end_time):
        return
    update = _model(m.ExecutionUpdate, status=m.Status(run.status), end_time=run.end_time)
    tx.update("execution", eid, update, mirror=True)


def run_json(
    row: RunRow,
    state: MlflowStateRow | None,
    metrics: list[dict[str, Any]] | None = None,
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    rid = run_id(row.id)
    eid = experiment_id(row.experiment_id)
    info: dict[str, Any] = {
        "run_id": rid,
        "run_uuid": rid,
        "run_name": row.name,
        "experiment_id": eid,
        "user_id": row.annotations.get(USER_TAG, ""),
        "status": _status(row, state),
        "start_time": ms(row.create_time),
        "artifact_uri": f"mlflow-artifacts:/{eid}/{rid}/artifacts",
        "lifecycle_stage": _stage(state),
    }
    if row.end_time is not None:
        info["end_time"] = ms(row.end_time)
    return {
        "info": info,
        "data": {
            "metrics": metrics or [],
            "params": [{"key": k, "value": _text(v)} for k, v in row.configuration.items()],
            "tags": _tags(row.annotations),
        },
        "inputs": inputs or {},
        "outputs": outputs or {},
    }


def _run_row(session: Session, shown: Any) -> RunRow:
    row = session.get(RunRow, parse_run_id(shown))
    if row is None:
        raise missing(f"Run with id={shown} not found")
    return row


def _active_run(session: Session, shown: Any) -> RunRow:
    row = _run_row(session, shown)
    if _stage(session.get(MlflowStateRow, row.id)) != "active":
        raise _not_active(shown)
    return row


def _not_active(shown: Any) -> MlflowError:
    return invalid(f"The run {shown} must be in the 'active' state. Current state is deleted.")


def _active_run_experiment(session: Session, shown: Any) -> tuple[uuid.UUID, uuid.UUID]:
    """(run, experiment) of an active run: ``_active_run`` reading two columns, not the
    run's parameters and tags, for a request that logs metrics only."""
    run = parse_run_id(shown)
    query = (
        select(RunRow.experiment_id, MlflowStateRow.deleted)
        .outerjoin(MlflowStateRow, MlflowStateRow.entity_id == RunRow.id)
        .where(RunRow.id == run)
    )
    found = session.execute(query).first()
    if found is None:
        raise missing(f"Run with id={shown} not found")
    if found.deleted:
        raise _not_active(shown)
    return run, found.experiment_id


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


def create_run(
    meta: Metadata,
    *,
    experiment: Any,
    start_time: Any,
    tags: Mapping[str, str],
    run_name: Any,
    user_id: Any,
) -> dict[str, Any]:
    checked = dict(_check_tag(k, v) for k, v in tags.items())
    name = run_name or checked.get(RUN_NAME_TAG) or _run_name()
    if not isinstance(name, str):
        raise invalid("Invalid value for parameter 'run_name': a string")
    if run_name and checked.get(RUN_NAME_TAG, run_name) != run_name:
        raise invalid(
            f"Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
            f"different values (run_name='{run_name}', mlflow.runName='{checked[RUN_NAME_TAG]}')."
        )
    checked[RUN_NAME_TAG] = name
    if user_id and USER_TAG not in checked and isinstance(user_id, str):
        checked[USER_TAG] = user_id
    start = from_ms(start_time, "start_time")

    def create(tx: Transaction) -> dict[str, Any]:
        exp = _active_experiment(tx.session, experiment)
        data = _model(
            m.RunCreate,
            experiment=exp.id,
            name=name,
            create_time=start,
            annotations=checked,
        )
        made = tx.create("run", data)
        return run_json(_run_row(tx.session, made.id), None)

    return meta.write(create)


def read_runs(session: Session, rows: list[RunRow], extras: Any = None) -> list[dict[str, Any]]:
    """MLflow's answers for ``rows``; ``extras(session, ids)`` adds what is kept beside a run's
    row (metrics, inputs, outputs)."""
    states = _states(session, [r.id for r in rows])
    details = extras(session, [r.id for r in rows]) if extras else {}
    return [run_json(r, states.get(r.id), **details.get(r.id, {})) for r in rows]


def get_run(meta: Metadata, shown: Any, extras: Any = None) -> dict[str, Any]:
    def read(session: Session) -> dict[str, Any]:
        return read_runs(session, [_run_row(session, shown)], extras)[0]

    return meta.query(read)


def update_run(
    meta: Metadata, shown: Any, *, status: Any, end_time: Any, run_name: Any
) -> dict[str, Any]:
    if status not in (None, "") and status not in RUN_STATUSES:
        raise invalid(f"Invalid value {status!r} for parameter 'status': one of {RUN_STATUSES}")
    end = from_ms(end_time, "end_time")
    if run_name is not None and not isinstance(run_name, str):
        raise invalid("Invalid value for parameter 'run_name': a string")

    def update(tx: Transaction) -> dict[str, Any]:
        row = _active_run(tx.session, shown)
        changes: dict[str, Any] = {}
        if status:
            target = TO_STATUS[status]
            changes["status"] = target
            if target is m.Status.RUNNING:
                changes["end_time"] = None
            elif end is not None:
                changes["end_time"] = end
            state = _state(tx.session, row.id)
            state.status = status if status in ("KILLED", "SCHEDULED") else None
        elif end is not None and row.status != m.Status.RUNNING.value:
            changes["end_time"] = end
        if run_name:
            changes["name"] = run_name
            changes["annotations"] = {**row.annotations, RUN_NAME_TAG: run_name}
        if changes:
            # MLflow's client is the authority on its runs' status: a finished run resumed
            # with start_run(run_id=...) is running again.
            tx.update("run", row.id, _model(m.RunUpdate, **changes), mirror=True)
            follow_run(tx, row)
        info: dict[str, Any] = run_json(row, tx.session.get(MlflowStateRow, row.id))["info"]
        return info

    return meta.write(update)


def set_run_lifecycle(meta: Metadata, shown: Any, *, deleted: bool) -> None:
    def change(session: Session) -> None:
        row = _run_row(session, shown)
        state = _state(session, row.id)
        state.deleted = deleted
        state.delete_time = utcnow() if deleted else None

    meta.call(change)


def log_batch(
    meta: Metadata,
    shown: Any,
    *,
    params: list[tuple[str, str]],
    tags: list[tuple[str, str]],
    metrics_writer: Any = None,
) -> None:
    """Params and tags of one run in one transaction, with ``metrics_writer(tx, run,
    experiment)`` for its metrics: all of them are stored, or none."""

    def log(tx: Transaction) -> None:
        if not params and not tags:
            run, experiment = _active_run_experiment(tx.session, shown)
            if metrics_writer is not None:
                metrics_writer(tx, run, experiment)
            return
        row = _active_run(tx.session, shown)
        config = dict(row.configuration)
        sent: dict[str, str] = {}
        for key, value in params:
            before = sent.get(key, config.get(key))
            if before is not None and _text(before) != value:
                raise invalid(
                    f"Changing param values is not allowed. Param with key='{key}' was already "
                    f"logged with value='{_text(before)}' for run ID='{run_id(row.id)}'. "
                    f"Attempted logging new value '{value}'."
                )
            sent[key] = value
        new = {k: v for k, v in sent.items() if k not in config}
        annotations = dict(row.annotations)
        annotations.update(tags)
        changes: dict[str, Any] = {}
        if new:
            changes["configuration"] = {**config, **new}
        if annotations != row.annotations:
            changes["annotations"] = annotations
            renamed = dict(tags).get(RUN_NAME_TAG)
            if renamed:
                changes["name"] = renamed
        if changes:
            tx.update("run", row.id, _model(m.RunUpdate, **changes), mirror=True)
        if metrics_writer is not None:
            metrics_writer(tx, row.id, row.experiment_id)

    try:
        meta.write(log)
    except MlflowError:
        raise
    except ModeltrailError as exc:
        if exc.status in (404, 409, 422):
            raise invalid(exc.detail) from None
        raise


def delete_tag(meta: Metadata, shown: Any, key: Any) -> None:
    def untag(tx: Transaction) -> None:
        row = _active_run(tx.session, shown)
        if key not in row.annotations:
            raise missing(f"No tag with name: {key} in run with id {shown}")
        tags = {k: v for k, v in row.annotations.items() if k != key}
        tx.update("run", row.id, _model(m.RunUpdate, annotations=tags), mirror=True)

    meta.write(untag)


def search_runs(
    meta: Metadata,
    *,
    experiment_ids: list[Any],
    filter_string: str | None,
    view: int,
    max_results: int,
    order_by: list[str],
    page_token: str | None,
    extras: Any = None,
) -> dict[str, Any]:
    clauses = search.parse_filter(filter_string, search.RUNS)
    orders = search.parse_order_by(order_by, search.RUNS)
    offset = search.decode_page_token(page_token)
    experiments = [parse_experiment_id(e) for e in experiment_ids]

    def read(session: Session) -> tuple[list[dict[str, Any]], bool]:
        if not experiments:
            return [], False
        dialect = session.get_bind().dialect.name
        query = run_query.runs_query(
            dialect, experiments=experiments, view=view, clauses=clauses, orders=orders
        )
        # Matched, ordered and paged by the database; one row more tells of a next page.
        rows = list(session.scalars(query.offset(offset).limit(max_results + 1)))
        return read_runs(session, rows[:max_results], extras), len(rows) > max_results

    page, more = meta.query(read)
    answer: dict[str, Any] = {"runs": page}
    if more:
        answer["next_page_token"] = search.encode_page_token(offset + max_results)
    return answer
