"""``search_runs`` in SQL: MLflow's filter clauses and ``order_by`` (``search``) as conditions
and orderings on the runs table, so that the database matches, orders and pages.

Semantics are MLflow's, as ``search.matches`` and ``search.sort`` apply them to a row read:
params, tags and string attributes compare as text (``LIKE`` case-sensitive, ``ILIKE`` not),
metrics (each key's latest point) and times as numbers; a run without the key never compares
(``!=`` included) and sorts last either way. A dataset clause holds when one of the datasets
the run's execution read meets it (MLflow's ``EXISTS`` over a run's inputs); the run id and the
artifact URI compare as the text MLflow answers (32 hex digits; ``mlflow-artifacts:/...``).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, exists, false, func, literal, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from modeltrail.domain import models as m
from modeltrail.integrations.mlflow import search
from modeltrail.store import dialect as d
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutionInputRow,
    ExecutionRow,
    MlflowStateRow,
    RunMetricRow,
    RunRow,
)

USER_TAG = "mlflow.user"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_EXPERIMENT = uuid.UUID(int=0)
# What ``lineage`` keeps of a run's inputs: the execution of the run's work (of this kind,
# noting the run's id; ``modeltrail import mlflow`` makes one of the same kind for a run it
# imports) and, in its annotations, each input's tags (a JSON object under this prefix and the
# input's id); a logged model it read is a ``model`` artifact with MLflow's attributes.
EXECUTION_KIND = "mlflow-run"
RUN_ID_NOTE = "mlflow.runId"
INPUT_TAGS = "mlflow.inputTags."
CONTEXT_TAG = "mlflow.data.context"


def status_expr() -> ColumnElement[Any]:
    """MLflow's status of a run: its own, or KILLED and SCHEDULED where MLflow's state says so
    (as ``runs._status``)."""
    return case(
        (
            and_(MlflowStateRow.status == "KILLED", RunRow.status == m.Status.FAILED.value),
            literal("KILLED"),
        ),
        (
            and_(MlflowStateRow.status == "SCHEDULED", RunRow.status == m.Status.RUNNING.value),
            literal("SCHEDULED"),
        ),
        (RunRow.status == m.Status.RUNNING.value, literal("RUNNING")),
        (RunRow.status == m.Status.SUCCESS.value, literal("FINISHED")),
        else_=literal("FAILED"),
    )


def _stage_expr() -> ColumnElement[Any]:
    return case((MlflowStateRow.deleted.is_(True), literal("deleted")), else_=literal("active"))


def _metric(key: str) -> ColumnElement[Any]:
    return (
        select(RunMetricRow.latest_value)
        .where(RunMetricRow.run_id == RunRow.id, RunMetricRow.key == key, RunMetricRow.count > 0)
        .scalar_subquery()
    )


def _text(dialect: str, kind: str, key: str) -> Any:
    """The text a string key of a run is compared as."""
    if kind == search.PARAM:
        return d.json_text(dialect, RunRow.configuration, (key,))
    if kind == search.TAG:
        return d.json_text(dialect, RunRow.annotations, (key,))
    if key == "run_name":
        return RunRow.name
    if key == "status":
        return status_expr()
    if key == "lifecycle_stage":
        return _stage_expr()
    if key == "user_id":
        return func.coalesce(d.json_text(dialect, RunRow.annotations, (USER_TAG,)), "")
    raise ValueError(key)


def _pattern(value: str) -> str:
    # MLflow's patterns know no escape character: a backslash is itself.
    return value.replace("\\", "\\\\")


def _string(dialect: str, expr: Any, op: str, value: str) -> ColumnElement[bool]:
    present = expr.is_not(None)
    if op == "=":
        return and_(present, expr == value)
    if op == "!=":
        return and_(present, expr != value)
    sensitive = op == "LIKE"
    return and_(present, d.like(dialect, expr, _pattern(value), case_sensitive=sensitive))


def _number(expr: Any, op: str, value: float) -> ColumnElement[bool]:
    if math.isnan(value):
        return false() if op != "!=" else expr.is_not(None)
    compared = {
        "=": expr == value,
        "!=": expr != value,
        ">": expr > value,
        ">=": expr >= value,
        "<": expr < value,
        "<=": expr <= value,
    }[op]
    return and_(expr.is_not(None), compared)


def _at(milliseconds: int) -> datetime | None:
    try:
        return EPOCH + timedelta(milliseconds=milliseconds)
    except OverflowError:
        return None


def _time(column: Any, op: str, value: float) -> ColumnElement[bool]:
    """A time compared as MLflow's whole milliseconds (``tracking.ms`` floors)."""
    if math.isnan(value) or math.isinf(value):
        if math.isnan(value):
            return column.is_not(None) if op == "!=" else false()
        above = value > 0
        hit = op in ("<", "<=", "!=") if above else op in (">", ">=", "!=")
        return column.is_not(None) if hit else false()
    low, high = math.floor(value), math.ceil(value)
    # floor(t) > v <=> t >= floor(v) + 1; floor(t) >= v <=> t >= ceil(v); and so on.
    bounds = {
        ">": (low + 1, None),
        ">=": (high, None),
        "<": (None, high),
        "<=": (None, low + 1),
        "=": (low, low + 1) if low == high else None,
    }
    if op == "!=":
        return and_(column.is_not(None), not_(_time(column, "=", value)))
    window = bounds[op]
    if window is None:
        return false()
    start, end = window
    clauses: list[ColumnElement[bool]] = [column.is_not(None)]
    for bound, above in ((start, True), (end, False)):
        if bound is None:
            continue
        at = _at(bound)
        if at is None:
            # Beyond what a time holds: every time is below it, none above.
            if above == (bound > 0):
                return false()
            continue
        clauses.append(column >= at if above else column < at)
    return and_(*clauses)


def run_ids(values: Sequence[str]) -> list[uuid.UUID]:
    """The runs named by ``values`` as MLflow compares run ids, as text: only 32 lowercase hex
    digits name one (another spelling of the same uuid names none)."""
    out = []
    for value in values:
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            continue
        if parsed.hex == value:
            out.append(parsed)
    return out


def _artifact_uri(dialect: str) -> ColumnElement[Any]:
    """``mlflow-artifacts:/{experiment}/{run}/artifacts``, as ``runs.run_json`` answers."""
    experiment = case(
        (RunRow.experiment_id == DEFAULT_EXPERIMENT, literal("0")),
        else_=d.id_dashed(dialect, RunRow.experiment_id),
    )
    return (
        literal("mlflow-artifacts:/")
        .concat(experiment)
        .concat("/")
        .concat(d.id_hex(dialect, RunRow.id))
        .concat("/artifacts")
    )


def compared(dialect: str, expr: Any, op: str, value: Any) -> ColumnElement[bool]:
    """A string ``expr`` (NULL never compares) against ``value`` with ``op``."""
    if op in ("IN", "NOT IN"):
        hit = expr.in_(list(value))
        return and_(expr.is_not(None), not_(hit) if op == "NOT IN" else hit)
    return _string(dialect, expr, op, value)


def _dataset(dialect: str, key: str, op: str, value: Any) -> ColumnElement[bool]:
    """Whether one of the datasets the run's MLflow executions read meets ``key op value`` (as
    ``lineage.run_details`` answers them: every input but a logged model)."""
    if key == "name":
        expr: Any = ArtifactRow.name
    elif key == "digest":
        digest = d.json_text(dialect, ArtifactRow.attributes, ("digest",))
        expr = func.coalesce(func.nullif(digest, ""), ArtifactRow.version)
    else:
        tags_key = literal(INPUT_TAGS).concat(d.id_dashed(dialect, ArtifactRow.id))
        tags = d.json_text_keyed(dialect, ExecutionRow.annotations, tags_key)
        expr = d.json_string_in_text(dialect, tags, CONTEXT_TAG)
    mlflow_attributes = d.json_member(dialect, ArtifactRow.attributes, "mlflow")
    logged_model = and_(
        ArtifactRow.kind == "model", func.coalesce(mlflow_attributes.like("{%"), false())
    )
    return exists().where(
        ExecutionRow.run_id == RunRow.id,
        # The run's MLflow executions: the one ``lineage`` made, or the importer's.
        ExecutionRow.kind == EXECUTION_KIND,
        ExecutionInputRow.execution_id == ExecutionRow.id,
        ArtifactRow.id == ExecutionInputRow.artifact_id,
        not_(logged_model),
        compared(dialect, expr, op, value),
    )


def condition(dialect: str, clause: search.Clause) -> ColumnElement[bool]:
    """``clause`` as a condition on a run (joined to its MLflow state)."""
    kind, key, op, value = clause.type, clause.key, clause.op, clause.value
    if kind == search.METRIC:
        if op == "!=" and not math.isnan(value):
            # A latest point of NaN (kept as NULL) differs from every number.
            return exists().where(
                RunMetricRow.run_id == RunRow.id,
                RunMetricRow.key == key,
                RunMetricRow.count > 0,
                or_(RunMetricRow.latest_value.is_(None), RunMetricRow.latest_value != value),
            )
        return _number(_metric(key), op, value)
    if kind == search.ATTRIBUTE and key in ("start_time", "end_time"):
        column = RunRow.create_time if key == "start_time" else RunRow.end_time
        return _time(column, op, value)
    if kind == search.DATASET:
        return _dataset(dialect, key, op, value)
    if kind == search.ATTRIBUTE and key == "run_id":
        if op in ("LIKE", "ILIKE"):
            return _string(dialect, d.id_hex(dialect, RunRow.id), op, value)
        sent = list(value) if op in ("IN", "NOT IN") else [value]
        hit: ColumnElement[bool] = RunRow.id.in_(run_ids(sent))
        return not_(hit) if op in ("NOT IN", "!=") else hit
    if kind == search.ATTRIBUTE and key == "artifact_uri":
        return compared(dialect, _artifact_uri(dialect), op, value)
    expr = _text(dialect, kind, key)
    if op in ("IS NULL", "IS NOT NULL"):
        null: ColumnElement[bool] = expr.is_(None) if op == "IS NULL" else expr.is_not(None)
        return null
    return compared(dialect, expr, op, value)


def _order_expr(dialect: str, order: search.Order) -> Any:
    if order.type == search.METRIC:
        return _metric(order.key)
    if order.type == search.ATTRIBUTE:
        if order.key == "start_time":
            return RunRow.create_time
        if order.key == "end_time":
            return RunRow.end_time
        if order.key == "run_id":
            return RunRow.id
        if order.key == "artifact_uri":
            # mlflow-artifacts:/{experiment}/{run}/artifacts: by experiment, then run.
            return RunRow.experiment_id
    return _text(dialect, order.type, order.key)


def runs_query(
    dialect: str,
    *,
    experiments: list[uuid.UUID],
    view: int,
    clauses: list[search.Clause],
    orders: list[search.Order],
) -> Select[Any]:
    """The runs of ``experiments`` in ``view`` that meet ``clauses``, in
    MLflow's order: ``orders`` (a run without the key last), then newest first, then by id."""
    query = (
        select(RunRow)
        .outerjoin(MlflowStateRow, MlflowStateRow.entity_id == RunRow.id)
        .where(RunRow.experiment_id.in_(experiments))
    )
    deleted = MlflowStateRow.deleted.is_(True)
    if view == 1:
        query = query.where(not_(and_(MlflowStateRow.entity_id.is_not(None), deleted)))
    elif view == 2:
        query = query.where(MlflowStateRow.entity_id.is_not(None), deleted)
    for clause in clauses:
        query = query.where(condition(dialect, clause))
    ordering: list[Any] = []
    for order in orders:
        expr = _order_expr(dialect, order)
        ordering.append(case((expr.is_(None), 1), else_=0))
        ordering.append(expr.asc() if order.ascending else expr.desc())
        if order.type == search.ATTRIBUTE and order.key == "artifact_uri":
            ordering.append(RunRow.id.asc() if order.ascending else RunRow.id.desc())
    ordering += [RunRow.create_time.desc(), RunRow.id]
    return query.order_by(*ordering)
