"""The one entry point every front end uses: HTTP routers, the CLI, the SDK's embedded mode.

``Metadata`` owns a database and runs each operation in one transaction, calling the plugin
hooks around every write. ``ENTITIES`` gives each entity of the registry (``domain.entities``)
its operations, so that the front ends offer the same create/read/update/delete/list on all.
"""

from __future__ import annotations

import copy
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from importlib import import_module
from types import ModuleType
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from modeltrail import collector
from modeltrail.domain import kinds as rules
from modeltrail.domain import models as m
from modeltrail.domain.entities import ENTITIES as DECLARED
from modeltrail.domain.entities import Entity
from modeltrail.domain.errors import Conflict, InvalidInput, NotFound, Unavailable
from modeltrail.domain.filters import ListOptions
from modeltrail.domain.scope import Scope
from modeltrail.services.access import bind_scope, redact
from modeltrail.services.entities import artifact as artifacts
from modeltrail.services.entities.crud import Service
from modeltrail.services.files import FileService, default_file_service
from modeltrail.services.kinds import register_builtin_kinds
from modeltrail.store.audit import ACTOR
from modeltrail.store.database import Access, Database, ensure_schema, open_database

log = logging.getLogger("modeltrail")
T = TypeVar("T")


@dataclass(frozen=True)
class EntityType:
    """An entity of the registry (``domain.entities``) with its operations: the functions
    ``create_<name>`` and ``delete_<name>`` of its services module, and the read, update and
    list of its ``SERVICE`` (``services.entities.crud``)."""

    declared: Entity
    create: Callable[..., tuple[Any, bool]]
    read: Callable[[Session, uuid.UUID], Any]
    update: Callable[..., Any]
    delete: Callable[[Session, uuid.UUID], None]
    list: Callable[[Session, ListOptions], m.Page[Any]]

    @property
    def name(self) -> str:
        return self.declared.name

    @property
    def plural(self) -> str:
        return self.declared.plural

    @property
    def create_model(self) -> type[BaseModel]:
        return self.declared.create

    @property
    def update_model(self) -> type[BaseModel]:
        return self.declared.update

    @property
    def model(self) -> type[BaseModel]:
        return self.declared.model

    @classmethod
    def of(cls, declared: Entity, module: ModuleType) -> EntityType:
        name = declared.name
        service: Service[Any] = module.SERVICE
        return cls(
            declared,
            create=getattr(module, f"create_{name}"),
            read=service.read,
            update=service.update,
            delete=getattr(module, f"delete_{name}"),
            list=service.list,
        )


# Each entity's operations are in the services module named after it.
ENTITIES: dict[str, EntityType] = {
    name: EntityType.of(declared, import_module(f"modeltrail.services.entities.{name}"))
    for name, declared in DECLARED.items()
}


class WriteRace(Conflict):
    """A unique key was taken by a concurrent transaction; retrying resolves it."""


def _unreachable(exc: DBAPIError) -> bool:
    """Whether an error means the database is gone or busy (503), not that the query is bad."""
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    if exc.orig is not None and type(exc.orig).__module__.startswith("sqlite3"):
        text = str(exc.orig).lower()
        return any(w in text for w in ("locked", "busy", "unable to open", "disk i/o"))
    return True


class Hooks(Protocol):
    """What the plugin component offers the services (see ``modeltrail.plugins``)."""

    def enrich(self, entity: str, action: str, data: BaseModel) -> BaseModel: ...

    def stored(self, entity: str, action: str, result: BaseModel) -> None: ...

    def listens(self, hook: str) -> bool:
        """Whether ``hook`` ("enrich", "stored") does anything, so that a batch need not make
        the entities nobody will look at."""
        ...


class NoHooks:
    def enrich(self, entity: str, action: str, data: BaseModel) -> BaseModel:
        return data

    def stored(self, entity: str, action: str, result: BaseModel) -> None:
        return None

    def listens(self, hook: str) -> bool:
        return False


class Metadata:
    """Operations on one store, each in its own transaction.

    ``actor`` is who the writes are made for (the request's API token), recorded on every
    row they create or change; None records nobody (access control off, the embedded store).
    ``hold_collector``: reads hold the garbage collector off while they build an answer
    (``collector``). It is process-wide, so only a process that is the server's own sets it;
    the embedded store runs in the user's process and leaves the collector alone.
    """

    def __init__(
        self,
        db: Database,
        *,
        strict_kinds: bool = False,
        hooks: Hooks | None = None,
        actor: m.Actor | None = None,
        hold_collector: bool = False,
        files: FileService | None = None,
    ) -> None:
        self.db = db
        self.hold_collector = hold_collector
        # Shared by the views of this store (``acting_as``, ``scoped``): made once, on first use.
        self._files: list[FileService | None] = [files]
        self.strict_kinds = strict_kinds
        self.hooks: Hooks = hooks or NoHooks()
        self.actor = actor
        # What the request may read and write; None: everything (see ``scoped``).
        self.scope: Scope | None = None

    @property
    def files(self) -> FileService:
        """The files of this store's artifacts: where ``files`` was given, else
        ``MODELTRAIL_ARTIFACTS_ROOT``, else a directory next to an SQLite file."""
        service = self._files[0]
        if service is None:
            service = self._files[0] = default_file_service(self.db.url)
        return service

    def acting_as(self, actor: m.Actor | None) -> Metadata:
        """The same store, its writes recorded as made by ``actor``: what a request's
        handlers use, so that who wrote travels with the call instead of through a global."""
        if actor == self.actor:
            return self
        acting = copy.copy(self)
        acting.actor = actor
        return acting

    def scoped(self, scope: Scope | None) -> Metadata:
        """This store as a request of an experiment-scoped token sees it: its sessions carry
        ``scope``, which the services consult (``modeltrail.services.access``)."""
        if scope is None:
            return self
        view = copy.copy(self)
        view.scope = scope
        return view

    @classmethod
    def open(cls, url: str, *, auto_upgrade: bool | None = None, **kwargs: Any) -> Metadata:
        """Open a store, creating its schema and the built-in kinds if it is new. A database
        that cannot be reached (no such database, a server that refuses) is ``Unavailable``
        with the driver's reason in one sentence."""
        db = open_database(url)
        try:
            ensure_schema(db.engine, auto_upgrade=auto_upgrade)
            meta = cls(db, **kwargs)
            meta.call(register_builtin_kinds)
        except BaseException:
            db.dispose()
            raise
        return meta

    @contextmanager
    def session(self, access: Access = "write") -> Iterator[Session]:
        try:
            with self.db.session(access) as session:
                if self.actor is not None:
                    session.info[ACTOR] = self.actor
                bind_scope(session, self.scope)
                yield session
        except (IntegrityError, StaleDataError) as exc:
            # Two transactions wrote the same key or the same revision at once (an idempotent
            # create sent twice concurrently, two PATCHes of one entity): ``call`` retries the
            # loser on fresh data, where If-Match and idempotency decide as if in sequence.
            raise WriteRace("the write conflicts with a concurrent write; send it again") from exc
        except DataError as exc:
            # A value the database cannot hold that validation let through: the client's input.
            raise InvalidInput("a value in the request cannot be stored by the database") from exc
        except (OperationalError, DBAPIError) as exc:
            if _unreachable(exc):
                raise Unavailable("the database cannot be reached; try again shortly") from exc
            raise
        except PoolTimeout as exc:
            # Every pooled connection stayed busy for the pool's whole timeout: the server is
            # overloaded, not broken; the client's retry after a pause is the remedy.
            raise Unavailable("every database connection is busy; try again shortly") from exc

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a services function in one writing transaction.

        A write race (two clients creating the same id at once, two PATCHes of one revision)
        is retried on fresh data, where idempotency and If-Match decide as if in sequence.
        """

        def once() -> T:
            with self.session() as session:
                return fn(session, *args, **kwargs)

        return _retried(once)

    def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(tx, ...)`` in one ``transaction`` (writes with the plugins' hooks),
        retried on a write race like ``call``."""

        def once() -> T:
            with self.transaction() as tx:
                return fn(tx, *args, **kwargs)

        return _retried(once)

    def query(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a services function that only reads, in one read transaction (with
        ``hold_collector``, the garbage collector held off while it builds the answer)."""
        hold = collector.held() if self.hold_collector else nullcontext()
        with hold, self.session("read") as session:
            return fn(session, *args, **kwargs)

    def query_visible(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``query``, with what the request's scope may not read redacted from the answer
        (then a JSON document, see ``services.access.redact``); the answer itself for an unscoped
        request."""
        if self.scope is None or self.scope.readable is None:
            return self.query(fn, *args, **kwargs)

        def redacted(session: Session) -> Any:
            return redact(session, fn(session, *args, **kwargs))

        return self.query(redacted)

    # ------------------------------------------------------------ uniform entity operations

    def create(self, entity: str, data: BaseModel) -> tuple[Any, bool]:
        data = self.enrich(entity, "create", data)
        with rules.budget():
            if isinstance(data, m.ArtifactCreate):
                self.check_attributes(data.kind, data.attributes)
            result, created = self.call(self.create_in, entity, data)
        if created:
            self.stored(entity, "create", result)
        return result, created

    def create_in(self, session: Session, entity: str, data: BaseModel) -> tuple[Any, bool]:
        """Create in an open transaction, under this store's kind policy (no hooks called)."""
        extra = {"strict_kinds": self.strict_kinds} if entity == "artifact" else {}
        return ENTITIES[entity].create(session, data, **extra)

    def check_attributes(self, key: artifacts.KindKey, attributes: Any) -> None:
        """Validate an artifact's attributes against its kind (named, or that of the artifact
        whose id is given) before the write transaction opens: the kind is read in a read
        transaction, so that the write neither waits for the check nor holds the others out
        meanwhile. Runs in the caller's ``rules.budget``."""
        kinds = self.query(artifacts.kinds_of, [key])
        artifacts.check_attributes(kinds.get(key), attributes)

    def read(self, entity: str, entity_id: uuid.UUID) -> Any:
        return self.query(ENTITIES[entity].read, entity_id)

    def update(
        self, entity: str, entity_id: uuid.UUID, data: BaseModel, *, if_match: int | None = None
    ) -> Any:
        data = self.enrich(entity, "update", data)
        with rules.budget():
            if isinstance(data, m.ArtifactUpdate) and "attributes" in data.model_fields_set:
                self.check_attributes(entity_id, data.attributes)
            result = self.call(ENTITIES[entity].update, entity_id, data, if_match=if_match)
        self.stored(entity, "update", result)
        return result

    def delete(self, entity: str, entity_id: uuid.UUID) -> None:
        self.call(ENTITIES[entity].delete, entity_id)

    def list(self, entity: str, options: ListOptions) -> m.Page[Any]:
        return self.query(ENTITIES[entity].list, options)

    def enrich(self, entity: str, action: str, data: BaseModel) -> BaseModel:
        """What the plugins make of a write before it is stored; the write as sent if one fails."""
        try:
            return self.hooks.enrich(entity, action, data)
        except Exception:
            # A plugin never costs the client its write: store what the client sent.
            log.exception("plugin failed to enrich %s %s; storing it as sent", action, entity)
            return data

    def stored(self, entity: str, action: str, result: BaseModel) -> None:
        """Tell the plugins a write was stored; a failing plugin never undoes it."""
        try:
            self.hooks.stored(entity, action, result)
        except Exception:
            log.exception("plugin failed after %s %s; the write stands", action, entity)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Several writes in one transaction (an importer's one event); plugins are called as
        for single writes, ``stored`` only once everything has committed."""
        with rules.budget(), self.session() as session:
            tx = Transaction(self, session)
            yield tx
        for entity, action, result in tx.written:
            self.stored(entity, action, result)

    def close(self) -> None:
        stop = getattr(self.hooks, "stop", None)
        if stop is not None:
            stop()
        self.db.dispose()


def _retried(attempt: Callable[[], T]) -> T:
    for n in range(3):
        try:
            return attempt()
        except WriteRace:
            if n == 2:
                raise
    raise AssertionError("unreachable")


class Transaction:
    """The uniform entity operations inside one open transaction (see ``Metadata.transaction``)."""

    def __init__(self, meta: Metadata, session: Session) -> None:
        self.meta = meta
        self.session = session
        self.written: list[tuple[str, str, Any]] = []

    def read(self, entity: str, entity_id: uuid.UUID) -> Any | None:
        try:
            return ENTITIES[entity].read(self.session, entity_id)
        except NotFound:
            return None

    def create(self, entity: str, data: BaseModel) -> Any:
        data = self.meta.enrich(entity, "create", data)
        result, created = self.meta.create_in(self.session, entity, data)
        if created:
            self.written.append((entity, "create", result))
        return result

    def update(
        self, entity: str, entity_id: uuid.UUID, data: BaseModel, *, mirror: bool = False
    ) -> Any:
        """``mirror``: the write mirrors another system's state, which may correct the final
        status of a run or execution (``domain.status``)."""
        data = self.meta.enrich(entity, "update", data)
        extra = {"mirror": True} if mirror else {}
        result = ENTITIES[entity].update(self.session, entity_id, data, **extra)
        self.written.append((entity, "update", result))
        return result
