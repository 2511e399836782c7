"""Opening a store: engines, sessions and the schema version check."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///modeltrail.db"
MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaOutdated(RuntimeError):
    """The database's schema is older than this code."""


def normalize_url(url: str) -> str:
    """Accept a plain path for SQLite and the driverless PostgreSQL scheme."""
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _dump_json(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers beyond 64 bits, which orjson refuses
        return json.dumps(value)


def create_db_engine(url: str, *, readonly: bool = False, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    # orjson writes and reads the JSON documents several times faster than the json module.
    kwargs.setdefault("json_serializer", _dump_json)
    kwargs.setdefault("json_deserializer", orjson.loads)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take it over. A writing transaction
        # takes the write lock when it begins, so that concurrent writers queue (busy_timeout)
        # instead of failing when a read lock cannot be upgraded. Readers never block in WAL.
        begin = "BEGIN" if readonly else "BEGIN IMMEDIATE"
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    # The connection returned last is handed out next: under a steady load a few connections
    # serve every request with warm caches (psycopg prepares a statement on a connection's
    # fifth run of it, and PostgreSQL then plans it once), instead of each request taking
    # the coldest connection of the pool.
    kwargs.setdefault("pool_use_lifo", True)
    return create_engine(url, pool_pre_ping=True, **kwargs)


SQLITE_MMAP_BYTES = 1 << 30
SQLITE_CACHE_KIB = 64 * 1024


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # transactions are begun explicitly (see above)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # A lineage walk reads index pages all over the file. Mapped into memory, they are
    # shared between connections through the OS cache instead of copied into each
    # connection's 2 MiB page cache by a read call apiece: a third of a large walk's time.
    cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    # The pages a walk or a large read goes through stay in the connection's cache instead of
    # being looked up again in the mapping (2 MiB by default): ~15% of a large impact, trace
    # or 100-step walk. The pages themselves are the mapped file's, so memory barely grows.
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cur.close()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def ensure_schema(engine: Engine, *, auto_upgrade: bool | None = None) -> None:
    """Create an empty database's schema; refuse an older one unless it may be upgraded.

    A new database of either kind is created. An SQLite file with an older schema is upgraded
    (it belongs to this process); a PostgreSQL database is shared with other servers, so its
    upgrade is an explicit `modeltrail db upgrade`.
    """
    current = current_revision(engine)
    head = head_revision(engine)
    if current == head:
        return
    if auto_upgrade is None:
        auto_upgrade = current is None or is_sqlite(engine)
    if not auto_upgrade:
        raise SchemaOutdated(
            f"the database schema is at revision {current}, this modeltrail needs {head}; "
            "run `modeltrail db upgrade --url <database url>` and start again"
        )
    upgrade(engine)


class Database:
    """An engine with its session factory: the one handle the services need."""

    def __init__(self, url: str = DEFAULT_URL, *, engine: Engine | None = None) -> None:
        self.url = normalize_url(url)
        self.engine = engine or create_db_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        # SQLite serialises writing transactions; reads get an engine of their own that never
        # takes the write lock. Other databases use one engine for both.
        self.read_engine = (
            create_db_engine(self.url, readonly=True) if is_sqlite(self.engine) else self.engine
        )
        self.read_sessions = sessionmaker(self.read_engine, expire_on_commit=False, autoflush=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        factory = self.read_sessions if readonly else self.sessions
        with factory() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()


def database_url_from_env(default: str = DEFAULT_URL) -> str:
    return os.environ.get("MODELTRAIL_DATABASE_URL", default)
