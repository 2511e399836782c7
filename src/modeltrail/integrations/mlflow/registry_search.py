"""MLflow's registry searches over modeltrail's registry: ``search_registered_models``,
matched, ordered and paged in SQL as MLflow's ``SqlAlchemyStore`` does, and
``search_model_versions``, paged in SQL as well where its filter names nothing but the model
(or nothing): its other filters need each version's run and source and are matched on the
versions' answers, read a fixed number of statements at a time."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from modeltrail.domain import limits
from modeltrail.domain.registry import ModelVersion, RegisteredModel
from modeltrail.integrations.mlflow import params, run_query, search
from modeltrail.integrations.mlflow.errors import invalid
from modeltrail.integrations.mlflow.model_registry import (
    PROMPT_TAG,
    model_answers,
    version_answers,
)
from modeltrail.services.registry import Registry, visible
from modeltrail.services.registry.models import to_models
from modeltrail.services.registry.versions import versions_by_ids
from modeltrail.store import registry as registry_store
from modeltrail.store.dialect import json_text, to_milliseconds
from modeltrail.store.tables import (
    ExecutionOutputRow,
    ExecutionRow,
    ModelVersionRow,
    RegisteredModelRow,
)


def _orders(items: list[Any], grammar: search.Grammar, field: Callable[[str], str]) -> list[Any]:
    """``order_by`` parsed by ``grammar``; two items on one ``field`` (of a key) are refused,
    as in MLflow."""
    orders = search.parse_order_by([str(item) for item in items], grammar)
    fields = [field(o.key) for o in orders]
    if len(set(fields)) < len(fields):
        raise invalid(f"`order_by` contains duplicate fields: {[str(i) for i in items]}")
    return orders


def _request(
    p: dict[str, Any],
    filters: search.Grammar,
    page: int,
    most: int,
    orders: Callable[[list[Any]], list[Any]],
) -> tuple[list[search.Clause], int, list[Any], int]:
    """A search's filter, page size (``page`` unless sent, at most ``most``), order and
    offset, each refused as MLflow refuses it."""
    return (
        search.parse_filter(params.string(p, "filter"), filters),
        params.integer(p, "max_results", page, high=most),
        orders(params.listed(p, "order_by")),
        search.decode_page_token(params.string(p, "page_token")),
    )


# ---------------------------------------------------------------- registered models

# MLflow's registered-models search (``SearchModelUtils``, its SQL store's ``order_by``): names
# compared, listed or matched, tags compared or matched; ordered by name or the last change.
MODEL_FILTERS = search.Grammar(
    string_attributes=frozenset({"name"}),
    numeric_attributes=frozenset(),
    list_attributes=frozenset({"name"}),
)
MODEL_ORDERS = search.Grammar(
    string_attributes=frozenset({"name"}),
    numeric_attributes=frozenset({"timestamp", "last_updated_timestamp"}),
    types=frozenset({search.ATTRIBUTE}),
)
MODELS_PAGE, MODELS_MAX_RESULTS = 100, 1000


def _model_orders(items: list[Any]) -> list[Any]:
    """The SQL order of a registered-models search: ``items``, then the name (MLflow's
    default) where they leave it out; ``timestamp`` is ``last_updated_timestamp``."""

    def column(key: str) -> Any:
        return RegisteredModelRow.name if key == "name" else RegisteredModelRow.update_time

    orders = _orders(items, MODEL_ORDERS, lambda key: str(column(key).key))
    columns = [column(o.key).asc() if o.ascending else column(o.key).desc() for o in orders]
    if all(o.key != "name" for o in orders):
        columns.append(RegisteredModelRow.name.asc())
    return columns


def _model_condition(dialect: str, clause: search.Clause) -> Any:
    """One clause of a registered-models filter as SQL; a model without the tag a clause names
    does not match it, as in MLflow."""
    if clause.type == search.TAG:
        expr = json_text(dialect, RegisteredModelRow.tags, (clause.key,))
        return run_query.compared(dialect, expr, clause.op, clause.value)
    return run_query.compared(dialect, RegisteredModelRow.name, clause.op, clause.value)


def _asks_for_prompts(clauses: list[search.Clause]) -> bool:
    """Whether a filter asks for prompts (MLflow's registered models tagged
    ``mlflow.prompt.is_prompt = 'true'``): by its first clause on that tag, as MLflow reads it."""
    for c in clauses:
        if c.type == search.TAG and c.key == PROMPT_TAG:
            value = str(c.value).lower()
            return (c.op == "=" and value == "true") or (c.op == "!=" and value == "false")
    return False


def _model_page(
    session: Session, clauses: list[search.Clause], orders: list[Any], offset: int, limit: int
) -> tuple[list[RegisteredModel], bool]:
    """The models matching ``clauses`` in ``orders`` from ``offset``, at most ``limit`` of
    them (those with a version the request may read), and whether more match. As MLflow's
    store: a search that does not ask for prompts leaves them out, its clauses on the prompt
    tag aside."""
    dialect = session.get_bind().dialect.name
    if not _asks_for_prompts(clauses):
        prompt = json_text(dialect, RegisteredModelRow.tags, (PROMPT_TAG,))
        clauses = [c for c in clauses if (c.type, c.key) != (search.TAG, PROMPT_TAG)]
        query = select(RegisteredModelRow).where(or_(prompt.is_(None), prompt != "true"))
    else:
        query = select(RegisteredModelRow)
    query = query.where(*(_model_condition(dialect, c) for c in clauses))
    experiments = visible.readable_experiments(session)
    if experiments is not None:
        query = query.where(registry_store.with_readable_versions(experiments))
    rows = list(session.scalars(query.order_by(*orders).offset(offset).limit(limit + 1)))
    return to_models(session, rows[:limit]), len(rows) > limit


def search_registered_models(registry: Registry, p: dict[str, Any]) -> Any:
    """The models matching ``filter``, matched, ordered and paged by the database, a page of
    ``max_results`` from the offset of ``page_token``."""
    clauses, limit, orders, offset = _request(
        p, MODEL_FILTERS, MODELS_PAGE, MODELS_MAX_RESULTS, _model_orders
    )
    models, more = registry.meta.query(_model_page, clauses, orders, offset, limit)
    answer: dict[str, Any] = {"registered_models": model_answers(registry, models)}
    if more:
        answer["next_page_token"] = search.encode_page_token(offset + limit)
    return answer


# ---------------------------------------------------------------- versions


# MLflow's bounds of a model-versions search (``SEARCH_MODEL_VERSION_MAX_RESULTS_*``).
VERSIONS_PAGE = 10_000
VERSIONS_MAX_RESULTS = 200_000
VERSION_ORDERS = search.Grammar(
    string_attributes=frozenset({"name"}),
    numeric_attributes=frozenset(
        {"version_number", "creation_timestamp", "last_updated_timestamp"}
    ),
    types=frozenset({search.ATTRIBUTE}),
)
# Every version of a model: the bound of a version number.
_ALL_VERSIONS = 2**31 - 1


def _version_orders(items: list[Any]) -> list[search.Order]:
    """MLflow's order of a model-versions search: ``items`` (its default, the newest change
    first), then the name and the newest version where ``items`` leave them out."""
    default = ["last_updated_timestamp DESC", "name ASC", "version_number DESC"]
    orders: list[search.Order] = _orders(items or default, VERSION_ORDERS, str)
    keys = [o.key for o in orders]
    if "name" not in keys:
        orders.append(search.Order(search.ATTRIBUTE, "name", True))
    if "version_number" not in keys:
        orders.append(search.Order(search.ATTRIBUTE, "version_number", False))
    return orders


# What a model-versions filter may name (MLflow's ``SearchModelVersionUtils``; ``source`` and
# ``version``, which MLflow's older servers took, are kept).
VERSION_FILTERS = search.Grammar(
    string_attributes=frozenset({"name", "run_id", "source_path", "source", "version"}),
    numeric_attributes=frozenset({"version_number"}),
    list_attributes=frozenset({"name", "run_id"}),
)


def _version_key(answer: dict[str, Any], kind: str, key: str) -> Any:
    return int(answer["version"]) if key == "version_number" else answer[key]


def _version_value(answer: dict[str, Any], kind: str, key: str) -> Any:
    """The value a filter's clause compares of one version's answer (None when it has none)."""
    if kind == search.TAG:
        found = next((t["value"] for t in answer["tags"] if t["key"] == key), None)
        # As in MLflow: a version without the prompt tag is not a prompt.
        return "false" if found is None and key == PROMPT_TAG else found
    if key == "version_number":
        return answer["version"]
    return answer.get("source" if key == "source_path" else key)


def _named_models(registry: Registry, clauses: list[search.Clause]) -> list[str] | None:
    """The models whose versions alone can match (None: any model's): those a filter names with
    ``name =`` or ``name IN``, or else those with a version a step of the runs it names with
    ``run_id =`` or ``run_id IN`` wrote (MLflow's client finds a run's versions so)."""
    for c in clauses:
        if c.type == search.ATTRIBUTE and c.key == "name" and c.op in ("=", "IN"):
            return [c.value] if c.op == "=" else list(dict.fromkeys(c.value))
    for c in clauses:
        if c.type == search.ATTRIBUTE and c.key == "run_id" and c.op in ("=", "IN"):
            return registry.meta.query(_models_of_runs, [c.value] if c.op == "=" else c.value)
    return None


def _models_of_runs(session: Session, shown: Sequence[str]) -> list[str]:
    runs = []
    for text in shown:
        with contextlib.suppress(ValueError):
            runs.append(uuid.UUID(text))  # a malformed id is no run's: it finds nothing
    written = (
        select(ExecutionOutputRow.artifact_id)
        .join(ExecutionRow, ExecutionRow.id == ExecutionOutputRow.execution_id)
        .where(ExecutionRow.run_id.in_(runs))
    )
    found = session.scalars(
        select(RegisteredModelRow.name)
        .join(ModelVersionRow, ModelVersionRow.model_id == RegisteredModelRow.id)
        .where(ModelVersionRow.artifact_id.in_(written))
        .distinct()
    )
    return list(found)


def _all_versions(registry: Registry) -> list[ModelVersion]:
    """Every version the request may read: the models a page at a time, each page's
    versions read at once."""
    versions: list[ModelVersion] = []
    cursor: str | None = None
    while True:
        page = registry.search_models(limit=limits.MAX_PAGE_SIZE, cursor=cursor)
        names = [rm.name for rm in page.items]
        versions += registry.versions_of_models(names, limit=_ALL_VERSIONS, metrics=False)
        cursor = page.next_cursor
        if cursor is None:
            return versions


def _on_names_only(clauses: list[search.Clause]) -> bool:
    return all(c.type == search.ATTRIBUTE and c.key == "name" for c in clauses)


def _version_columns(dialect: str, orders: list[search.Order]) -> list[Any]:
    """``orders`` as SQL: the times to the millisecond, which is all MLflow keeps of them,
    so that versions changed in one millisecond fall to the next order as there."""
    columns = {
        "name": RegisteredModelRow.name,
        "version_number": ModelVersionRow.version,
        "creation_timestamp": to_milliseconds(dialect, ModelVersionRow.create_time),
        "last_updated_timestamp": to_milliseconds(dialect, ModelVersionRow.update_time),
    }
    return [columns[o.key].asc() if o.ascending else columns[o.key].desc() for o in orders]


def _version_page(
    session: Session,
    clauses: list[search.Clause],
    orders: list[search.Order],
    offset: int,
    limit: int,
) -> tuple[list[ModelVersion], bool]:
    """The versions whose model's name meets ``clauses``, in ``orders`` from ``offset``, at
    most ``limit`` of them (those the request may read), and whether more match: the page's
    versions alone are read whole."""
    dialect = session.get_bind().dialect.name
    query = (
        select(ModelVersionRow.id, RegisteredModelRow.id, RegisteredModelRow.name)
        .join(RegisteredModelRow, RegisteredModelRow.id == ModelVersionRow.model_id)
        .where(*(run_query.compared(dialect, RegisteredModelRow.name, c.op, c.value)
                 for c in clauses))
    )  # fmt: skip
    experiments = visible.readable_experiments(session)
    if experiments is not None:
        query = query.where(registry_store.readable_version(experiments))
    query = query.order_by(*_version_columns(dialect, orders)).offset(offset).limit(limit + 1)
    rows = session.execute(query).all()
    names = {model: name for _, model, name in rows[:limit]}
    page = versions_by_ids(session, [row[0] for row in rows[:limit]], names, metrics=False)
    return page, len(rows) > limit


def search_model_versions(registry: Registry, p: dict[str, Any]) -> Any:
    """The versions matching ``filter``, of every model, in MLflow's order, a page of
    ``max_results`` from the offset of ``page_token``."""
    clauses, limit, orders, offset = _request(
        p, VERSION_FILTERS, VERSIONS_PAGE, VERSIONS_MAX_RESULTS, _version_orders
    )
    if _on_names_only(clauses):
        page, more = registry.meta.query(_version_page, clauses, orders, offset, limit)
        answer: dict[str, Any] = {"model_versions": version_answers(registry, page)}
        if more:
            answer["next_page_token"] = search.encode_page_token(offset + limit)
        return answer
    names = _named_models(registry, clauses)
    if names is not None:
        versions = registry.versions_of_models(names, limit=_ALL_VERSIONS, metrics=False)
    else:
        versions = _all_versions(registry)
    found = [
        answer
        for answer in version_answers(registry, versions)
        if search.matches(clauses, partial(_version_value, answer))
    ]
    search.sort(found, orders, _version_key)
    answer = {"model_versions": found[offset : offset + limit]}
    if offset + limit < len(found):
        answer["next_page_token"] = search.encode_page_token(offset + limit)
    return answer
