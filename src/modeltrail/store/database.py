"""Opening a store: engines, sessions and the schema version check."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import orjson
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from modeltrail.domain import text
from modeltrail.domain.errors import InvalidInput, Unavailable
from modeltrail.store import audit
from modeltrail.store.dialect import UNICODE_LOWER

if TYPE_CHECKING:
    from alembic.config import Config

DEFAULT_URL = "sqlite:///modeltrail.db"
MIGRATIONS = Path(__file__).with_name("migrations")
# What a session is for: writing; reading; reading many statements of one moment.
Access = Literal["write", "read", "snapshot"]
log = logging.getLogger(__name__)


class SchemaOutdated(RuntimeError):
    """The database's schema is older than this code."""


# host:port, with or without a path: a server's address that lacks its scheme, not a file.
_ADDRESS = re.compile(r"^(localhost|[\w-]+(\.[\w-]+)+|\[[0-9a-fA-F:]+\]):\d+(/.*)?$")
SCHEMES = ("sqlite", "postgresql", "postgres")
URL_FORMS = "sqlite:///FILE, postgresql://USER@HOST/DATABASE or, for a server, http://HOST:PORT"


def normalize_url(url: str) -> str:
    """Accept a plain path for SQLite and the driverless PostgreSQL scheme; refuse what is
    neither a database URL nor a path (a server's address without ``http://``, a misspelt
    scheme) instead of making a file of that name."""
    if "://" not in url:
        if _ADDRESS.match(url):
            raise InvalidInput(
                f"'{url}' looks like a server's address without its scheme: "
                f"did you mean http://{url} ? (a store is {URL_FORMS})"
            )
        return f"sqlite:///{url}"
    scheme = url.split("://", 1)[0].lower()
    if scheme.split("+", 1)[0] not in SCHEMES:
        raise InvalidInput(f"'{scheme}://' is not a store modeltrail can open: give {URL_FORMS}")
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (None for other databases and for one in memory)."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _dump_json(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers beyond 64 bits, or text that is not Unicode
        text.check_text(value, what="a document to store")
        return json.dumps(value)


def _load_json(raw: str | bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        # A document written before lone surrogates were refused: read, with U+FFFD for each,
        # so that it lists, exports and deletes like any other.
        return text.replace_invalid(json.loads(raw))


def create_db_engine(url: str, *, readonly: bool = False, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    # orjson writes and reads the JSON documents faster than the json module.
    kwargs.setdefault("json_serializer", _dump_json)
    kwargs.setdefault("json_deserializer", _load_json)
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
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkin", _idle_from_now)
    event.listen(engine, "checkout", _ping_if_idle(engine))
    return engine


# A pooled connection is pinged before use only after it sat idle this long (seconds). Under
# load a connection comes back to the pool and out again within milliseconds, and a ping on
# every checkout (SQLAlchemy's ``pool_pre_ping``) is a round trip to the server each request:
# a quarter of a single read. A connection the server closed while it was idle (a restart,
# an idle timeout) is found by the ping; one closed in the last second is found by the
# request's first statement, which fails and has SQLAlchemy replace the whole pool.
PING_AFTER_IDLE = 1.0
_IDLE_SINCE = "modeltrail.idle_since"


def _idle_from_now(_dbapi_conn: Any, record: Any) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_if_idle(engine: Engine) -> Any:
    def checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as e:
            # The pool then replaces this connection and every other one as old as it.
            raise exc.InvalidatePoolError(f"a pooled connection no longer answers: {e}") from e

    return checkout


SQLITE_MMAP_BYTES = 1 << 30
SQLITE_CACHE_KIB = 64 * 1024
# Pages in the write-ahead log past which a commit checkpoints it itself: only a backstop for
# when the checkpoint thread (``WalCheckpointer``) falls behind. SQLite's default is 1,000.
SQLITE_WAL_BACKSTOP_PAGES = 4_000
CHECKPOINT_INTERVAL = 0.05  # seconds, at least, between two checkpoints of the thread


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # transactions are begun explicitly (see above)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_BACKSTOP_PAGES}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # A lineage walk reads index pages all over the file. Mapped into memory, they are
    # shared between connections through the OS cache instead of copied into each
    # connection's 2 MiB page cache by a read call apiece.
    cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    # The pages a walk or a large read goes through stay in the connection's cache instead of
    # being looked up again in the mapping (2 MiB by default), which a large impact, trace or
    # long walk would do for every page. The pages themselves are the mapped file's, so
    # memory barely grows.
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cur.close()
    # SQLite's lower() and LIKE fold ASCII letters only; a case-blind match of "Ärger" or
    # "ΣΟΦΊΑ" needs Python's folding.
    dbapi_conn.create_function(UNICODE_LOWER, 1, _unicode_lower, deterministic=True)


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# Alembic is imported where a schema is checked or changed, not with this module: every CLI
# command imports it, and most never open a database (a third of `modeltrail --help`'s time).
def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

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
            "run `modeltrail db upgrade --database-url <database url>` and start again"
        )
    upgrade(engine)


class WalCheckpointer:
    """Copies what commits wrote to an SQLite write-ahead log into the database file, on a
    thread of its own, so that no commit pays for it.

    SQLite checkpoints in the commit that takes the log past 1,000 pages. A batch of a
    thousand entities writes more than that, so nearly every batch's commit also wrote its
    pages to their places all over the file and waited for two fsyncs. Here the thread
    checkpoints after each commit, while the next request is being parsed and validated (a
    passive checkpoint: it never blocks readers or writers).
    Under a steady stream of writes the log may never be wholly copied between two of them,
    and SQLite only starts it over from the beginning when it is: writers keep SQLite's own
    checkpoint, at ``SQLITE_WAL_BACKSTOP_PAGES``, which then has little left to copy and
    lets the log start over. The thread starts with the first write and ends with ``close``;
    on a database that does not keep a log (in memory) it ends at once.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._started = threading.Lock()
        self._thread: threading.Thread | None = None

    def nudge(self) -> None:
        """A write transaction committed."""
        if self._thread is None:
            with self._started:
                if self._thread is None and not self._closed.is_set():
                    self._thread = threading.Thread(
                        target=self._run, name="modeltrail-wal-checkpoint", daemon=True
                    )
                    self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        try:
            connection = self._engine.raw_connection()
        except Exception:  # the commits' own checkpoint (the backstop) takes over
            log.warning("no connection to checkpoint the SQLite log with", exc_info=True)
            return
        try:
            cursor = connection.cursor()
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                return
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._closed.is_set():
                    return
                try:
                    cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except Exception:  # the commits' own checkpoint (the backstop) takes over
                    log.warning("checkpoint of the SQLite log failed", exc_info=True)
                # Single writes come hundreds a second: copy what they wrote together, a
                # few times a second, rather than syncing the file after each of them.
                if self._closed.wait(CHECKPOINT_INTERVAL):
                    return
        finally:
            connection.close()

    def close(self) -> None:
        with self._started:
            self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()


class Database:
    """An engine with its session factory: the one handle the services need."""

    def __init__(self, url: str = DEFAULT_URL, *, engine: Engine | None = None) -> None:
        self.url = normalize_url(url)
        self.engine = engine or create_db_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        audit.install(self.sessions)
        # SQLite serialises writing transactions; reads get an engine of their own that never
        # takes the write lock. Elsewhere reads share the engine's pool in autocommit: in READ
        # COMMITTED every statement sees its own snapshot, in a transaction or not, so the
        # BEGIN and COMMIT around a read bought nothing but two round trips (a third of a
        # single read on PostgreSQL).
        self.read_engine = (
            create_db_engine(self.url, readonly=True)
            if is_sqlite(self.engine)
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self.read_sessions = sessionmaker(self.read_engine, expire_on_commit=False, autoflush=False)
        # A read of many statements that must agree with each other (an export) needs one
        # snapshot for all of them. SQLite's read transaction in WAL is one (from its first
        # read to its end); PostgreSQL's is REPEATABLE READ. Neither takes a lock writers wait
        # for, so a long export does not stop the pipelines that write meanwhile.
        self.snapshot_sessions = (
            self.read_sessions
            if is_sqlite(self.engine)
            else sessionmaker(
                self.engine.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                ),
                expire_on_commit=False,
                autoflush=False,
            )
        )
        self.checkpointer = WalCheckpointer(self.engine) if is_sqlite(self.engine) else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, access: Access = "write") -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error.

        ``read``: for a read; ``snapshot``: for a read whose statements all see the store as
        it was at the first of them (see ``snapshot_sessions``)."""
        factory = {
            "write": self.sessions,
            "read": self.read_sessions,
            "snapshot": self.snapshot_sessions,
        }[access]
        with factory() as session, session.begin():
            yield session
        if access == "write" and self.checkpointer is not None:
            self.checkpointer.nudge()

    def analyze(self, tables: Iterable[str]) -> None:
        """Refresh the planner's statistics of ``tables`` after a bulk load. PostgreSQL plans
        from them, and its autovacuum gathers them only some time after a table has changed
        much, so that a store filled by an import was queried meanwhile with plans for the
        empty tables it had been (nested loops over what is now thousands of rows). SQLite
        plans without statistics unless asked to keep them, and is left so: its plans here
        were chosen for that."""
        if is_sqlite(self.engine):
            return
        names = sorted(set(tables))
        if names:
            preparer = self.engine.dialect.identifier_preparer
            with self.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE " + ", ".join(preparer.quote(n) for n in names))
                conn.commit()

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.close()
        self.engine.dispose()
        self.read_engine.dispose()


def open_database(url: str) -> Database:
    """A store's database, once its server answered: a URL that is not one, or a database
    that cannot be reached (no such database, a server that refuses, a file in a folder that
    does not exist), is one sentence, not a driver's traceback."""
    try:
        db = Database(url)
    except (exc.ArgumentError, exc.NoSuchModuleError) as error:
        raise InvalidInput(f"'{url}' is not a database URL: {error}") from None
    try:
        with db.engine.connect():
            pass
    except exc.DBAPIError as error:
        shown = db.engine.url.render_as_string(hide_password=True)
        db.dispose()
        lines = str(error.orig or error).strip().splitlines() or ["no reason given"]
        raise Unavailable(f"cannot open the store at {shown}: {lines[0].strip()}") from None
    return db
