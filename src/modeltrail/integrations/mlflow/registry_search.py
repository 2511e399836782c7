"""MLflow's registry searches over modeltrail's registry: ``search_registered_models`` and
``search_model_versions``, matched, ordered and paged in SQL as MLflow's ``SqlAlchemyStore``
does; only a page's models or versions are read whole, in a fixed number of statements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import String, and_, cast, false, func, literal, or_, select, true
from sqlalchemy.orm import Session, aliased

from modeltrail.domain.registry import ModelVersion, RegisteredModel
from modeltrail.integrations.mlflow import lineage, params, run_query, search
from modeltrail.integrations.mlflow.errors import invalid
from modeltrail.integrations.mlflow.model_registry import (
    PROMPT_TAG,
    model_answers,
    version_answers,
)
from modeltrail.services.registry import Registry, visible
from modeltrail.services.registry.models import to_models
from modeltrail.services.registry.versions import versions_by_ids
from modeltrail.store import dialect as dialects
from modeltrail.store import registry as registry_store
from modeltrail.store.dialect import json_text, to_milliseconds
from modeltrail.store.tables import (
    ArtifactRow,
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

# The entity types a registry filter may name, spelled as MLflow's registry takes them
# (``attributes.name`` is refused there).
REGISTRY_PREFIXES = frozenset({"attribute", "tag", "tags"})

# MLflow's registered-models search (``SearchModelUtils``, its SQL store's ``order_by``): names
# compared, listed or matched, tags compared or matched; ordered by name or the last change.
MODEL_FILTERS = search.Grammar(
    string_attributes=frozenset({"name"}),
    numeric_attributes=frozenset(),
    list_attributes=frozenset({"name"}),
    nulls=False,
    prefixes=REGISTRY_PREFIXES,
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
# ``version``, which MLflow's older servers took, are kept). A version number is compared as
# an integer, sent as one or as a quoted integer, as MLflow's store takes it.
VERSION_FILTERS = search.Grammar(
    string_attributes=frozenset({"name", "run_id", "source_path", "source", "version"}),
    numeric_attributes=frozenset({"version_number"}),
    list_attributes=frozenset({"name", "run_id"}),
    integer_attributes=frozenset({"version_number"}),
    nulls=False,
    prefixes=REGISTRY_PREFIXES,
)
# Beyond the integers of a version number's column (32 bits).
_LOWEST, _HIGHEST = -(2**31) - 1, 2**31


def _version_run(dialect: str) -> Any:
    """The run of a version as MLflow shows it (32 hex digits): that of the earliest step
    that wrote its artifact, as the version's answer names it (NULL where none did)."""
    return (
        select(dialects.id_hex(dialect, ExecutionRow.run_id))
        .join(ExecutionOutputRow, ExecutionOutputRow.execution_id == ExecutionRow.id)
        .where(ExecutionOutputRow.artifact_id == ModelVersionRow.artifact_id)
        .order_by(ExecutionRow.create_time, ExecutionRow.id)
        .limit(1)
        .scalar_subquery()
    )


def _version_source(dialect: str) -> Any:
    """A version's source as its answer shows it: its artifact's URI, or else the logged
    model's ``models:/m-...``."""
    return (
        select(
            func.coalesce(
                func.nullif(ArtifactRow.uri, ""),
                literal(f"models:/{lineage.MODEL_PREFIX}").concat(
                    dialects.id_hex(dialect, ArtifactRow.id)
                ),
            )
        )
        .where(ArtifactRow.id == ModelVersionRow.artifact_id)
        .scalar_subquery()
    )


def _written_by_runs(values: Sequence[str]) -> Any:
    """A condition on a version that the runs ``values`` name (MLflow's spelling of a run id)
    wrote its artifact: what lets the database start from those runs' steps."""
    written = (
        select(ExecutionOutputRow.artifact_id)
        .join(ExecutionRow, ExecutionRow.id == ExecutionOutputRow.execution_id)
        .where(ExecutionRow.run_id.in_(run_query.run_ids(values)))
    )
    return ModelVersionRow.artifact_id.in_(written)


def _version_number(op: str, value: int) -> Any:
    """A version number compared with ``value``; a number beyond the column's integers
    compares as every version number does with it, without being sent to the database
    (which refuses to compare its integers with one)."""
    if not _LOWEST < value < _HIGHEST:
        below = value >= _HIGHEST  # every version number is below ``value``
        holds = op == "!=" or (op in ("<", "<=") if below else op in (">", ">="))
        return true() if holds else false()
    column = ModelVersionRow.version
    return {
        "=": column == value,
        "!=": column != value,
        ">": column > value,
        ">=": column >= value,
        "<": column < value,
        "<=": column <= value,
    }[op]


def _version_condition(dialect: str, clause: search.Clause) -> Any:
    """One clause of a model-versions filter as SQL on a version (joined to its model), as
    MLflow's store compares it: a version without the tag, run or value a clause names does
    not match it, ``!=`` and ``NOT IN`` included."""
    key, op, value = clause.key, clause.op, clause.value
    if clause.type == search.TAG:
        expr = json_text(dialect, ModelVersionRow.tags, (key,))
        return run_query.compared(dialect, expr, op, value)
    if key == "version_number":
        return _version_number(op, value)
    if key == "name":
        return run_query.compared(dialect, RegisteredModelRow.name, op, value)
    if key == "version":
        return run_query.compared(dialect, cast(ModelVersionRow.version, String), op, value)
    if key == "run_id":
        condition = run_query.compared(dialect, _version_run(dialect), op, value)
        if op in ("=", "IN"):
            return and_(_written_by_runs([value] if op == "=" else value), condition)
        return condition
    return run_query.compared(dialect, _version_source(dialect), op, value)


def _version_filter(dialect: str, clauses: list[search.Clause]) -> list[Any]:
    """``clauses`` as conditions on a version. As MLflow's store: a search that does not ask
    for prompts leaves out the versions of a model that has a version tagged a prompt, its
    clauses on the prompt tag aside."""
    if _asks_for_prompts(clauses):
        return [_version_condition(dialect, c) for c in clauses]
    other = aliased(ModelVersionRow)
    prompts = select(other.model_id).where(json_text(dialect, other.tags, (PROMPT_TAG,)) == "true")
    kept = [c for c in clauses if (c.type, c.key) != (search.TAG, PROMPT_TAG)]
    return [ModelVersionRow.model_id.not_in(prompts)] + [
        _version_condition(dialect, c) for c in kept
    ]


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
    """The versions that meet ``clauses``, in ``orders`` from ``offset``, at most ``limit``
    of them (those the request may read), and whether more match: the database matches,
    orders and pages, and the page's versions alone are read whole."""
    dialect = session.get_bind().dialect.name
    query = (
        select(ModelVersionRow.id, RegisteredModelRow.id, RegisteredModelRow.name)
        .join(RegisteredModelRow, RegisteredModelRow.id == ModelVersionRow.model_id)
        .where(*_version_filter(dialect, clauses))
    )
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
    ``max_results`` from the offset of ``page_token``: matched, ordered and paged by the
    database."""
    clauses, limit, orders, offset = _request(
        p, VERSION_FILTERS, VERSIONS_PAGE, VERSIONS_MAX_RESULTS, _version_orders
    )
    page, more = registry.meta.query(_version_page, clauses, orders, offset, limit)
    answer: dict[str, Any] = {"model_versions": version_answers(registry, page)}
    if more:
        answer["next_page_token"] = search.encode_page_token(offset + limit)
    return answer
