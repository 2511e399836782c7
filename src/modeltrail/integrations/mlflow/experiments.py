"""MLflow's experiments: an experiment is modeltrail's experiment, its tags its annotations;
MLflow's Default experiment (id ``0``) is the experiment with the nil UUID, made by the first
request that may write (``routes``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain import limits
from modeltrail.domain import models as m
from modeltrail.integrations.mlflow import access, search
from modeltrail.integrations.mlflow.errors import (
    RESOURCE_ALREADY_EXISTS,
    MlflowError,
    invalid,
    missing,
)
from modeltrail.integrations.mlflow.tracking import (
    DEFAULT_EXPERIMENT,
    DEFAULT_NAME,
    MAX_EXPERIMENT_NAME,
    MAX_TAG_VALUE,
    _check_tag,
    _in_view,
    _model,
    _stage,
    _state,
    _states,
    _tags,
    experiment_id,
    ms,
    parse_experiment_id,
)
from modeltrail.services.metadata import Metadata, Transaction
from modeltrail.store.tables import (
    ExperimentRow,
    MlflowStateRow,
    utcnow,
)


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


def _experiment_row(
    session: Session, eid: uuid.UUID, shown: Any, *, write: bool = False
) -> ExperimentRow:
    """The experiment, to read or to change (``write``) as the request's token may: one it
    may not read is as missing as one that is not there."""

    def absent() -> MlflowError:
        return missing(f"No Experiment with id={shown} exists")

    row = session.get(ExperimentRow, eid)
    if row is None:
        raise absent()
    access.check_experiment(session, eid, write=write, absent=absent)
    return row


def _by_name(session: Session, name: str) -> ExperimentRow | None:
    # Names are unique among experiments made through MLflow's API; among those made otherwise
    # (two versions of one name) MLflow's client sees the newest. A name is looked up among
    # the experiments the request may read: another's name is as free as one never used.
    query = access.experiments_query(session, select(ExperimentRow))
    return session.scalars(
        query.where(ExperimentRow.name == name)
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
        rows = list(session.scalars(access.experiments_query(session, select(ExperimentRow))))
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
    """The active experiment, to change it or what it holds."""
    eid = parse_experiment_id(shown)
    row = _experiment_row(session, eid, shown, write=True)
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
        access.check_sees_every_experiment(tx.session, "Renaming an experiment")
        other = _by_name(tx.session, name)
        if other is not None and other.id != row.id:
            raise MlflowError(RESOURCE_ALREADY_EXISTS, f"Experiment(name={name}) already exists.")
        tx.update("experiment", row.id, _model(m.ExperimentUpdate, name=name))
        _touch(tx.session, row.id)

    meta.write(rename)


def set_experiment_lifecycle(meta: Metadata, shown: Any, *, deleted: bool) -> None:
    eid = parse_experiment_id(shown)

    def change(session: Session) -> None:
        _experiment_row(session, eid, shown, write=True)
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
