"""Alembic environment: migrations run on the engine the caller hands over."""

from alembic import context

from modeltrail.store.tables import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    raw = connection.connection.dbapi_connection
    if sqlite:
        # SQLite alters a table by copying it and dropping the original, which the rows of
        # other tables refer to; with foreign keys enforced, the drop fails on any filled store.
        # The pragma is a no-op inside a transaction, so it is set before the migration begins,
        # and the references are checked once the tables are whole again.
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            context.configure(
                connection=connection, target_metadata=Base.metadata, render_as_batch=sqlite
            )
            context.run_migrations()
            if sqlite and raw.execute("PRAGMA foreign_key_check").fetchone() is not None:
                raise RuntimeError("the migration left rows that refer to missing rows")
    finally:
        if sqlite:
            raw.execute("PRAGMA foreign_keys=ON")
