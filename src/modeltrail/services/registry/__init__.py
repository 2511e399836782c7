"""The model registry's use cases, for every front end (API, CLI, SDK, an MLflow-compatible
API): registered models, versions, tags, aliases and their history, references resolved.

``Registry`` runs each operation in one transaction of a ``Metadata`` store and tells the
plugins what changed once it committed (``modeltrail_stored``): ``registered_model``
(``create``, ``update``, ``delete``), ``model_version`` (``create``, ``update``, ``delete``)
and ``model_alias`` (``set``, ``move``, ``remove``, ``protect``, ``unprotect``, with the
``AliasEvent``), so that a webhook or a deployment system can follow an alias.

The functions of the modules below take an open session and are the same operations without
the hooks.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy.orm import Session

from modeltrail.domain import limits
from modeltrail.domain.models import Page
from modeltrail.domain.registry import (
    Alias,
    AliasEvent,
    AliasProtection,
    AliasSet,
    ModelRef,
    ModelVersion,
    ModelVersionCreate,
    ModelVersionUpdate,
    RegisteredModel,
    RegisteredModelCreate,
    RegisteredModelUpdate,
)
from modeltrail.services.metadata import Metadata
from modeltrail.services.registry import aliases, models, versions

__all__ = ["Registry", "aliases", "models", "versions"]


class Deleted(BaseModel):
    """What a deletion from the registry told the plugins: the model, the version (None: the
    whole model) and the artifacts the deleted versions were, read before they went."""

    model: str
    version: int | None = None
    artifacts: list[uuid.UUID] = []


class Registry:
    """The registry of one store. ``deployer``: whether the caller may change protected
    aliases (a token with the deployer or admin role, or a store without access control)."""

    def __init__(self, meta: Metadata, *, deployer: bool = True) -> None:
        self.meta = meta
        self.deployer = deployer

    def _told(self, entity: str, action: str, result: BaseModel | None) -> None:
        if result is not None:
            self.meta.stored(entity, action, result)

    # ------------------------------------------------------------ registered models

    def create_model(self, data: RegisteredModelCreate) -> RegisteredModel:
        result = self.meta.call(models.create_model, data)
        self._told("registered_model", "create", result)
        return result

    def get_model(self, name: str) -> RegisteredModel:
        return self.meta.query(models.read_model, name)

    def search_models(
        self,
        *,
        name_contains: str | None = None,
        tags: Mapping[str, str] | None = None,
        limit: int = limits.DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[RegisteredModel]:
        return self.meta.query(
            models.search_models, name_contains=name_contains, tags=tags, limit=limit, cursor=cursor
        )

    def update_model(self, name: str, data: RegisteredModelUpdate) -> RegisteredModel:
        result = self.meta.call(models.update_model, name, data)
        self._told("registered_model", "update", result)
        return result

    def rename_model(self, name: str, new_name: str) -> RegisteredModel:
        return self.update_model(name, RegisteredModelUpdate(name=new_name))

    def set_model_tag(self, name: str, key: str, value: str) -> RegisteredModel:
        result = self.meta.call(models.set_model_tag, name, key, value)
        self._told("registered_model", "update", result)
        return result

    def delete_model_tag(self, name: str, key: str) -> RegisteredModel:
        result = self.meta.call(models.delete_model_tag, name, key)
        self._told("registered_model", "update", result)
        return result

    def delete_model(self, name: str) -> None:
        artifacts = self.meta.call(models.delete_model, name, deployer=self.deployer)
        self._told("registered_model", "delete", Deleted(model=name, artifacts=artifacts))

    # ------------------------------------------------------------ versions

    def create_version(
        self, name: str, data: ModelVersionCreate, *, create_model: bool = False
    ) -> tuple[ModelVersion, bool]:
        """Register an artifact as the model's next version (an artifact already registered
        answers its version, ``False``)."""
        result, created = self.meta.call(
            versions.create_version, name, data, create_model=create_model
        )
        if created:
            self._told("model_version", "create", result)
        return result, created

    def get_version(self, name: str, version: int) -> ModelVersion:
        return self.meta.query(versions.read_version, name, version)

    def newest_versions(
        self, models: Sequence[RegisteredModel], *, metrics: bool = True
    ) -> dict[str, ModelVersion]:
        """The newest version of each of ``models``, by model name, read all at once."""
        return self.meta.query(versions.newest_versions, models, metrics=metrics)

    def versions_of_models(
        self, names: Sequence[str], *, limit: int, metrics: bool = True
    ) -> list[ModelVersion]:
        """Up to ``limit`` versions of each model named, newest first, model after model,
        read all at once (a name of no model the request may read adds none)."""
        return self.meta.query(versions.versions_of_models, names, limit=limit, metrics=metrics)

    def versions_of_artifact(
        self, artifact_id: uuid.UUID, *, metrics: bool = False
    ) -> list[ModelVersion]:
        """The versions an artifact is registered as, in every model, with their aliases."""
        return self.meta.query(versions.versions_of_artifact, artifact_id, metrics=metrics)

    def latest_version(self, name: str) -> ModelVersion:
        return self.meta.query(versions.latest_version, name)

    def list_versions(
        self,
        name: str,
        *,
        limit: int = limits.DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
        metrics: bool = True,
    ) -> Page[ModelVersion]:
        return Page[ModelVersion].model_validate(
            self.list_version_documents(name, limit=limit, cursor=cursor, metrics=metrics)
        )

    def list_version_documents(
        self,
        name: str,
        *,
        limit: int = limits.DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
        metrics: bool = True,
    ) -> dict[str, Any]:
        """``list_versions`` in its JSON form, for an answer sent as it is."""
        return self.meta.query(
            versions.list_versions, name, limit=limit, cursor=cursor, metrics=metrics
        )

    def list_version_json(
        self,
        name: str,
        *,
        limit: int = limits.DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
        metrics: bool = True,
    ) -> bytes:
        """``list_versions`` as the JSON text of its answer, for an answer sent as it is.
        Written inside the read: with ``hold_collector`` the page's tens of thousands of
        containers are then freed before the cyclic collector runs again, rather than
        traversed by it (and moved a generation up) on their way out."""

        def written(session: Session) -> bytes:
            page = versions.list_versions(
                session, name, limit=limit, cursor=cursor, metrics=metrics
            )
            return orjson.dumps(page)

        return self.meta.query(written)

    def update_version(self, name: str, version: int, data: ModelVersionUpdate) -> ModelVersion:
        result = self.meta.call(versions.update_version, name, version, data)
        self._told("model_version", "update", result)
        return result

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> ModelVersion:
        result = self.meta.call(versions.set_version_tag, name, version, key, value)
        self._told("model_version", "update", result)
        return result

    def delete_version_tag(self, name: str, version: int, key: str) -> ModelVersion:
        result = self.meta.call(versions.delete_version_tag, name, version, key)
        self._told("model_version", "update", result)
        return result

    def delete_version(self, name: str, version: int) -> None:
        artifact = self.meta.call(versions.delete_version, name, version)
        deleted = Deleted(model=name, version=version, artifacts=[artifact])
        self._told("model_version", "delete", deleted)

    # ------------------------------------------------------------ aliases

    def set_alias(self, name: str, alias: str, data: AliasSet) -> Alias:
        result, event = self.meta.call(aliases.set_alias, name, alias, data, deployer=self.deployer)
        self._told("model_alias", event.action.value if event else "", event)
        return result

    def remove_alias(self, name: str, alias: str, *, reason: str | None = None) -> AliasEvent:
        event = self.meta.call(
            aliases.remove_alias, name, alias, reason=reason, deployer=self.deployer
        )
        self._told("model_alias", event.action.value, event)
        return event

    def protect_alias(self, name: str, alias: str, data: AliasProtection) -> Alias:
        result, event = self.meta.call(
            aliases.protect_alias, name, alias, data, deployer=self.deployer
        )
        self._told("model_alias", event.action.value if event else "", event)
        return result

    def get_alias(self, name: str, alias: str, *, at: datetime | None = None) -> Alias:
        return self.meta.query(aliases.read_alias, name, alias, at=at)

    def list_aliases(self, name: str, *, at: datetime | None = None) -> list[Alias]:
        return self.meta.query(aliases.list_aliases, name, at=at)

    def alias_history(
        self, name: str, *, alias: str | None = None, limit: int = aliases.DEFAULT_HISTORY
    ) -> list[AliasEvent]:
        return self.meta.query(aliases.alias_history, name, alias=alias, limit=limit)

    def resolve(
        self, ref: ModelRef | str, *, at: datetime | None = None, metrics: bool = True
    ) -> ModelVersion:
        return ModelVersion.model_validate(self.resolve_document(ref, at=at, metrics=metrics))

    def resolve_document(
        self, ref: ModelRef | str, *, at: datetime | None = None, metrics: bool = True
    ) -> dict[str, Any]:
        """``resolve`` in its JSON form, for an answer sent as it is."""
        return self.meta.query(aliases.resolve, ref, at=at, metrics=metrics)

    def registrations_of(self, artifact_id: Any) -> list[dict[str, Any]]:
        return self.meta.query(versions.registrations_of, artifact_id)
