"""free-text search: search_entries kept by triggers, FTS5 on SQLite, tsvector + GIN on PostgreSQL

Every entity table gets triggers that copy an entity's name, kind, uri, description and
annotation (tag) values into ``search_entries``, whatever writes it (the ORM, the bulk
writer, imports, restores, plain SQL). The full-text index is built from there by the
database itself: an FTS5 table with external content on SQLite, a weighted ``document``
tsvector with a GIN index on PostgreSQL. Existing rows are copied in here.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# table -> (type, its columns among name, kind, uri, description, and where its tags are)
SOURCES: dict[str, tuple[str, set[str], str]] = {
    "experiments": ("experiment", set(), "annotations"),
    "executables": ("executable", {"uri", "description"}, "annotations"),
    "pipelines": ("pipeline", {"uri"}, "annotations"),
    "runs": ("run", {"uri"}, "annotations"),
    "executions": ("execution", {"uri", "kind"}, "annotations"),
    "artifacts": ("artifact", {"uri", "description", "kind"}, "annotations"),
    "registered_models": ("model", {"description"}, "tags"),
}
COLUMNS = ("kind", "uri", "description")
# Characters of one long text that are indexed: a tsvector holds at most 1 MB.
INDEXED = 50_000


def upgrade() -> None:
    op.create_table(
        "search_entries",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("ident", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=256), nullable=True),
        sa.Column("uri", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("annotations", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_search_entries")),
        sa.UniqueConstraint("entity_id", name=op.f("uq_search_entries_entity_id")),
    )
    op.create_index(op.f("ix_search_entries_ident"), "search_entries", ["ident"])
    if op.get_bind().dialect.name == "postgresql":
        _postgresql()
    else:
        _sqlite()


def _sqlite_values(table: str, row: str) -> str:
    kind, columns, tags = SOURCES[table]
    picked = [f"substr({row}.{c}, 1, {INDEXED})" if c in columns else "NULL" for c in COLUMNS]
    # json_each of text that is not JSON fails: such a document (none is written) is skipped.
    values = (
        f"(SELECT substr(group_concat(value, ' '), 1, {INDEXED}) FROM json_each("
        f"CASE WHEN json_valid({row}.{tags}) THEN {row}.{tags} END))"
    )
    return f"'{kind}', {row}.id, {row}.id, {row}.name, {', '.join(picked)}, {values}"


def _sqlite() -> None:
    execute = op.execute
    execute(
        "CREATE VIRTUAL TABLE search_fts USING fts5(name, uri, description, annotations, "
        "content='search_entries', content_rowid='seq', "
        "tokenize='unicode61 remove_diacritics 0', prefix='2 3')"
    )
    fts = "name, uri, description, annotations"
    execute(
        "CREATE TRIGGER search_entries_insert AFTER INSERT ON search_entries BEGIN "
        f"INSERT INTO search_fts(rowid, {fts}) "
        "VALUES (new.seq, new.name, new.uri, new.description, new.annotations); END"
    )
    execute(
        "CREATE TRIGGER search_entries_delete AFTER DELETE ON search_entries BEGIN "
        f"INSERT INTO search_fts(search_fts, rowid, {fts}) "
        "VALUES ('delete', old.seq, old.name, old.uri, old.description, old.annotations); END"
    )
    execute(
        "CREATE TRIGGER search_entries_update AFTER UPDATE ON search_entries BEGIN "
        f"INSERT INTO search_fts(search_fts, rowid, {fts}) "
        "VALUES ('delete', old.seq, old.name, old.uri, old.description, old.annotations); "
        f"INSERT INTO search_fts(rowid, {fts}) "
        "VALUES (new.seq, new.name, new.uri, new.description, new.annotations); END"
    )
    into = "search_entries (type, entity_id, ident, name, kind, uri, description, annotations)"
    for table, (_, columns, tags) in SOURCES.items():
        watched = ", ".join(["name", *sorted(columns), tags])
        execute(
            f"CREATE TRIGGER search_{table}_insert AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {into} VALUES ({_sqlite_values(table, 'new')}); END"
        )
        execute(
            f"CREATE TRIGGER search_{table}_update AFTER UPDATE OF {watched} ON {table} BEGIN "
            f"DELETE FROM search_entries WHERE entity_id = old.id; "
            f"INSERT INTO {into} VALUES ({_sqlite_values(table, 'new')}); END"
        )
        execute(
            f"CREATE TRIGGER search_{table}_delete AFTER DELETE ON {table} BEGIN "
            "DELETE FROM search_entries WHERE entity_id = old.id; END"
        )
        execute(f"INSERT INTO {into} SELECT {_sqlite_values(table, table)} FROM {table}")


def _postgresql() -> None:
    execute = op.execute
    execute("ALTER TABLE search_entries ADD COLUMN document tsvector")
    # Punctuation separates words, as in SQLite's unicode61 tokenizer: a uri or a file name
    # is its words (PostgreSQL's parser would keep 'mnist.csv' or a host name whole).
    execute(
        "CREATE FUNCTION search_words(value text) RETURNS tsvector IMMUTABLE LANGUAGE sql AS "
        "$$ SELECT to_tsvector('simple', regexp_replace("
        f"left(coalesce(value, ''), {INDEXED}), '[[:punct:][:space:]]+', ' ', 'g')) $$"
    )
    execute(
        "CREATE FUNCTION search_entries_document() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN NEW.document := "
        "setweight(search_words(NEW.name), 'A') || setweight(search_words(NEW.uri), 'B') || "
        "setweight(search_words(NEW.description), 'C') || "
        "setweight(search_words(NEW.annotations), 'D'); RETURN NEW; END $$"
    )
    execute(
        "CREATE TRIGGER search_entries_document BEFORE INSERT OR UPDATE ON search_entries "
        "FOR EACH ROW EXECUTE FUNCTION search_entries_document()"
    )
    execute("CREATE INDEX ix_search_entries_document ON search_entries USING GIN (document)")
    # One function for every entity table: to_jsonb(NEW) reads the columns a table has and
    # answers NULL for the others. TG_ARGV[0] is the entity's type, TG_ARGV[1] its tags.
    execute(
        "CREATE FUNCTION search_entries_sync() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "DECLARE doc jsonb; tags jsonb; "
        "BEGIN "
        "IF TG_OP = 'DELETE' THEN "
        "DELETE FROM search_entries WHERE entity_id = OLD.id; RETURN OLD; END IF; "
        "doc := to_jsonb(NEW); tags := doc -> TG_ARGV[1]; "
        "INSERT INTO search_entries "
        "(type, entity_id, ident, name, kind, uri, description, annotations) VALUES ("
        "TG_ARGV[0], NEW.id, replace(NEW.id::text, '-', ''), doc ->> 'name', "
        "doc ->> 'kind', doc ->> 'uri', doc ->> 'description', "
        "CASE WHEN jsonb_typeof(tags) = 'object' THEN "
        "(SELECT string_agg(value, ' ') FROM jsonb_each_text(tags)) END) "
        "ON CONFLICT (entity_id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, "
        "uri = EXCLUDED.uri, description = EXCLUDED.description, "
        "annotations = EXCLUDED.annotations; "
        "RETURN NEW; END $$"
    )
    into = "search_entries (type, entity_id, ident, name, kind, uri, description, annotations)"
    for table, (kind, columns, tags) in SOURCES.items():
        watched = ", ".join(["name", *sorted(columns), tags])
        execute(
            f"CREATE TRIGGER search_{table}_write AFTER INSERT OR UPDATE OF {watched} "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION search_entries_sync('{kind}', '{tags}')"
        )
        execute(
            f"CREATE TRIGGER search_{table}_delete AFTER DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION search_entries_sync('{kind}', '{tags}')"
        )
        picked = [c if c in columns else "NULL" for c in COLUMNS]
        execute(
            f"INSERT INTO {into} SELECT '{kind}', id, replace(id::text, '-', ''), name, "
            f"{', '.join(picked)}, CASE WHEN jsonb_typeof({tags}::jsonb) = 'object' THEN "
            f"(SELECT string_agg(value, ' ') FROM jsonb_each_text({tags}::jsonb)) END "
            f"FROM {table}"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in SOURCES:
            op.execute(f"DROP TRIGGER search_{table}_write ON {table}")
            op.execute(f"DROP TRIGGER search_{table}_delete ON {table}")
        op.drop_table("search_entries")
        op.execute("DROP FUNCTION search_entries_sync()")
        op.execute("DROP FUNCTION search_entries_document()")
        op.execute("DROP FUNCTION search_words(text)")
        return
    for table in SOURCES:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER search_{table}_{event}")
    op.execute("DROP TABLE search_fts")
    op.drop_table("search_entries")
