"""A hostile ML Metadata store: refused precisely, before anything is written; what can be
kept is kept safely (credentials in URIs masked, doubles that JSON cannot hold as words). And
an MLMD store kept in PostgreSQL, as Kubeflow keeps it, reads like the SQLite one."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from conftest import fresh_postgres_database, run_cli
from modeltrail.domain.errors import InvalidInput, ModeltrailError, NotFound
from modeltrail.integrations.mlmd.importer import import_mlmd, read_plan
from modeltrail.sdk.connection import Connection

STORE = Path(__file__).parents[1] / "fixtures" / "mlmd" / "pipeline.db"


@pytest.fixture
def copy(tmp_path: Path) -> Callable[[str], Path]:
    """A copy of the fixture store changed by the SQL given."""

    def changed(sql: str) -> Path:
        path = tmp_path / "hostile.db"
        shutil.copyfile(STORE, path)
        con = sqlite3.connect(path)
        with con:
            con.executescript(sql)
        con.close()
        return path

    return changed


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[Connection]:
    with Connection(f"sqlite:///{tmp_path / 'mt.db'}") as c:
        yield c


def refusal(path: Path | str, conn: Connection) -> ModeltrailError:
    url = path if isinstance(path, str) else f"sqlite:///{path}"
    with pytest.raises(ModeltrailError) as caught:
        import_mlmd(conn, url)
    # Nothing was written: no run, no kind of MLMD's.
    assert conn.get("/api/v1/runs", count=True)["total"] == 0
    assert not [k for k in conn.get("/api/v1/kinds") if k["name"].startswith("mlmd.")]
    return caught.value


CASES = [
    (
        "UPDATE MLMDEnv SET schema_version = 11",
        "this MLMD store has schema version 11; modeltrail reads versions 6 to 10",
        "/MLMDEnv/schema_version",
    ),
    (
        "INSERT INTO MLMDEnv VALUES (9)",
        "the MLMDEnv table holds 2 schema version(s)",
        "/MLMDEnv/schema_version",
    ),
    ("DROP TABLE Event", "lacks the table(s) Event", "/Event"),
    (
        "DROP INDEX idx_artifact_uri; ALTER TABLE Artifact DROP COLUMN uri",
        "the MLMD table Artifact lacks the column(s) uri",
        "/Artifact/uri",
    ),
    (
        "UPDATE ArtifactProperty SET int_value = 'zero' WHERE name = 'span' AND artifact_id = 2",
        "ArtifactProperty/2/span holds 'zero' where ML Metadata keeps an integer",
        "/ArtifactProperty/2/span",
    ),
    (
        "UPDATE ArtifactProperty SET int_value = NULL, string_value = '0' "
        "WHERE name = 'span' AND artifact_id = 2",
        "ArtifactProperty/2/span is declared INT but holds its value in string_value",
        "/ArtifactProperty/2/span",
    ),
    (
        "UPDATE ArtifactProperty SET double_value = 'high' WHERE name = 'accuracy'",
        "holds 'high' where ML Metadata keeps a number",
        "/ArtifactProperty/7/accuracy",
    ),
    (
        "UPDATE ArtifactProperty SET bool_value = 7 WHERE name = 'is_warm_start'",
        "holds 7 where ML Metadata keeps a boolean",
        "/ArtifactProperty/5/is_warm_start",
    ),
    (
        "UPDATE ArtifactProperty SET int_value = 1 WHERE name = 'tfx_version' AND artifact_id = 1",
        "ArtifactProperty/1/tfx_version holds values in int_value and string_value",
        "/ArtifactProperty/1/tfx_version",
    ),
    (
        "UPDATE ArtifactProperty SET string_value = 'mlmd-struct::!!' WHERE name = 'metrics'",
        "is a STRUCT that cannot be read",
        "/ArtifactProperty/7/metrics",
    ),
    (
        "UPDATE ExecutionProperty SET string_value = printf('%.2000000c', 'x') "
        "WHERE name = 'module_file' AND execution_id = 3",
        "ExecutionProperty/3/module_file is 2,000,000 characters long; modeltrail keeps at most "
        "1,048,576",
        "/ExecutionProperty/3/module_file",
    ),
    (
        "UPDATE Artifact SET name = printf('%.300c', 'n') WHERE id = 2",
        "Artifact/2/name is 300 characters long; modeltrail keeps at most 256",
        "/Artifact/2/name",
    ),
    (
        "UPDATE Artifact SET uri = 'gs://b/' || printf('%.5000c', 'u') WHERE id = 2",
        "Artifact/2/uri is 5,007 characters long; modeltrail keeps at most 4,096",
        "/Artifact/2/uri",
    ),
    (
        "UPDATE Artifact SET create_time_since_epoch = 1.5 WHERE id = 2",
        "Artifact/2/create_time holds 1.5 where ML Metadata keeps an integer",
        "/Artifact/2/create_time",
    ),
    (
        "UPDATE Event SET artifact_id = 999 WHERE id = 1",
        "event 1 joins artifact 999 and execution 1, which are not both in the store",
        "/Event/1",
    ),
    (
        "UPDATE Association SET execution_id = 999 WHERE id = 1",
        "names a node that is not in the store",
        "/Association",
    ),
    (
        "UPDATE Artifact SET type_id = 24 WHERE id = 2",  # a context type
        "artifact 2 has the type 24, which is no artifact type in the store",
        "/Artifact/2/type_id",
    ),
    (
        "INSERT INTO ArtifactProperty (artifact_id, name, is_custom_property, int_value) "
        "VALUES (1, 'undeclared', 0, 1)",
        "artifact 1 has the property 'undeclared', which its type 'ExternalArtifact' does not "
        "declare",
        "/ArtifactProperty/1/undeclared",
    ),
    (
        "UPDATE Type SET type_kind = 9 WHERE id = 1",
        "type 1 has the unknown type_kind 9",
        "/Type/1",
    ),
]


@pytest.mark.parametrize(("sql", "detail", "pointer"), CASES, ids=[c[2] for c in CASES])
def test_a_broken_store_is_refused_precisely_and_nothing_is_written(
    copy: Callable[[str], Path], conn: Connection, sql: str, detail: str, pointer: str
) -> None:
    error = refusal(copy(sql), conn)
    assert isinstance(error, InvalidInput)
    assert detail in error.detail, error.detail
    assert error.errors[0]["pointer"] == pointer


def test_text_that_is_not_utf8_is_refused(copy: Callable[[str], Path], conn: Connection) -> None:
    path = copy("UPDATE Artifact SET name = CAST(x'fffe41' AS TEXT) WHERE id = 2")
    error = refusal(path, conn)
    assert "UTF-8" in error.detail and "Artifact" in error.detail


def test_what_is_no_mlmd_store_is_refused(tmp_path: Path, conn: Connection) -> None:
    assert "there is no MLMD store at" in refusal(tmp_path / "nothere.db", conn).detail
    assert not (tmp_path / "nothere.db").exists()  # read-only: nothing made where nothing was
    other = tmp_path / "other.db"
    sqlite3.connect(other).executescript("CREATE TABLE t (x); ")
    assert "not an ML Metadata store: it has no MLMDEnv table" in refusal(other, conn).detail
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database at all" * 100)
    assert "cannot read the MLMD store" in refusal(garbage, conn).detail
    assert "is not a database URL" in refusal("mysql://:@:x", conn).detail
    assert "'oracle://' is no database ML Metadata keeps" in refusal("oracle://u@h/db", conn).detail


def test_a_password_in_the_store_url_is_never_shown(conn: Connection) -> None:
    error = refusal("postgresql://mlmd:hunter2secret@127.0.0.1:1/metadb", conn)
    assert "hunter2secret" not in error.detail and "cannot read the MLMD store" in error.detail


def test_what_can_be_kept_is_kept_safely(copy: Callable[[str], Path], conn: Connection) -> None:
    path = copy(
        "UPDATE Artifact SET uri = 's3://AKIAEXAMPLE:s3cr3t@bucket/raw?X-Amz-Signature=abc&v=1' "
        "WHERE id = 1;"
        # SQLite keeps no NaN (it stores NULL): the infinities stand for what JSON cannot hold.
        "UPDATE ArtifactProperty SET double_value = -9e999 WHERE name = 'accuracy';"
        "UPDATE ArtifactProperty SET double_value = 9e999 WHERE name = 'accuracy'"
        " AND artifact_id = 7;"
    )
    import_mlmd(conn, f"sqlite:///{path}")
    raw = conn.get("/api/v1/artifacts", filter=["annotations.mlmd_id:eq:1"])["items"][0]
    assert raw["uri"] == "s3://***@bucket/raw?X-Amz-Signature=***&v=1"
    evaluations = conn.get("/api/v1/artifacts", filter=["kind:eq:mlmd.ModelEvaluation"])["items"]
    assert {e["attributes"]["customProperties"]["accuracy"] for e in evaluations} == {
        "Infinity",
        "-Infinity",
    }


def test_the_command_refuses_in_one_line_and_makes_no_store(
    copy: Callable[[str], Path], tmp_path: Path
) -> None:
    path = copy("UPDATE MLMDEnv SET schema_version = 4")
    target = tmp_path / "target.db"
    result = run_cli(
        "import", "mlmd", "--mlmd-url", f"sqlite:///{path}", url=f"sqlite:///{target}", check=False
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: this MLMD store has schema version 4;"), result.stderr
    assert "Traceback" not in result.stderr
    assert not target.exists()


# ---------------------------------------------------------------- the store in PostgreSQL

BOOLEANS = {"is_custom_property", "is_index_step", "bool_value"}
BYTES = {"byte_value", "proto_value"}


def _pg_type(column: str) -> str:
    if column in BOOLEANS:
        return "BOOLEAN"
    if column in BYTES:
        return "BYTEA"
    if column == "double_value":
        return "DOUBLE PRECISION"
    if column in ("name", "uri", "string_value", "step_key", "version", "description",
                  "input_type", "output_type", "external_id"):  # fmt: skip
        return "TEXT"
    return "BIGINT"


@pytest.fixture
def postgres_mlmd() -> Iterator[str]:
    """The fixture store copied into PostgreSQL, its tables named as MLMD names them there
    (unquoted, so folded to lower case) and typed as there (booleans, bytea)."""
    with fresh_postgres_database("mlmd") as url:
        source = sqlite3.connect(STORE)
        engine = create_engine(url)
        with engine.begin() as pg:
            tables = [
                r[0]
                for r in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                if r[0] != "sqlite_sequence"
            ]
            for table in tables:
                columns = [r[1] for r in source.execute(f"PRAGMA table_info({table})")]
                ddl = ", ".join(f"{c} {_pg_type(c)}" for c in columns)
                pg.execute(text(f"CREATE TABLE {table} ({ddl})"))
                for row in source.execute(f"SELECT * FROM {table}"):  # noqa: S608
                    values: dict[str, Any] = {
                        c: (bool(v) if c in BOOLEANS and v is not None else v)
                        for c, v in zip(columns, row, strict=True)
                    }
                    names = ", ".join(columns)
                    marks = ", ".join(f":{c}" for c in columns)
                    pg.execute(text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), values)  # noqa: S608
        engine.dispose()
        source.close()
        yield url


def test_a_store_in_postgresql_reads_as_the_sqlite_one(
    postgres_mlmd: str, conn: Connection
) -> None:
    snap_pg, plan_pg = read_plan(postgres_mlmd)
    snap_lite, plan_lite = read_plan(f"sqlite:///{STORE}")
    assert plan_pg == plan_lite
    assert snap_pg.schema_version == 10
    summary = import_mlmd(conn, postgres_mlmd.replace("postgresql+psycopg://", "postgresql://"))
    assert summary.created["runs"] == 2 and summary.created["artifacts"] == 18
    assert set(import_mlmd(conn, f"sqlite:///{STORE}").created.values()) == {0}
    assert json.dumps(summary.as_json())  # the summary is JSON as it is


def test_a_missing_store_file_is_not_found(conn: Connection, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        read_plan(str(tmp_path / "missing.db"))
