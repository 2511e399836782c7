"""MLflow's runs: create, read, update, log params and tags (metrics through ``metrics``),
delete and search. A run is modeltrail's run; its params are its configuration, its tags its
annotations."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from modeltrail.domain import models as m
from modeltrail.domain.errors import ModeltrailError
from modeltrail.integrations.mlflow import access, run_query, search
from modeltrail.integrations.mlflow.errors import (
    MlflowError,
    invalid,
    missing,
)
from modeltrail.integrations.mlflow.experiments import _active_experiment
from modeltrail.integrations.mlflow.tracking import (
    FROM_STATUS,
    RUN_NAME_TAG,
    RUN_STATUSES,
    TO_STATUS,
    USER_TAG,
    _check_tag,
    _model,
    _stage,
    _state,
    _states,
    _tags,
    _text,
    execution_of,
    experiment_id,
    from_ms,
    ms,
    parse_experiment_id,
    parse_run_id,
    run_id,
)
from modeltrail.services.metadata import Metadata, Transaction
from modeltrail.store.tables import (
    ExecutionRow,
    MlflowStateRow,
    RunRow,
    utcnow,
)

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


def _run_row(session: Session, shown: Any, *, write: bool = False) -> RunRow:
    """The run, to read or to change (``write``) as the request's token may: a run of an
    experiment it may not read is as missing as one that is not there."""
    row = session.get(RunRow, parse_run_id(shown))
    if row is None:
        raise _run_missing(shown)
    _check_run(session, row.experiment_id, shown, write=write)
    return row


def _run_missing(shown: Any) -> MlflowError:
    return missing(f"Run with id={shown} not found")


def _check_run(session: Session, experiment: uuid.UUID, shown: Any, *, write: bool) -> None:
    access.check_experiment(session, experiment, write=write, absent=lambda: _run_missing(shown))


def _active_run(session: Session, shown: Any) -> RunRow:
    """The active run, to change it."""
    row = _run_row(session, shown, write=True)
    if _stage(session.get(MlflowStateRow, row.id)) != "active":
        raise _not_active(shown)
    return row


def _not_active(shown: Any) -> MlflowError:
    return invalid(f"The run {shown} must be in the 'active' state. Current state is deleted.")


# Built once: every logged step of a training loop asks it.
_RUN_EXPERIMENT_DELETED = (
    select(RunRow.experiment_id, MlflowStateRow.deleted)
    .outerjoin(MlflowStateRow, MlflowStateRow.entity_id == RunRow.id)
    .where(RunRow.id == bindparam("run"))
)


def _active_run_experiment(session: Session, shown: Any) -> tuple[uuid.UUID, uuid.UUID]:
    """(run, experiment) of an active run: ``_active_run`` reading two columns, not the
    run's parameters and tags, for a request that logs metrics only."""
    run = parse_run_id(shown)
    # On the connection: two plain columns need none of the ORM's execution.
    found = session.connection().execute(_RUN_EXPERIMENT_DELETED, {"run": run}).first()
    if found is None:
        raise _run_missing(shown)
    _check_run(session, found.experiment_id, shown, write=True)
    if found.deleted:
        raise _not_active(shown)
    return run, found.experiment_id


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


def read_runs(
    session: Session,
    rows: list[RunRow],
    extras: Any = None,
    states: dict[uuid.UUID, MlflowStateRow] | None = None,
) -> list[dict[str, Any]]:
    """MLflow's answers for ``rows``; ``extras(session, ids)`` adds what is kept beside a run's
    row (metrics, inputs, outputs). ``states``: the rows' MLflow states, when the caller read
    them with the rows (read here otherwise)."""
    if states is None:
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
        row = _run_row(session, shown, write=True)
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
        # An experiment the token may not read is left out, as one that is not there.
        readable = access.readable_experiments(session, experiments)
        if not readable:
            return [], False
        dialect = session.get_bind().dialect.name
        query = run_query.runs_query(
            dialect, experiments=readable, view=view, clauses=clauses, orders=orders
        )
        # Matched, ordered and paged by the database; one row more tells of a next page. The
        # runs' MLflow states come with them: the query joins them already.
        paged = query.add_columns(MlflowStateRow).offset(offset).limit(max_results + 1)
        rows = session.execute(paged).all()
        page = rows[:max_results]
        states = {run.id: state for run, state in page if state is not None}
        return read_runs(session, [run for run, _ in page], extras, states), len(rows) > max_results

    page, more = meta.query(read)
    answer: dict[str, Any] = {"runs": page}
    if more:
        answer["next_page_token"] = search.encode_page_token(offset + max_results)
    return answer
