"""The hook specification: everything a modeltrail plugin can implement.

A plugin is a module or an object with functions marked ``@hookimpl`` whose names are the
hooks below. It implements only the hooks it needs. The services call the hooks around every
create and update of every entity (experiment, run, pipeline, executable, execution,
artifact), whichever front end made the write: the HTTP API, the CLI, the SDK's embedded mode
or an importer (OpenLineage, Argo).

A hook that raises never costs the client its write: the error is logged, counted in the
plugin's status (``GET /api/v1/plugins``) and the write stands as the client sent it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

import pluggy
from pydantic import BaseModel
from sqlalchemy.orm import Session

from modeltrail.store.database import Access

PROJECT = "modeltrail"
ENTRY_POINT_GROUP = "modeltrail.plugins"


class Store(Protocol):
    """What a plugin is started with: the store, to open sessions on (``services.metadata.
    Metadata`` is one). A plugin reads with them; it writes only its own tables."""

    def session(self, access: Access = ...) -> AbstractContextManager[Session]: ...


hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def modeltrail_start(metadata: Store, settings: dict[str, Any]) -> None:
    """Called once when the store opens, with this plugin's own settings (from the
    configuration file or ``MODELTRAIL_PLUGIN_<NAME>_<KEY>`` variables). Start background
    work here; ``metadata`` may be kept to read the store."""


@hookspec
def modeltrail_enrich(entity: str, action: str, data: BaseModel) -> BaseModel | None:
    """Before ``data`` (an ``XCreate`` or ``XUpdate`` model) is stored.

    ``entity`` is ``experiment``, ``run``, ``pipeline``, ``executable``, ``execution`` or
    ``artifact``; ``action`` is ``create`` or ``update``. Return a changed copy (for example
    ``data.model_copy(update=...)``) to store that instead, or ``None`` to leave it. Plugins
    are called one after the other, each seeing the previous one's result."""


@hookspec
def modeltrail_stored(entity: str, action: str, result: BaseModel) -> None:
    """After the write committed; ``result`` is the stored entity as the API returns it.
    Keep it quick: push slow work (HTTP calls) to a thread of your own.

    The model registry calls it too: ``registered_model`` (``create``, ``update``,
    ``delete``), ``model_version`` (``create``, ``update``, ``delete``) and ``model_alias``
    (``set``, ``move``, ``remove``, ``protect``, ``unprotect``, with the ``AliasEvent``); a
    ``delete`` gives a ``Deleted`` (the model, the version, and the artifacts the deleted
    versions were, read before they went)."""


@hookspec
def modeltrail_status() -> dict[str, Any] | None:
    """Extra facts for ``GET /api/v1/plugins`` (for example the last delivery's result)."""


@hookspec
def modeltrail_stop() -> None:
    """Called when the store closes: stop threads, flush queues."""


HOOKS = (
    "modeltrail_start",
    "modeltrail_enrich",
    "modeltrail_stored",
    "modeltrail_status",
    "modeltrail_stop",
)
