"""``modeltrail import``: all of a file or nothing, checked as the API checks, and a report
of exactly what was stored, on both databases."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from conftest import run_cli
from modeltrail.services.metadata import Metadata
from modeltrail.store import portability
from test_portability import fill


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The records of a filled store's export (header first)."""
    source = Metadata.open(f"sqlite:///{tmp_path_factory.mktemp('src') / 'src.db'}")
    fill(source)
    with source.session("snapshot") as session:
        records = list(portability.export_records(session))
    records = [json.loads(portability.dumps(r)) for r in records]
    source.close()
    return records


def write(tmp_path: Path, records: list[dict[str, Any]], *extra: str) -> Path:
    file = tmp_path / "backup.ndjson"
    lines = [json.dumps(r) for r in records] + list(extra)
    file.write_text("\n".join(lines) + "\n")
    return file


def imported(meta: Metadata, file: Path, tmp_path: Path, *, ok: bool) -> Any:
    result = run_cli("import", str(file), url=meta.db.url, cwd=tmp_path, check=False)
    assert (result.returncode == 0) is ok, result
    assert "Traceback" not in result.stderr
    return result


def count(meta: Metadata, table: str) -> int:
    with meta.session("read") as session:
        t = next(t for t in portability.tables() if t.name == table)
        return int(session.scalar(select(func.count()).select_from(t)) or 0)


def stored_nothing(meta: Metadata) -> None:
    for table in ("experiments", "runs", "executions", "artifacts", "execution_inputs"):
        assert count(meta, table) == 0, table


def rows_of(records: list[dict[str, Any]], table: str) -> list[dict[str, Any]]:
    return [r for r in records[1:] if r["table"] == table]


def line_of(records: list[dict[str, Any]], record: dict[str, Any]) -> int:
    return records.index(record) + 1


def test_a_repeated_line_is_harmless_and_the_count_is_exact(
    metadata: Metadata, exported: list[dict[str, Any]], tmp_path: Path
) -> None:
    experiment = rows_of(exported, "experiments")[0]
    # The same line twice in a row, and once more at the end of the file.
    records = [*exported[:2], exported[1], *exported[2:], experiment]
    builtin = count(metadata, "kinds")  # registered at open: the export's rows replace them
    result = imported(metadata, write(tmp_path, records), tmp_path, ok=True)
    rows = len(exported) - 1
    expected = f"imported {rows - builtin} rows ({builtin} already present, 2 repeated lines)"
    assert expected in result.stdout, result.stdout
    for table in ("experiments", "runs", "executions", "artifacts", "execution_successors"):
        assert count(metadata, table) == len(rows_of(exported, table)), table
    again = imported(metadata, write(tmp_path, exported), tmp_path, ok=True)
    assert "imported 0 rows" in again.stdout


def test_a_bad_last_row_stores_nothing(
    metadata: Metadata, exported: list[dict[str, Any]], tmp_path: Path
) -> None:
    dangling = {
        "table": "execution_inputs",
        "row": {
            **rows_of(exported, "execution_inputs")[0]["row"],
            "artifact_id": str(uuid.uuid4()),
        },
    }
    records = [*exported, dangling]
    result = imported(metadata, write(tmp_path, records), tmp_path, ok=False)
    assert f"line {len(records)}:" in result.stderr and "nothing was imported" in result.stderr
    stored_nothing(metadata)


def test_an_id_given_twice_with_other_content_names_both_lines(
    metadata: Metadata, exported: list[dict[str, Any]], tmp_path: Path
) -> None:
    first = rows_of(exported, "experiments")[0]
    other = {"table": "experiments", "row": {**first["row"], "name": "someone else"}}
    records = [*exported, other]
    result = imported(metadata, write(tmp_path, records), tmp_path, ok=False)
    assert f"line {len(records)}:" in result.stderr
    assert f"on line {line_of(exported, first)}" in result.stderr
    stored_nothing(metadata)


def test_an_id_stored_with_other_content_is_refused(
    metadata: Metadata, exported: list[dict[str, Any]], tmp_path: Path
) -> None:
    imported(metadata, write(tmp_path, exported), tmp_path, ok=True)
    first = rows_of(exported, "experiments")[0]
    changed = [r if r is not first else {**r, "row": {**r["row"], "name": "x"}} for r in exported]
    result = imported(metadata, write(tmp_path, changed), tmp_path, ok=False)
    assert f"line {line_of(exported, first)}:" in result.stderr
    assert "already stored with other content" in result.stderr


def _refused(
    metadata: Metadata, tmp_path: Path, records: list[dict[str, Any]], line: int, *words: str
) -> str:
    result = imported(metadata, write(tmp_path, records), tmp_path, ok=False)
    assert f"line {line}:" in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    stored_nothing(metadata)
    return result.stderr


def test_a_cycle_is_refused(
    metadata: Metadata, exported: list[dict[str, Any]], tmp_path: Path
) -> None:
    [edge] = rows_of(exported, "execution_successors")
    back = {
        "table": "execution_successors",
        "row": {
            **edge["row"],
            "execution_id": edge["row"]["successor_id"],
            "successor_id": edge["row"]["execution_id"],
        },
    }
    records = [*exported[: exported.index(edge) + 1], back, *exported[exported.index(edge) + 1 :]]
    executions = rows_of(exported, "executions")
    lines = [line_of(records, r) for r in executions]
    result = imported(metadata, write(tmp_path, records), tmp_path, ok=False)
    assert any(f"line {n}:" in result.stderr for n in lines) and "itself" in result.stderr
    stored_nothing(metadata)


@pytest.mark.parametrize(
    ("table", "field", "value", "pointer"),
    [
        ("experiments", "name", "a\x00b", "/row/name"),
        ("runs", "configuration", {"lr": "\ud800"}, "/row/configuration/lr"),
        ("kinds", "schema", {"type": 12}, "/row/schema/type"),
        ("artifacts", "attributes", {"accuracy": "not a number"}, "/row/attributes/accuracy"),
    ],
)
def test_what_the_api_refuses_the_import_refuses(
    metadata: Metadata,
    exported: list[dict[str, Any]],
    tmp_path: Path,
    table: str,
    field: str,
    value: Any,
    pointer: str,
) -> None:
    rows = rows_of(exported, table)
    if table == "artifacts":
        target = next(r for r in rows if r["row"]["kind"] == "validation")
    elif table == "kinds":
        target = next(r for r in rows if r["row"]["name"] == "validation")
    else:
        target = rows[0]
    bad = {**target, "row": {**target["row"], field: value}}
    records = [bad if r is target else r for r in exported]
    _refused(metadata, tmp_path, records, line_of(exported, target), pointer)


def test_a_kind_with_a_remote_ref_is_refused(
    metadata: Metadata, exported: list[dict[str, Any]], tmp_path: Path
) -> None:
    remote = {"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/schema"}}}
    target = next(r for r in rows_of(exported, "kinds") if r["row"]["name"] == "validation")
    bad = {**target, "row": {**target["row"], "schema": remote}}
    records = [bad if r is target else r for r in exported]
    _refused(metadata, tmp_path, records, line_of(exported, target))
