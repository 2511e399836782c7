"""MLflow's logged models (``create_logged_model`` and what follows it: get, finalize, tags,
params, delete, search) as ``model`` artifacts with MLflow's state in their ``mlflow``
attribute; how runs read and write them is ``lineage``'s."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain import models as m
from modeltrail.integrations.mlflow import params, search
from modeltrail.integrations.mlflow.errors import invalid, missing
from modeltrail.integrations.mlflow.experiments import _active_experiment
from modeltrail.integrations.mlflow.lineage import (
    _is_logged_model,
    _items,
    _model_row,
    _shown,
    model_id,
    parse_model_id,
)
from modeltrail.integrations.mlflow.runs import _run_row
from modeltrail.integrations.mlflow.tracking import (
    MAX_RESULTS,
    _check_tag,
    _model,
    _tags,
    experiment_id,
    ms,
    run_id,
)
from modeltrail.services.access import scope_of
from modeltrail.services.metadata import Metadata, Transaction
from modeltrail.store import dialect as d
from modeltrail.store import scope
from modeltrail.store.tables import (
    ArtifactRow,
    utcnow,
)

MODEL_STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")


def logged_model_json(a: ArtifactRow) -> dict[str, Any]:
    attributes = a.attributes or {}
    mlflow = attributes.get("mlflow") or {}
    mid = model_id(a.id)
    info: dict[str, Any] = {
        "model_id": mid,
        "experiment_id": mlflow.get("experimentId", "0"),
        "name": a.name,
        "artifact_uri": a.uri or "",
        "creation_timestamp_ms": ms(a.create_time),
        "last_updated_timestamp_ms": mlflow.get("updateTime") or ms(a.create_time),
        "status": mlflow.get("status", "LOGGED_MODEL_READY"),
        "tags": _tags(a.annotations),
    }
    for field, key in (("model_type", "type"),):
        if attributes.get(key):
            info[field] = attributes[key]
    for field, key in (("source_run_id", "sourceRunId"), ("status_message", "statusMessage")):
        if mlflow.get(key):
            info[field] = mlflow[key]
    params = attributes.get("hyperParameters") or {}
    return {
        "info": info,
        "data": {"params": [{"key": k, "value": _shown(v)} for k, v in params.items()]},
    }


def _model_attributes(
    *, experiment: str, run: str | None, model_type: str | None, params: dict[str, str]
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "hyperParameters": params,
        "mlflow": {"experimentId": experiment, "status": "LOGGED_MODEL_PENDING"},
    }
    if run:
        attributes["mlflow"]["sourceRunId"] = run
    if model_type:
        attributes["type"] = model_type
    return attributes


def _pairs(value: Any, what: str) -> dict[str, str]:
    out = {}
    for item in _items(value):
        key, text = _check_tag(item.get("key"), item.get("value"))
        out[key] = text
    return out


def create_logged_model(meta: Metadata, p: dict[str, Any]) -> dict[str, Any]:
    experiment = p.get("experiment_id")
    if experiment in (None, ""):
        raise invalid("Missing value for required parameter 'experiment_id'.")
    name = p.get("name") or f"model-{uuid.uuid4().hex[:8]}"
    if not isinstance(name, str) or len(name) > 256:
        raise invalid("Invalid value for parameter 'name': a string of at most 256 characters")
    model_type = p.get("model_type")
    if model_type is not None and not isinstance(model_type, str):
        raise invalid("Invalid value for parameter 'model_type': a string")
    params = _pairs(p.get("params"), "params")
    tags = _pairs(p.get("tags"), "tags")
    source_run = p.get("source_run_id") or None

    def create(tx: Transaction) -> dict[str, Any]:
        exp = _active_experiment(tx.session, experiment)
        run = None
        if source_run:
            run = _run_row(tx.session, source_run)
        artifact = uuid.uuid4()
        eid = experiment_id(exp.id)
        attributes = _model_attributes(
            experiment=eid,
            run=run_id(run.id) if run else None,
            model_type=model_type,
            params=params,
        )
        data = _model(
            m.ArtifactCreate,
            id=artifact,
            name=name,
            kind="model",
            uri=f"mlflow-artifacts:/{eid}/models/{model_id(artifact)}/artifacts",
            annotations=tags,
            attributes=attributes,
        )
        tx.meta.check_attributes("model", data.attributes)
        tx.create("artifact", data)
        # Of its experiment for a token's grants, as on MLflow's paths, before any run writes it.
        scope.set_artifact_experiment(tx.session, artifact_id=artifact, experiment_id=exp.id)
        return {"model": logged_model_json(_model_row(tx.session, artifact))}

    return meta.write(create)


def get_logged_model(meta: Metadata, shown: Any) -> dict[str, Any]:
    artifact = parse_model_id(shown)

    def read(session: Session) -> dict[str, Any]:
        row = _model_row(session, artifact)
        if not _is_logged_model(row):
            raise missing(f"Logged model with ID '{shown}' not found.")
        return {"model": logged_model_json(row)}

    return meta.query(read)


def _change_model(meta: Metadata, shown: Any, change: Any) -> dict[str, Any]:
    artifact = parse_model_id(shown)

    def write(tx: Transaction) -> dict[str, Any]:
        row = _model_row(tx.session, artifact, write=True)
        if not _is_logged_model(row):
            raise missing(f"Logged model with ID '{shown}' not found.")
        attributes = dict(row.attributes)
        attributes["mlflow"] = {**attributes["mlflow"], "updateTime": ms(utcnow())}
        annotations = dict(row.annotations)
        change(attributes, annotations)
        update = _model(m.ArtifactUpdate, attributes=attributes, annotations=annotations)
        tx.meta.check_attributes(artifact, update.attributes)
        tx.update("artifact", artifact, update)
        return {"model": logged_model_json(_model_row(tx.session, artifact))}

    return meta.write(write)


def finalize_logged_model(meta: Metadata, shown: Any, status: Any) -> dict[str, Any]:
    if status in (1, "1"):
        status = "LOGGED_MODEL_PENDING"
    elif status in (2, "2"):
        status = "LOGGED_MODEL_READY"
    elif status in (3, "3"):
        status = "LOGGED_MODEL_UPLOAD_FAILED"
    if status not in MODEL_STATUSES:
        raise invalid(f"Invalid value {status!r} for parameter 'status': one of {MODEL_STATUSES}")

    def change(attributes: dict[str, Any], annotations: dict[str, str]) -> None:
        attributes["mlflow"]["status"] = status

    return _change_model(meta, shown, change)


def set_logged_model_tags(meta: Metadata, shown: Any, tags: Any) -> None:
    pairs = _pairs(tags, "tags")
    _change_model(meta, shown, lambda attributes, annotations: annotations.update(pairs))


def delete_logged_model_tag(meta: Metadata, shown: Any, key: str) -> None:
    def change(attributes: dict[str, Any], annotations: dict[str, str]) -> None:
        if key not in annotations:
            raise missing(f"No tag with key {key!r} on logged model {shown}")
        del annotations[key]

    _change_model(meta, shown, change)


def log_logged_model_params(meta: Metadata, shown: Any, params: Any) -> None:
    pairs = _pairs(params, "params")

    def change(attributes: dict[str, Any], annotations: dict[str, str]) -> None:
        attributes["hyperParameters"] = {**attributes.get("hyperParameters", {}), **pairs}

    _change_model(meta, shown, change)


def delete_logged_model(meta: Metadata, shown: Any) -> None:
    def change(attributes: dict[str, Any], annotations: dict[str, str]) -> None:
        attributes["mlflow"]["deleted"] = True

    _change_model(meta, shown, change)


LOGGED_MODELS = search.Grammar(
    string_attributes=frozenset({"name", "model_id", "model_type", "status", "source_run_id"}),
    numeric_attributes=frozenset({"creation_timestamp", "last_updated_timestamp"}),
    aliases={"creation_time": "creation_timestamp"},
    types=frozenset({search.ATTRIBUTE, search.TAG, search.PARAM}),
)


def search_logged_models(meta: Metadata, p: dict[str, Any]) -> dict[str, Any]:
    experiments = p.get("experiment_ids") or []
    if not isinstance(experiments, list):
        experiments = [experiments]
    wanted = {str(e) for e in experiments}
    clauses = search.parse_filter(params.string(p, "filter"), LOGGED_MODELS)
    orders = []
    for item in params.listed(p, "order_by"):
        if not isinstance(item, dict) or not isinstance(item.get("field_name"), str):
            raise invalid("Invalid value for order_by: a list of {field_name, ascending}")
        direction = "ASC" if item.get("ascending", True) else "DESC"
        orders += search.parse_order_by([f"{item['field_name']} {direction}"], LOGGED_MODELS)
    offset = search.decode_page_token(params.string(p, "page_token"))
    # As MLflow: none, or 0, is its default of 100; a negative number is refused. MLflow's
    # store takes any page size here; the ceiling of its other tracking searches bounds it,
    # so that no request asks for every model at once.
    limit = params.integer(p, "max_results", 100, low=0, high=MAX_RESULTS) or 100

    def read(session: Session) -> list[dict[str, Any]]:
        dialect = session.get_bind().dialect.name
        query = select(ArtifactRow).where(
            ArtifactRow.kind == "model",
            d.json_member(dialect, ArtifactRow.attributes, "mlflow").like("{%"),
        )
        asked = wanted
        scope = scope_of(session)
        if scope is not None and scope.readable is not None:
            # Of the experiments asked for (all, when none is), those the token may read.
            readable = {experiment_id(e) for e in scope.readable}
            asked = wanted & readable if wanted else readable
            if not asked:
                return []
        if asked:
            # The experiments' models only, in SQL: not every model of the store read and
            # dropped here.
            experiment = d.json_text(dialect, ArtifactRow.attributes, ("mlflow", "experimentId"))
            query = query.where(experiment.in_(sorted(asked)))
        rows = session.scalars(query)
        out = []
        for row in rows:
            if not _is_logged_model(row) or row.attributes["mlflow"].get("deleted"):
                continue
            out.append(logged_model_json(row))
        return out

    def lookup(model: dict[str, Any], kind: str, key: str) -> Any:
        info = model["info"]
        if kind == search.TAG:
            return next((t["value"] for t in info["tags"] if t["key"] == key), None)
        if kind == search.PARAM:
            return next((x["value"] for x in model["data"]["params"] if x["key"] == key), None)
        key = {"creation_timestamp": "creation_timestamp_ms"}.get(key, key)
        key = {"last_updated_timestamp": "last_updated_timestamp_ms"}.get(key, key)
        return info.get(key)

    found = [x for x in meta.query(read) if search.matches(clauses, partial(lookup, x))]
    found.sort(key=lambda x: (-x["info"]["creation_timestamp_ms"], x["info"]["model_id"]))
    search.sort(found, orders, lookup)
    answer: dict[str, Any] = {"models": found[offset : offset + limit]}
    if offset + limit < len(found):
        answer["next_page_token"] = search.encode_page_token(offset + limit)
    return answer
