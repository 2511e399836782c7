"""Reading an NDJSON export back into a store: all of it or nothing, every row checked as
the API checks what it is sent."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import Table, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from modeltrail.domain import kinds as rules
from modeltrail.domain import models as m
from modeltrail.domain import text
from modeltrail.domain.documents import nul_pointers
from modeltrail.domain.errors import InvalidInput, json_pointer
from modeltrail.store import graph
from modeltrail.store import series as series_store
from modeltrail.store.portability.encoding import (
    CHUNK,
    FORMAT,
    FORMAT_VERSION,
    REPLACED,
    SCRUBBED,
    decoder,
    encode,
    tables,
)
from modeltrail.store.tables import (
    ArtifactRow,
    KindRow,
)

# ---------------------------------------------------------------- import


def read_header(line: bytes) -> dict[str, Any]:
    try:
        header = orjson.loads(line)
    except orjson.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise InvalidInput(f"not a {FORMAT} export (the first line is no export header)")
    if header.get("version") != FORMAT_VERSION:
        raise InvalidInput(f"export format version {header.get('version')} is not supported")
    return header


class ImportRefused(InvalidInput):
    """A line of an export cannot be imported; nothing of the file was stored."""

    type_slug, title = "import-refused", "The export cannot be imported"

    def __init__(
        self, line: int, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any
    ) -> None:
        super().__init__(f"line {line}: {detail}", errors=errors, line=line, **extra)
        self.line = line


# The write model each entity table's rows are checked with, as the API checks what it is sent.
_MODELS: dict[str, type[BaseModel]] = {
    "experiments": m.ExperimentCreate,
    "executables": m.ExecutableCreate,
    "pipelines": m.PipelineCreate,
    "runs": m.RunCreate,
    "executions": m.ExecutionCreate,
    "artifacts": m.ArtifactCreate,
    "kinds": m.KindCreate,
}


def _as_written(model: type[BaseModel], row: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``model`` that a row holds: ``experiment`` is the ``experiment_id``
    column, ``schema`` the ``schema`` column of the ``schema_`` field."""
    out = {}
    for name, info in model.model_fields.items():
        for column in (name, info.alias, f"{name}_id"):
            if column and column in row:
                out[name] = row[column]
                break
    return out


def _row_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {
            "pointer": text.shown("/row" + json_pointer(*e["loc"])),
            "detail": text.shown(e["msg"]),
        }
        for e in exc.errors()
    ]


class _Checker:
    """What the API checks of each entity, applied to the rows of an export: the write
    models' rules (text, sizes, times, numbers), a kind's schema (``check_schema``), an
    artifact's attributes against its kind (``validate_attributes``), and no cycle among
    the executions (the store's walks the API uses). Kinds are read as the file stores
    them, so an artifact is checked against the kind of its own export."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.kinds: dict[tuple[str, int], dict[str, Any] | None] = {}
        self.executions: list[tuple[uuid.UUID, int]] = []
        self.artifacts: list[tuple[uuid.UUID, int]] = []

    def row(self, number: int, table: str, row: dict[str, Any]) -> None:
        if table in SCRUBBED:
            return  # a plugin's own records, kept as they are (masked)
        model = _MODELS.get(table)
        wrong = series_store.imported_row_error(table, row)
        if wrong is not None:
            raise ImportRefused(
                number,
                f"the {table} row is invalid: {wrong[1]}",
                errors=[{"pointer": "/row/" + wrong[0], "detail": wrong[1]}],
            )
        if model is None:
            bad = nul_pointers(row, "/row") + [e["pointer"] for e in text.invalid_text(row, "row")]
            if bad:
                raise ImportRefused(
                    number,
                    "the row holds text no store keeps (NUL, or not Unicode)",
                    errors=[{"pointer": p, "detail": "invalid text"} for p in bad],
                )
            return
        try:
            model.model_validate(_as_written(model, row))
            if table == "kinds":
                rules.check_schema(row.get("schema") or {})
            elif table == "artifacts":
                # Checked once every kind of the file is in (kinds come after artifacts).
                self.artifacts.append((row["id"], number))
            elif table == "executions":
                self.executions.append((row["id"], number))
        except ValidationError as exc:
            raise ImportRefused(
                number, f"the {table[:-1]} is invalid", errors=_row_errors(exc)
            ) from None
        except InvalidInput as exc:
            errors = [{**e, "pointer": "/row" + str(e.get("pointer", ""))} for e in exc.errors]
            raise ImportRefused(number, exc.detail, errors=errors) from None

    def _schema(self, name: str, version: Any) -> dict[str, Any] | None:
        key = (name, int(version or 0))
        if key not in self.kinds:
            found = self.session.get(KindRow, key)
            self.kinds[key] = None if found is None else found.schema_
        return self.kinds[key]

    def finish(self) -> None:
        """The checks that need every row of the file stored: an artifact's attributes
        against its kind, and no execution that follows, or is derived from, itself."""
        for start in range(0, len(self.artifacts), CHUNK):
            lines = dict(self.artifacts[start : start + CHUNK])
            query = select(
                ArtifactRow.id, ArtifactRow.kind, ArtifactRow.kind_version, ArtifactRow.attributes
            ).where(ArtifactRow.id.in_(list(lines)))
            for artifact, kind, version, attributes in self.session.execute(query):
                schema = self._schema(kind, version)
                if schema is None:
                    continue  # a kind no store registered: kept as the API keeps it
                try:
                    rules.validate_attributes(kind, version, schema, attributes)
                except InvalidInput as exc:
                    errors = [
                        {**e, "pointer": "/row" + str(e.get("pointer", ""))} for e in exc.errors
                    ]
                    raise ImportRefused(lines[artifact], exc.detail, errors=errors) from None
        lines = dict(self.executions)
        for walk, detail, what in (
            (graph.successors_reachable, "would follow itself through its successors",
             "successor chain leads back"),
            (graph.executions_downstream, "reads an artifact derived from its own outputs",
             "artifact flow forms a cycle"),
        ):  # fmt: skip
            for execution in self._on_cycles(walk, list(lines)):
                raise ImportRefused(
                    lines[execution],
                    f"execution {execution} {detail}",
                    errors=[{"pointer": "/row/id", "detail": what}],
                )

    def _on_cycles(
        self, walk: Callable[[Session, list[uuid.UUID]], set[uuid.UUID]], ids: list[uuid.UUID]
    ) -> Iterator[uuid.UUID]:
        """The executions among ``ids`` that ``walk`` leads back to. A chunk is walked at
        once: an execution on no cycle is reached from its chunk only when another of the
        chunk is upstream of it, and only those are walked again, one by one."""
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            for execution in set(chunk) & walk(self.session, chunk):
                if execution in walk(self.session, [execution]):
                    yield execution


def _canonical(row: dict[str, Any]) -> bytes:
    """A row's content in one spelling, whichever database it was read from."""
    return orjson.dumps(
        {k: encode(v) for k, v in row.items()},
        default=encode,
        option=orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME,
    )


def _parse(number: int, line: bytes) -> dict[str, Any]:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        try:
            text.loads(line, what=f"line {number}")
        except text.InvalidText as invalid:
            raise ImportRefused(number, invalid.detail, errors=invalid.errors) from None
        except (ValueError, UnicodeDecodeError):
            pass
        raise ImportRefused(number, f"the line is not JSON: {exc}") from None
    if not isinstance(record, dict) or not isinstance(record.get("row"), dict):
        raise ImportRefused(number, 'the line is not {"table": ..., "row": {...}}')
    return record


def import_records(
    session: Session, lines: Iterable[bytes], *, first_line: int = 2
) -> dict[str, dict[str, int]]:
    """Insert the rows of an export (its lines after the header) in the caller's
    transaction, checked as the API checks what it is sent. A row already stored with the
    same content is skipped, and so is a line that repeats an earlier one (an import can be
    repeated, and one experiment's export merged into another store); a row whose key is
    stored, or given earlier in the file, with other content is refused, as is any invalid
    row: ``ImportRefused`` names the line (and the other line), and the caller rolls back.

    The file is read once, as a stream: what is kept of it is one chunk of rows and, per
    row, its key's digest with its line number and the line's digest.

    Returns per table ``{"inserted": n, "skipped": m, "repeated": r}``: ``skipped`` counts
    the rows already stored before the import, ``repeated`` the lines given twice."""
    by_name = {t.name: t for t in tables()}
    decoders = {name: decoder(t) for name, t in by_name.items()}
    check = _Checker(session)
    stats: dict[str, dict[str, int]] = {}
    # hash((table, key)) -> line digest << 32 | line number: which rows this file gave, where.
    given: dict[int, int] = {}
    batch: list[tuple[int, int, dict[str, Any]]] = []  # line number, line digest, row
    current: Table | None = None
    # Columns that refer to their own table (an execution reused from another) are set after
    # every row is in, so that the order of rows in the file does not matter.
    deferred: list[tuple[int, Table, dict[str, Any], dict[str, Any]]] = []

    def flush() -> None:
        if current is None or not batch:
            return
        keys = [c.name for c in current.primary_key.columns]
        cols = [current.c[k] for k in keys]
        s = stats.setdefault(current.name, {"inserted": 0, "skipped": 0, "repeated": 0})
        rows: dict[tuple[Any, ...], tuple[int, dict[str, Any]]] = {}
        for number, digest, row in batch:
            key = tuple(row[k] for k in keys)
            earlier = given.get(hash((current.name, key)))
            if earlier is not None:
                if earlier >> 32 != digest:
                    raise ImportRefused(
                        number,
                        f"{current.name} {_shown_key(key)} was given with other content on "
                        f"line {earlier & 0xFFFFFFFF}",
                        other_line=earlier & 0xFFFFFFFF,
                    )
                s["repeated"] += 1
                continue
            given[hash((current.name, key))] = digest << 32 | number
            rows[key] = (number, row)
        present = _stored(session, current, cols, list(rows))
        for key, stored in present.items():
            number, row = rows[key]
            if current.name in REPLACED:
                # The target registered its built-in kinds when it was opened: the export's
                # rows (with their original times) replace them, so that a restore is exact.
                session.execute(
                    current.update()
                    .where(*[c == v for c, v in zip(cols, key, strict=True)])
                    .values(**row)
                )
            elif _canonical(stored) != _canonical(row):
                raise ImportRefused(
                    number,
                    f"{current.name} {_shown_key(key)} is already stored with other content",
                )
        s["skipped"] += len(present)
        fresh = [(n, r) for k, (n, r) in rows.items() if k not in present]
        self_refs = [fk.parent.name for fk in current.foreign_keys if fk.column.table is current]
        for number, r in fresh:
            later = {c: r[c] for c in self_refs if r.get(c) is not None}
            if later:
                deferred.append((number, current, {k: r[k] for k in keys}, later))
                r.update(dict.fromkeys(later))
        if fresh:
            _insert(session, current, fresh)
        s["inserted"] += len(fresh)
        batch.clear()

    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        record = _parse(number, line)
        table = by_name.get(record.get("table"))  # type: ignore[arg-type]
        if table is None:
            raise ImportRefused(number, f"no table is named {record.get('table')!r}")
        try:
            row = decoders[table.name](record["row"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ImportRefused(number, f"the row cannot be read: {exc}") from None
        if table.name in SCRUBBED:
            row = SCRUBBED[table.name](row)
        check.row(number, table.name, row)
        if table is not current:
            flush()
            current = table
        # A repeated line is told by its bytes: the same row spelled otherwise is refused.
        batch.append((number, hash(line.strip()), row))
        if len(batch) >= CHUNK:
            flush()
    flush()
    for number, table, key, values in deferred:
        try:
            with session.begin_nested():
                session.execute(
                    table.update()
                    .where(*[table.c[k] == v for k, v in key.items()])
                    .values(**values)
                )
        except IntegrityError as exc:
            raise ImportRefused(
                number, f"the row refers to what is not stored: {_cause(exc)}"
            ) from None
    session.flush()
    check.finish()
    return stats


def _shown_key(key: tuple[Any, ...]) -> str:
    return text.shown(", ".join(str(k) for k in key))


def _cause(exc: IntegrityError) -> str:
    return text.shown(str(exc.orig).splitlines()[0]) if exc.orig else "constraint failed"


def _stored(
    session: Session, table: Table, cols: list[Any], wanted: list[tuple[Any, ...]]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The stored rows of ``table`` among the keys ``wanted``, by key."""
    if not wanted:
        return {}
    if len(cols) == 1:
        where = cols[0].in_([w[0] for w in wanted])
    elif len(wanted) < 50:
        where = or_(*[tuple_(*cols) == w for w in wanted])
    else:
        where = tuple_(*cols).in_(wanted)
    found = {}
    for r in session.execute(select(table).where(where)).mappings():
        row = {str(k): v for k, v in r.items()}
        if table.name in SCRUBBED:
            row = SCRUBBED[table.name](row)
        found[tuple(row[c.name] for c in cols)] = row
    return found


def _insert(session: Session, table: Table, rows: list[tuple[int, dict[str, Any]]]) -> None:
    """Insert a chunk; if the database refuses it (a row refers to what is not stored),
    find the row it refuses, to name its line."""
    try:
        with session.begin_nested():
            session.execute(table.insert(), [r for _, r in rows])
        return
    except IntegrityError as exc:
        first = exc
    for number, row in rows:
        try:
            with session.begin_nested():
                session.execute(table.insert(), [row])
        except IntegrityError as exc:
            raise ImportRefused(
                number, f"the row refers to what is not stored: {_cause(exc)}"
            ) from None
    raise ImportRefused(rows[0][0], f"the rows cannot be stored: {_cause(first)}")
