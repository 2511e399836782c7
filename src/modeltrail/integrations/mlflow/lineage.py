"""What an MLflow run read and wrote, as modeltrail lineage.

Each MLflow run that logs an input or an output gets one execution (kind ``mlflow-run``, its
executable the run's source: ``mlflow.source.name`` at ``mlflow.source.git.commit``), so that
lineage, the trace and ``why`` see the run's work like any step's:

- a dataset of ``log_input`` is a ``dataset`` artifact the execution read (one artifact per
  name and digest, however many runs read it); the input's tags (its context) are kept on the
  execution;
- a logged model (``create_logged_model``) is a ``model`` artifact; ``log_outputs`` makes it an
  output of the execution, a model in ``log_inputs`` an input.

Ids are derived (uuid5) from the run's, so that retries and resumed runs reuse them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from modeltrail.domain import models as m
from modeltrail.integrations.mlflow import access
from modeltrail.integrations.mlflow.errors import PERMISSION_DENIED, MlflowError, invalid, missing
from modeltrail.integrations.mlflow.run_query import EXECUTION_KIND, INPUT_TAGS, RUN_ID_NOTE
from modeltrail.integrations.mlflow.runs import _active_run
from modeltrail.integrations.mlflow.tracking import (
    NAMESPACE,
    _check_tag,
    _model,
    _tags,
    execution_of,
    parse_experiment_id,
    run_id,
)
from modeltrail.services.access import (
    can_read_artifact,
    can_write_artifact,
    note_writable,
    scope_of,
)
from modeltrail.services.metadata import Metadata, Transaction
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    RunRow,
)

MODEL_PREFIX = "m-"
MAX_DATASET_NAME = 500
MAX_DATASET_DIGEST = 36
MAX_DATASET_SOURCE = 65_535
MAX_DATASET_SCHEMA = 1_048_575
MAX_DATASETS = 1000


def dataset_id(name: str, digest: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"dataset\x1f{name}\x1f{digest}")


def model_id(artifact: uuid.UUID) -> str:
    return MODEL_PREFIX + artifact.hex


def parse_model_id(text: Any) -> uuid.UUID:
    value = str(text or "")
    try:
        return uuid.UUID(value.removeprefix(MODEL_PREFIX))
    except ValueError:
        raise missing(f"Logged model with ID '{value}' not found.") from None


def _json(text: Any) -> Any:
    if not isinstance(text, str) or not text:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def _shown(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


# ---------------------------------------------------------------- the run's execution


def ensure_execution(tx: Transaction, run: RunRow) -> uuid.UUID:
    """The execution of an MLflow run, made on first use."""
    eid = execution_of(run.id)
    if tx.session.get(ExecutionRow, eid) is not None:
        return eid
    tags = run.annotations
    script = (tags.get("mlflow.source.name") or "mlflow-run")[:256]
    version = (tags.get("mlflow.source.git.commit") or "1")[:256]
    executable = uuid.uuid5(NAMESPACE, f"executable\x1f{script}\x1f{version}")
    if tx.read("executable", executable) is None:
        tx.create(
            "executable",
            _model(
                m.ExecutableCreate,
                id=executable,
                name=script,
                version=version,
                uri=script if "/" in script or "." in script else None,
                annotations={k: v for k, v in tags.items() if k.startswith("mlflow.source.")},
            ),
        )
    tx.create(
        "execution",
        _model(
            m.ExecutionCreate,
            id=eid,
            run=run.id,
            executable=executable,
            name=run.name,
            kind=EXECUTION_KIND,
            status=m.Status(run.status),
            start_time=run.create_time,
            end_time=run.end_time,
            annotations={RUN_ID_NOTE: run_id(run.id)},
        ),
    )
    return eid


def _attach(
    tx: Transaction,
    execution: uuid.UUID,
    *,
    inputs: Iterable[uuid.UUID] = (),
    outputs: Iterable[uuid.UUID] = (),
) -> None:
    current = tx.read("execution", execution)
    assert current is not None  # made by ensure_execution in this transaction
    merged_in = list(dict.fromkeys([*current.input_artifacts, *inputs]))
    merged_out = list(dict.fromkeys([*current.output_artifacts, *outputs]))
    changes: dict[str, Any] = {}
    if merged_in != current.input_artifacts:
        changes["input_artifacts"] = merged_in
    if merged_out != current.output_artifacts:
        changes["output_artifacts"] = merged_out
    if changes:
        tx.update("execution", execution, _model(m.ExecutionUpdate, **changes), mirror=True)


# ---------------------------------------------------------------- datasets


def _dataset_fields(item: Any, at: int) -> tuple[dict[str, Any], dict[str, str]]:
    if not isinstance(item, dict) or not isinstance(item.get("dataset"), dict):
        raise invalid(f"Invalid value for datasets[{at}]: {{dataset: {{name, digest, ...}}}}")
    ds = item["dataset"]
    name, digest = ds.get("name"), ds.get("digest")
    if not isinstance(name, str) or not name:
        raise invalid(f"Missing value for required parameter 'datasets[{at}].dataset.name'.")
    if not isinstance(digest, str) or not digest:
        raise invalid(f"Missing value for required parameter 'datasets[{at}].dataset.digest'.")
    if len(name) > MAX_DATASET_NAME or len(name) > 256:
        raise invalid(f"Dataset name '{name[:40]}...' exceeds the maximum length of 256")
    if len(digest) > MAX_DATASET_DIGEST:
        raise invalid(f"Dataset digest '{digest}' exceeds the maximum length of 36")
    for field, limit in (("source", MAX_DATASET_SOURCE), ("schema", MAX_DATASET_SCHEMA)):
        value = ds.get(field)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise invalid(f"Dataset {field} of '{name}' is not a string of at most {limit}")
    if not isinstance(ds.get("source_type"), str | None):
        raise invalid(f"Invalid value for datasets[{at}].dataset.source_type: a string")
    tags = dict(_check_tag(t.get("key"), t.get("value"), 500) for t in _items(item.get("tags")))
    return ds, tags


def _items(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise invalid("Invalid value: a list of {key, value} tags")
    return value


def _source_uri(source: Any) -> str | None:
    if isinstance(source, dict):
        for key in ("uri", "url", "path", "location", "table_name"):
            if isinstance(source.get(key), str):
                return str(source[key])[:4096]
    return None


def _dataset_artifact(tx: Transaction, ds: dict[str, Any], run: RunRow) -> uuid.UUID:
    """The dataset artifact of ``ds`` that ``run`` reads: the one of its name and digest that
    every run reading that dataset shares, made on first use. A token that may not read that
    one (another experiment's runs read it) gets one of the run's experiment instead, as it
    would had the dataset been new: neither a refusal nor the shared artifact's content tells
    it that another experiment used the dataset."""
    aid = dataset_id(ds["name"], ds["digest"])
    if tx.read("artifact", aid) is not None:
        scope = scope_of(tx.session)
        if scope is None or can_read_artifact(tx.session, scope, aid):
            return aid
        aid = uuid.uuid5(aid, f"experiment\x1f{run.experiment_id}")
        if tx.read("artifact", aid) is not None:
            return aid
    source = _json(ds.get("source"))
    attributes = {
        k: v
        for k, v in {
            "type": ds.get("source_type"),
            "digest": ds["digest"],
            "source": source,
            "schema": _json(ds.get("schema")),
            "profile": _json(ds.get("profile")),
        }.items()
        if v not in (None, "")
    }
    data = _model(
        m.ArtifactCreate,
        id=aid,
        name=ds["name"],
        version=ds["digest"],
        kind="dataset",
        create_time=run.create_time,
        uri=_source_uri(source),
        attributes=attributes,
    )
    tx.meta.check_attributes("dataset", data.attributes)
    tx.create("artifact", data)
    return aid


def log_inputs(meta: Metadata, shown: Any, datasets: list[Any], models: list[Any]) -> None:
    if len(datasets) > MAX_DATASETS:
        raise invalid(f"Datasets count {len(datasets)} exceeds the maximum of {MAX_DATASETS}")
    checked = [_dataset_fields(item, i) for i, item in enumerate(datasets)]
    model_ids = []
    for item in models:
        if not isinstance(item, dict):
            raise invalid("Invalid value for models: a list of {model_id}")
        model_ids.append(parse_model_id(item.get("model_id")))

    def log(tx: Transaction) -> None:
        run = _active_run(tx.session, shown)
        execution = ensure_execution(tx, run)
        inputs = [_dataset_artifact(tx, ds, run) for ds, _ in checked]
        for mid in model_ids:
            _model_row(tx.session, mid)
        _attach(tx, execution, inputs=[*inputs, *model_ids])
        current = tx.session.get(ExecutionRow, execution)
        assert current is not None
        annotations = dict(current.annotations)
        for aid, (_, tags) in zip(inputs, checked, strict=True):
            if tags:
                annotations[INPUT_TAGS + str(aid)] = orjson.dumps(tags).decode()
        if annotations != current.annotations:
            tx.update("execution", execution, _model(m.ExecutionUpdate, annotations=annotations))

    meta.write(log)


def log_outputs(meta: Metadata, shown: Any, models: list[Any]) -> None:
    ids = []
    for item in models:
        if not isinstance(item, dict):
            raise invalid("Invalid value for models: a list of {model_id, step}")
        ids.append(parse_model_id(item.get("model_id")))

    def log(tx: Transaction) -> None:
        run = _active_run(tx.session, shown)
        for mid in ids:
            _model_row(tx.session, mid, write=True)
        _attach(tx, ensure_execution(tx, run), outputs=ids)

    meta.write(log)


def run_details(session: Session, runs: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The ``inputs`` and ``outputs`` of MLflow's run answer, for each of ``runs``: what the
    run's MLflow executions read and wrote (the one this API makes for a run, and the one
    ``modeltrail import mlflow`` made for a run it imported). Read as plain columns: a
    search answers a page of runs."""
    if not runs:
        return {}
    found = {
        row.id: row
        for row in session.execute(
            select(ExecutionRow.id, ExecutionRow.run_id, ExecutionRow.annotations)
            .where(ExecutionRow.run_id.in_(runs), ExecutionRow.kind == EXECUTION_KIND)
            .order_by(ExecutionRow.run_id, ExecutionRow.start_time, ExecutionRow.id)
        )
    }
    if not found:
        return {}
    edges: dict[uuid.UUID, tuple[list[Row[Any]], list[Row[Any]]]] = {e: ([], []) for e in found}
    for table, side in ((ExecutionInputRow, 0), (ExecutionOutputRow, 1)):
        query = (
            select(table.execution_id, *_ARTIFACT_COLUMNS)
            .join(ArtifactRow, ArtifactRow.id == table.artifact_id)
            .where(table.execution_id.in_(list(found)))
            .order_by(table.execution_id, table.position)
        )
        for artifact in session.execute(query):
            edges[artifact.execution_id][side].append(artifact)
    out: dict[uuid.UUID, dict[str, Any]] = {}
    for execution, (ins, outs) in edges.items():
        notes = found[execution].annotations
        answer = out.setdefault(
            found[execution].run_id,
            {
                "inputs": {"dataset_inputs": [], "model_inputs": []},
                "outputs": {"model_outputs": []},
            },
        )
        for a in ins:
            if a.kind == "model" and _is_logged_model(a):
                answer["inputs"]["model_inputs"].append({"model_id": model_id(a.id)})
                continue
            tags = _json(notes.get(INPUT_TAGS + str(a.id))) or {}
            answer["inputs"]["dataset_inputs"].append(
                {"tags": _tags(tags), "dataset": dataset_json(a)}
            )
        answer["outputs"]["model_outputs"].extend(
            {"model_id": model_id(a.id), "step": 0} for a in outs if _is_logged_model(a)
        )
    return out


# What a run answer shows of an artifact the run read or wrote (``dataset_json``, a logged
# model's id).
_ARTIFACT_COLUMNS = (
    ArtifactRow.id,
    ArtifactRow.kind,
    ArtifactRow.name,
    ArtifactRow.version,
    ArtifactRow.uri,
    ArtifactRow.attributes,
)


def dataset_json(a: ArtifactRow | Row[Any]) -> dict[str, Any]:
    attributes = a.attributes or {}
    answer = {
        "name": a.name,
        "digest": attributes.get("digest") or a.version,
        "source_type": _shown(attributes.get("type")) or "external",
        "source": _shown(attributes.get("source")) or (a.uri or ""),
    }
    for field in ("schema", "profile"):
        if attributes.get(field) is not None:
            answer[field] = _shown(attributes[field])
    return answer


# ---------------------------------------------------------------- logged models


def _is_logged_model(a: ArtifactRow | Row[Any]) -> bool:
    return isinstance((a.attributes or {}).get("mlflow"), dict)


def logged_models(session: Session, artifacts: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``artifacts`` are MLflow logged models (not any ``model`` artifact: one a
    version was registered from by its URI alone is not)."""
    wanted = list(set(artifacts))
    found: set[uuid.UUID] = set()
    for start in range(0, len(wanted), 500):
        query = select(ArtifactRow.id, ArtifactRow.attributes).where(
            ArtifactRow.id.in_(wanted[start : start + 500]), ArtifactRow.kind == "model"
        )
        found.update(
            aid
            for aid, attributes in session.execute(query)
            if isinstance((attributes or {}).get("mlflow"), dict)
        )
    return found


def _model_row(session: Session, artifact: uuid.UUID, *, write: bool = False) -> ArtifactRow:
    """The model, to read or to change (``write``) as the request's token may: a logged model
    is of the experiment MLflow made it in, another model of its runs' experiments; one the
    token may not read is as missing as one that is not there."""

    def absent() -> MlflowError:
        return missing(f"Logged model with ID '{model_id(artifact)}' not found.")

    row = session.get(ArtifactRow, artifact)
    if row is None or row.kind != "model":
        raise absent()
    scope = scope_of(session)
    if scope is None:
        return row
    if _is_logged_model(row):
        experiment = parse_experiment_id(row.attributes["mlflow"].get("experimentId", "0"))
        access.check_experiment(session, experiment, write=write, absent=absent)
        if write:
            note_writable(session, artifact)
    elif not can_read_artifact(session, scope, artifact):
        raise absent()
    elif write and not can_write_artifact(session, scope, artifact):
        raise MlflowError(PERMISSION_DENIED, "This token may read this model but not change it.")
    return row
