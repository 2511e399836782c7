"""MLflow's model registry over modeltrail's: registered models, versions, tags and aliases.

A registered model is modeltrail's registered model; a model version is its version, which
points at one artifact: the logged model named by ``model_id`` or by a ``models:/m-...``
source, a model artifact whose URI is the source, or else a new ``model`` artifact with that
URI (written by the run's execution when ``run_id`` is given), so its lineage is the run's.
Stages are MLflow's deprecated word for aliases: every version answers ``None``.

A token with grants on single experiments uses the registry as on modeltrail's API
(``modeltrail.services.registry.visible``): it registers its runs' models and changes their
versions and aliases. It may not make a registered model by itself (a model belongs to no
experiment), only with its first version, as ``createModel=true`` does there: its
``create_registered_model`` holds a new name (answered as made, made by the first
``create_model_version``), so that MLflow's ``register_model``, which makes the model and then
the version, works for it; a model without a version it may read is absent to it either way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import select

from modeltrail.domain import models as m
from modeltrail.domain.errors import ModeltrailError
from modeltrail.domain.registry import (
    AliasSet,
    ModelVersion,
    ModelVersionCreate,
    ModelVersionUpdate,
    RegisteredModel,
    RegisteredModelCreate,
    RegisteredModelUpdate,
)
from modeltrail.integrations.mlflow import lineage, runs, tracking
from modeltrail.integrations.mlflow.errors import (
    PERMISSION_DENIED,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    MlflowError,
    invalid,
    invalid_fields,
)
from modeltrail.services.access import readable_rows
from modeltrail.services.metadata import Transaction
from modeltrail.services.registry import Registry
from modeltrail.store.tables import (
    ArtifactRow,
    RegisteredModelRow,
    utcnow,
)

T = TypeVar("T")
PROMPT_TAG = "mlflow.prompt.is_prompt"


def _mlflow_errors(call: Callable[[], T], *, exists: str = "") -> T:
    """A registry call, its refusals in MLflow's codes."""
    try:
        return call()
    except MlflowError:
        raise
    except ValidationError as exc:
        raise invalid_fields(exc) from None
    except ModeltrailError as exc:
        if exc.status == 404:
            raise MlflowError(RESOURCE_DOES_NOT_EXIST, exc.detail) from None
        if exc.status == 409 and exists:
            raise MlflowError(RESOURCE_ALREADY_EXISTS, exists) from None
        if exc.status in (409, 422):
            raise invalid(exc.detail) from None
        raise


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]


def version_answers(registry: Registry, versions: list[ModelVersion]) -> list[dict[str, Any]]:
    """MLflow's answers for ``versions``; ``model_id`` names the logged model a version was
    registered from (a version registered from files by their URI has none, as in MLflow)."""
    logged = registry.meta.query(lineage.logged_models, [v.artifact.id for v in versions])
    return [version_json(v, logged) for v in versions]


def version_json(v: ModelVersion, logged: set[uuid.UUID]) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "name": v.model,
        "version": str(v.version),
        "creation_timestamp": tracking.ms(v.create_time),
        "last_updated_timestamp": tracking.ms(v.update_time),
        "current_stage": "None",
        "description": v.description or "",
        "source": v.artifact.uri or f"models:/{lineage.model_id(v.artifact.id)}",
        "status": "READY",
        "tags": _tags(v.tags),
        "aliases": list(v.aliases),
    }
    if v.run is not None:
        answer["run_id"] = tracking.run_id(v.run.id)
    if v.artifact.id in logged:
        answer["model_id"] = lineage.model_id(v.artifact.id)
    return answer


def _answer(registry: Registry, version: ModelVersion) -> dict[str, Any]:
    return version_answers(registry, [version])[0]


def model_answers(registry: Registry, models: list[RegisteredModel]) -> list[dict[str, Any]]:
    """MLflow's answers for ``models``, each with its latest version: the versions, and
    which of them came from a logged model, read once for all."""
    latest = registry.newest_versions(models, metrics=False)
    logged = registry.meta.query(lineage.logged_models, [v.artifact.id for v in latest.values()])
    return [
        {
            "name": rm.name,
            "creation_timestamp": tracking.ms(rm.create_time),
            "last_updated_timestamp": tracking.ms(rm.update_time),
            "description": rm.description or "",
            "tags": _tags(rm.tags),
            "aliases": [{"alias": a, "version": str(v)} for a, v in rm.aliases.items()],
            "latest_versions": [version_json(latest[rm.name], logged)] if rm.name in latest else [],
        }
        for rm in models
    ]


def model_json(registry: Registry, rm: RegisteredModel) -> dict[str, Any]:
    return model_answers(registry, [rm])[0]


def _name(p: dict[str, Any], field: str = "name") -> str:
    value = p.get(field)
    if not isinstance(value, str) or not value:
        raise invalid(f"Missing value for required parameter '{field}'.")
    return value


def _version(p: dict[str, Any]) -> int:
    try:
        return int(p.get("version"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise invalid(f"Invalid value {p.get('version')!r} for parameter 'version'") from None


def _pairs(value: Any) -> dict[str, str]:
    return {k: v for k, v in (tracking._check_tag(t.get("key"), t.get("value"), 100_000)
            for t in lineage._items(value))}  # fmt: skip


# ---------------------------------------------------------------- registered models


def create_registered_model(registry: Registry, p: dict[str, Any]) -> Any:
    name = _name(p)
    data = tracking._model(
        RegisteredModelCreate,
        name=name,
        description=p.get("description") or None,
        tags=_pairs(p.get("tags")),
    )
    if _writes_single_experiments(registry):
        return {"registered_model": _held_name(registry, data)}
    made = _mlflow_errors(
        lambda: registry.create_model(data),
        exists=f"Registered Model (name={name}) already exists.",
    )
    return {"registered_model": model_json(registry, made)}


def _writes_single_experiments(registry: Registry) -> bool:
    """Whether the request's token has grants on single experiments only (no global writer)."""
    scope = registry.meta.scope
    return scope is not None and scope.writable is not None


def _held_name(registry: Registry, data: RegisteredModelCreate) -> dict[str, Any]:
    """``create_registered_model`` for a token with grants on single experiments: a model's
    name answers ``RESOURCE_ALREADY_EXISTS`` (what ``register_model`` goes on from to add its
    version), a new one is answered as made and made with its first version."""
    scope = registry.meta.scope
    if scope is None or not scope.writable:
        raise MlflowError(PERMISSION_DENIED, "This token may not register models.")
    if data.description or data.tags:
        raise MlflowError(
            PERMISSION_DENIED,
            "A registered model's description and tags need a token with a global writer role.",
        )
    named = select(RegisteredModelRow.id).where(RegisteredModelRow.name == data.name)
    taken = registry.meta.query(lambda s: s.scalar(named))
    if taken is not None:
        raise MlflowError(
            RESOURCE_ALREADY_EXISTS, f"Registered Model (name={data.name}) already exists."
        )
    now = tracking.ms(utcnow())
    return {
        "name": data.name,
        "creation_timestamp": now,
        "last_updated_timestamp": now,
        "description": "",
        "tags": [],
        "aliases": [],
        "latest_versions": [],
    }


def get_registered_model(registry: Registry, p: dict[str, Any]) -> Any:
    name = _name(p)
    return _mlflow_errors(
        lambda: {"registered_model": model_json(registry, registry.get_model(name))}
    )


def rename_registered_model(registry: Registry, p: dict[str, Any]) -> Any:
    name, new = _name(p), _name(p, "new_name")
    renamed = _mlflow_errors(
        lambda: registry.rename_model(name, new),
        exists=f"Registered Model (name={new}) already exists.",
    )
    return {"registered_model": model_json(registry, renamed)}


def update_registered_model(registry: Registry, p: dict[str, Any]) -> Any:
    name = _name(p)
    data = tracking._model(RegisteredModelUpdate, description=p.get("description") or None)
    updated = _mlflow_errors(lambda: registry.update_model(name, data))
    return {"registered_model": model_json(registry, updated)}


def delete_registered_model(registry: Registry, p: dict[str, Any]) -> Any:
    name = _name(p)
    _mlflow_errors(lambda: registry.delete_model(name))


def get_latest_versions(registry: Registry, p: dict[str, Any]) -> Any:
    name = _name(p)
    rm = _mlflow_errors(lambda: registry.get_model(name))
    return {"model_versions": model_json(registry, rm)["latest_versions"]}


def set_registered_model_tag(registry: Registry, p: dict[str, Any]) -> Any:
    name = _name(p)
    key, value = tracking._check_tag(p.get("key"), p.get("value"), 100_000)
    _mlflow_errors(lambda: registry.set_model_tag(name, key, value))


def delete_registered_model_tag(registry: Registry, p: dict[str, Any]) -> Any:
    name, key = _name(p), _name(p, "key")
    _mlflow_errors(lambda: registry.delete_model_tag(name, key))


def set_alias(registry: Registry, p: dict[str, Any]) -> Any:
    name, alias, version = _name(p), _name(p, "alias"), _version(p)
    _mlflow_errors(lambda: registry.set_alias(name, alias, AliasSet(version=version)))


def delete_alias(registry: Registry, p: dict[str, Any]) -> Any:
    name, alias = _name(p), _name(p, "alias")
    _mlflow_errors(lambda: registry.remove_alias(name, alias))


def get_version_by_alias(registry: Registry, p: dict[str, Any]) -> Any:
    name, alias = _name(p), _name(p, "alias")
    found = _mlflow_errors(lambda: registry.get_alias(name, alias))
    if found.version is None:
        raise MlflowError(RESOURCE_DOES_NOT_EXIST, f"Alias {alias} of {name} points at nothing")
    return {"model_version": _answer(registry, registry.get_version(name, found.version))}


# ---------------------------------------------------------------- versions


def _artifact_for(registry: Registry, p: dict[str, Any], name: str) -> uuid.UUID:
    source = p.get("source")
    if not isinstance(source, str) or not source:
        raise invalid("Missing value for required parameter 'source'.")
    named = p.get("model_id") or (
        source.removeprefix("models:/") if source.startswith("models:/m-") else None
    )
    run_text = p.get("run_id") or None

    def find(tx: Transaction) -> uuid.UUID:
        if named:
            artifact = lineage.parse_model_id(named)
            lineage._model_row(tx.session, artifact)
            return artifact
        # A model of another experiment than the token's is not found by its URI: the
        # version is then of a new artifact, written by the token's run.
        by_uri = select(ArtifactRow.id).where(
            ArtifactRow.uri == source, ArtifactRow.kind == "model"
        )
        found: uuid.UUID | None = tx.session.scalars(
            readable_rows(tx.session, ArtifactRow, by_uri)
        ).first()
        if found is not None:
            return found
        run = runs._run_row(tx.session, run_text, write=True) if run_text else None
        if run is None and _writes_single_experiments(registry):
            raise MlflowError(
                PERMISSION_DENIED,
                "This token registers the models of its runs: give the run_id of the run "
                "that made the model.",
            )
        made = tx.create(
            "artifact",
            tracking._model(m.ArtifactCreate, name=name[:256], kind="model", uri=source),
        )
        if run is not None:
            lineage._attach(tx, lineage.ensure_execution(tx, run), outputs=[made.id])
        return made.id  # type: ignore[no-any-return]

    return registry.meta.write(find)


def create_model_version(registry: Registry, p: dict[str, Any]) -> Any:
    name = _name(p)
    artifact = _artifact_for(registry, p, name)
    data = tracking._model(
        ModelVersionCreate,
        artifact=artifact,
        description=p.get("description") or None,
        tags=_pairs(p.get("tags")),
    )
    made, _ = _mlflow_errors(
        lambda: registry.create_version(
            name, data, create_model=_writes_single_experiments(registry)
        )
    )
    return {"model_version": _answer(registry, made)}


def get_model_version(registry: Registry, p: dict[str, Any]) -> Any:
    name, version = _name(p), _version(p)
    found = _mlflow_errors(lambda: registry.get_version(name, version))
    return {"model_version": _answer(registry, found)}


def update_model_version(registry: Registry, p: dict[str, Any]) -> Any:
    name, version = _name(p), _version(p)
    data = tracking._model(ModelVersionUpdate, description=p.get("description") or None)
    updated = _mlflow_errors(lambda: registry.update_version(name, version, data))
    return {"model_version": _answer(registry, updated)}


def delete_model_version(registry: Registry, p: dict[str, Any]) -> Any:
    name, version = _name(p), _version(p)
    _mlflow_errors(lambda: registry.delete_version(name, version))


def set_model_version_tag(registry: Registry, p: dict[str, Any]) -> Any:
    name, version = _name(p), _version(p)
    key, value = tracking._check_tag(p.get("key"), p.get("value"), 100_000)
    _mlflow_errors(lambda: registry.set_version_tag(name, version, key, value))


def delete_model_version_tag(registry: Registry, p: dict[str, Any]) -> Any:
    name, version, key = _name(p), _version(p), _name(p, "key")
    _mlflow_errors(lambda: registry.delete_version_tag(name, version, key))


def get_download_uri(registry: Registry, p: dict[str, Any]) -> Any:
    answer = get_model_version(registry, p)["model_version"]
    return {"artifact_uri": answer["source"]}
