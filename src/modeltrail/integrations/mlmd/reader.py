"""Read an ML Metadata store's tables as they are, with SQLAlchemy (no ``ml-metadata`` needed).

An MLMD store is a handful of tables that ml-metadata's C++ library writes on SQLite, MySQL or
PostgreSQL: ``Type`` and ``TypeProperty``; the nodes ``Artifact``, ``Execution`` and
``Context`` with their ``...Property`` rows; ``Event`` and ``EventPath`` (an execution read or
wrote an artifact, under which key); ``Association`` and ``Attribution`` (an execution or
artifact is in a context); ``ParentContext``; and ``MLMDEnv``, which holds the schema version.

Everything is read in one read-only pass and checked before anything is written: a store this
module cannot read whole is refused with the table, row and column at fault.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, column, create_engine, inspect, select
from sqlalchemy import table as table_clause
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SAWarning, SQLAlchemyError
from sqlalchemy.sql import TableClause

from modeltrail.domain import limits
from modeltrail.domain.errors import NotFound
from modeltrail.domain.secrets import mask_urls_in
from modeltrail.integrations.mlmd.values import (
    DATA_TYPES,
    checked_int,
    checked_text,
    custom_value,
    refuse,
    typed_value,
)

# The schema versions whose tables this reader knows (MLMDEnv.schema_version); ml-metadata
# 1.0 writes 6 (or 7), 1.14 to 1.17 write 10. Newer versions may move what is read here.
SCHEMA_VERSIONS = range(6, 11)
TABLES = {
    "Type": ("id", "name", "type_kind"),
    "TypeProperty": ("type_id", "name", "data_type"),
    "Artifact": ("id", "type_id", "uri", "state", "name", "create_time_since_epoch"),
    "ArtifactProperty": ("artifact_id", "name", "is_custom_property"),
    "Execution": ("id", "type_id", "last_known_state", "name", "create_time_since_epoch"),
    "ExecutionProperty": ("execution_id", "name", "is_custom_property"),
    "Context": ("id", "type_id", "name", "create_time_since_epoch"),
    "ContextProperty": ("context_id", "name", "is_custom_property"),
    "Event": ("id", "artifact_id", "execution_id", "type"),
    "EventPath": ("event_id", "is_index_step", "step_index", "step_key"),
    "Association": ("context_id", "execution_id"),
    "Attribution": ("context_id", "artifact_id"),
    "ParentContext": ("context_id", "parent_context_id"),
    "MLMDEnv": ("schema_version",),
}
TYPE_KINDS = {0: "execution", 1: "artifact", 2: "context"}


@dataclass
class MlmdType:
    id: int
    name: str
    kind: str  # artifact, execution or context
    version: str | None
    description: str | None
    properties: dict[str, int] = field(default_factory=dict)  # name -> data type


@dataclass
class Node:
    """An artifact, execution or context with its properties."""

    id: int
    type_id: int
    name: str | None
    create_ms: int
    update_ms: int
    state: int | None = None  # an artifact's state, an execution's last known state
    uri: str | None = None  # artifacts only
    external_id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass
class Event:
    id: int
    artifact_id: int
    execution_id: int
    type: int
    ms: int | None
    path: list[str | int] = field(default_factory=list)


@dataclass
class Snapshot:
    """A whole MLMD store, as read."""

    source: str  # the store's URL, its password hidden
    schema_version: int
    types: dict[int, MlmdType]
    artifacts: dict[int, Node]
    executions: dict[int, Node]
    contexts: dict[int, Node]
    events: list[Event]
    associations: list[tuple[int, int]]  # (context, execution)
    attributions: list[tuple[int, int]]  # (context, artifact)
    parents: list[tuple[int, int]]  # (context, parent context)


def open_store(url: str) -> Engine:
    """A read-only engine on the MLMD store at ``url`` (``sqlite:///mlmd.db``, a MySQL or a
    PostgreSQL URL; a plain path is an SQLite file)."""
    if "://" not in url:
        url = f"sqlite:///{url}"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise refuse(f"'{mask_urls_in(url)}' is not a database URL") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise refuse("an SQLite MLMD store is a file: give sqlite:///PATH")
        path = Path(parsed.database)
        if not path.is_file():
            raise NotFound(f"there is no MLMD store at {path}: no such file")
        # Read-only: an import never changes the store it reads, nor makes one where none is.
        return create_engine(
            f"sqlite:///file:{path.resolve().as_posix()}?mode=ro&uri=true",
            connect_args={"check_same_thread": False},
        )
    if backend not in ("postgresql", "postgres", "mysql", "mariadb"):
        raise refuse(
            f"'{parsed.drivername}://' is no database ML Metadata keeps its store in: give "
            "sqlite:///PATH, mysql+pymysql://USER:PASSWORD@HOST/DATABASE or "
            "postgresql://USER@HOST/DATABASE"
        )
    if backend in ("postgresql", "postgres") and parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if backend == "mysql" and parsed.drivername == "mysql":
        parsed = parsed.set(drivername="mysql+pymysql")
    try:
        return create_engine(parsed)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise refuse(
            f"cannot open {parsed.render_as_string(hide_password=True)}: its database driver "
            f"is not installed ({exc})"
            + ("; pip install pymysql" if backend != "postgresql" else "")
        ) from None


class _Reader:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        try:
            inspector = inspect(engine)
            names = inspector.get_table_names()
        except SQLAlchemyError as exc:
            raise refuse(f"cannot read the MLMD store: {_reason(exc)}") from None
        # MLMD names its tables in CamelCase; PostgreSQL folds them to lower case.
        by_lower = {n.lower(): n for n in names}
        missing = [t for t in TABLES if t.lower() not in by_lower]
        if "mlmdenv" not in by_lower:
            raise refuse(
                "this is not an ML Metadata store: it has no MLMDEnv table"
                + (f" (nor {', '.join(missing[:6])})" if len(missing) > 1 else "")
            )
        # Columns by name only: values are read as the database keeps them and checked here,
        # whatever type a column was declared with (MLMD declares MySQL's TINYINT(1) on SQLite).
        self.tables: dict[str, TableClause] = {}
        for name in TABLES:
            if name.lower() in by_lower:
                actual = by_lower[name.lower()]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", SAWarning)
                    try:
                        columns = [c["name"] for c in inspector.get_columns(actual)]
                    except SQLAlchemyError as exc:
                        raise refuse(f"cannot read the MLMD table {name}: {_reason(exc)}") from None
                self.tables[name] = table_clause(actual, *(column(c) for c in columns))
        version = self._schema_version()
        if version not in SCHEMA_VERSIONS:
            raise refuse(
                f"this MLMD store has schema version {version}; modeltrail reads versions "
                f"{SCHEMA_VERSIONS.start} to {SCHEMA_VERSIONS.stop - 1} (ml-metadata 1.x): "
                "upgrade or downgrade it with ml-metadata first",
                "/MLMDEnv/schema_version",
            )
        self.version = version
        if missing:
            raise refuse(
                f"this MLMD store (schema version {version}) lacks the table(s) "
                f"{', '.join(missing)}",
                f"/{missing[0]}",
            )
        for table, needed in TABLES.items():
            have = {c.name.lower() for c in self.tables[table].c}
            lacking = [c for c in needed if c not in have]
            if lacking:
                raise refuse(
                    f"the MLMD table {table} lacks the column(s) {', '.join(lacking)}",
                    f"/{table}/{lacking[0]}",
                )

    def _schema_version(self) -> int:
        rows = self.rows("MLMDEnv")
        values = [r.get("schema_version") for r in rows]
        if len(values) != 1 or not isinstance(values[0], int) or isinstance(values[0], bool):
            raise refuse(
                f"the MLMDEnv table holds {len(values)} schema version(s) "
                f"({', '.join(map(repr, values[:3]))}); an MLMD store has exactly one",
                "/MLMDEnv/schema_version",
            )
        return values[0]

    def rows(self, name: str) -> Iterator[dict[str, Any]]:
        clause = self.tables[name]
        lower = {c.name.lower(): c.name for c in clause.c}
        order = [clause.c[lower[c]] for c in ("id", "event_id") if c in lower][:1]
        try:
            with self.engine.connect() as conn:
                result = conn.execute(select(clause).order_by(*order)).mappings()
                for row in result:
                    yield {k.lower(): v for k, v in row.items()}
        except UnicodeDecodeError as exc:
            raise refuse(
                f"the MLMD table {name} holds text that is not UTF-8 ({exc.reason})", f"/{name}"
            ) from None
        except SQLAlchemyError as exc:
            raise refuse(f"cannot read the MLMD table {name}: {_reason(exc)}", f"/{name}") from None


def _reason(exc: SQLAlchemyError) -> str:
    return mask_urls_in(str(getattr(exc, "orig", None) or exc).splitlines()[0])[:300]


def shown_url(url: str) -> str:
    """The store's URL as it may be shown: its password hidden."""
    try:
        return make_url(url if "://" in url else f"sqlite:///{url}").render_as_string(
            hide_password=True
        )
    except (ArgumentError, ValueError):
        return mask_urls_in(url)


def read_store(url: str, *, step: Callable[[str], None] | None = None) -> Snapshot:
    """Read the whole store at ``url``; ``step(table)`` is called after each table is read."""
    engine = open_store(url)
    try:
        reader = _Reader(engine)
        return _snapshot(reader, shown_url(url), step)
    finally:
        engine.dispose()


def _snapshot(reader: _Reader, source: str, step: Callable[[str], None] | None) -> Snapshot:
    def done(table: str) -> None:
        if step is not None:
            step(table)

    types: dict[int, MlmdType] = {}
    for r in reader.rows("Type"):
        where = f"/Type/{r['id']}"
        kind = TYPE_KINDS.get(checked_int(r["type_kind"], where + "/type_kind"))
        if kind is None:
            raise refuse(f"type {r['id']} has the unknown type_kind {r['type_kind']!r}", where)
        types[r["id"]] = MlmdType(
            id=checked_int(r["id"], where + "/id"),
            name=checked_text(r["name"], where + "/name", limits.MAX_NAME, required=True),
            kind=kind,
            version=checked_text(r.get("version"), where + "/version", limits.MAX_NAME),
            description=checked_text(r.get("description"), where + "/description", limits.MAX_TEXT),
        )
    for r in reader.rows("TypeProperty"):
        where = f"/TypeProperty/{r['type_id']}/{r['name']}"
        owner = types.get(r["type_id"])
        if owner is None:
            raise refuse(f"a type property names the type {r['type_id']}, which is not there")
        data_type = checked_int(r["data_type"], where + "/data_type")
        if data_type not in DATA_TYPES:
            raise refuse(
                f"type '{owner.name}' declares property '{r['name']}' of the unknown data type "
                f"{data_type}",
                where,
            )
        owner.properties[checked_text(r["name"], where, limits.MAX_NAME, required=True)] = data_type
    done("Type")
    nodes = {}
    for table, kind in (
        ("Artifact", "artifact"),
        ("Execution", "execution"),
        ("Context", "context"),
    ):
        nodes[table] = _nodes(reader, table, kind, types)
        done(table)
    events: dict[int, Event] = {}
    for r in reader.rows("Event"):
        where = f"/Event/{r['id']}"
        artifact = checked_int(r["artifact_id"], where + "/artifact_id")
        execution = checked_int(r["execution_id"], where + "/execution_id")
        if artifact not in nodes["Artifact"] or execution not in nodes["Execution"]:
            raise refuse(
                f"event {r['id']} joins artifact {artifact} and execution {execution}, "
                "which are not both in the store",
                where,
            )
        events[r["id"]] = Event(
            id=checked_int(r["id"], where + "/id"),
            artifact_id=artifact,
            execution_id=execution,
            type=checked_int(r["type"], where + "/type"),
            ms=checked_int(r.get("milliseconds_since_epoch"), where + "/milliseconds_since_epoch"),
        )
    for r in reader.rows("EventPath"):
        event = events.get(r["event_id"])
        if event is None:
            continue  # a path of an event that is gone says nothing
        where = f"/EventPath/{r['event_id']}"
        if r["is_index_step"]:
            event.path.append(checked_int(r["step_index"], where + "/step_index"))
        else:
            event.path.append(
                checked_text(r["step_key"], where + "/step_key", limits.MAX_NAME) or ""
            )
    done("Event")
    links: dict[str, list[tuple[int, int]]] = {}
    for table, other, others in (
        ("Association", "execution_id", nodes["Execution"]),
        ("Attribution", "artifact_id", nodes["Artifact"]),
        ("ParentContext", "parent_context_id", nodes["Context"]),
    ):
        pairs = []
        for r in reader.rows(table):
            context, node = r["context_id"], r[other]
            if context not in nodes["Context"] or node not in others:
                raise refuse(
                    f"the {table} row ({context}, {node}) names a node that is not in the store",
                    f"/{table}",
                )
            pairs.append((context, node))
        links[table] = pairs
    done("Association")
    return Snapshot(
        source=source,
        schema_version=reader.version,
        types=types,
        artifacts=nodes["Artifact"],
        executions=nodes["Execution"],
        contexts=nodes["Context"],
        events=list(events.values()),
        associations=links["Association"],
        attributions=links["Attribution"],
        parents=links["ParentContext"],
    )


def _nodes(reader: _Reader, table: str, kind: str, types: dict[int, MlmdType]) -> dict[int, Node]:
    nodes: dict[int, Node] = {}
    for r in reader.rows(table):
        where = f"/{table}/{r['id']}"
        node_type = types.get(r["type_id"])
        if node_type is None or node_type.kind != kind:
            raise refuse(
                f"{kind} {r['id']} has the type {r['type_id']}, which is no {kind} type "
                "in the store",
                where + "/type_id",
            )
        state_column = "last_known_state" if table == "Execution" else "state"
        nodes[r["id"]] = Node(
            id=checked_int(r["id"], where + "/id"),
            type_id=node_type.id,
            name=checked_text(r.get("name"), where + "/name", limits.MAX_NAME),
            create_ms=checked_int(r.get("create_time_since_epoch"), where + "/create_time") or 0,
            update_ms=checked_int(r.get("last_update_time_since_epoch"), where + "/update_time")
            or 0,
            state=checked_int(r.get(state_column), f"{where}/{state_column}"),
            uri=checked_text(r.get("uri"), where + "/uri", limits.MAX_URI),
            external_id=checked_text(r.get("external_id"), where + "/external_id", limits.MAX_NAME),
        )
    prop_table, key = f"{table}Property", f"{kind}_id"
    for r in reader.rows(prop_table):
        node = nodes.get(r[key])
        if node is None:
            continue  # the property of a node that is gone
        name = checked_text(
            r["name"], f"/{prop_table}/{r[key]}/name", limits.MAX_NAME, required=True
        )
        where = f"/{prop_table}/{r[key]}/{name}"
        if r["is_custom_property"]:
            node.custom[name] = custom_value(r, where)
        else:
            declared = types[node.type_id].properties.get(name)
            if declared is None:
                raise refuse(
                    f"{kind} {node.id} has the property '{name}', which its type "
                    f"'{types[node.type_id].name}' does not declare",
                    where,
                )
            node.properties[name] = typed_value(r, declared, where)
    return nodes
