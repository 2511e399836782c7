"""Backups and portability: a whole store (or one experiment) as newline-delimited JSON, and
its lineage as W3C PROV-JSON.

The NDJSON export is table-level and exact: one line per row, ``{"table": ..., "row": {...}}``,
tables in foreign-key order, every column as stored (ids, times to the microsecond, kind
versions, revisions, fingerprints, edges with their positions, flags). Importing it into an
empty SQLite or PostgreSQL store gives back the same rows, so a store moves between the two
databases without loss. API tokens are never exported (they are credentials, not metadata),
and the notifications plugin's delivery records leave with their webhook URLs masked.
"""

from __future__ import annotations

import base64
import math
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import LargeBinary, Table, and_, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from modeltrail.domain import kinds as rules
from modeltrail.domain import models as m
from modeltrail.domain import secrets, text
from modeltrail.domain.documents import nul_pointers
from modeltrail.domain.errors import InvalidInput, NotFound, json_pointer
from modeltrail.store import graph
from modeltrail.store import series as series_store
from modeltrail.store.tables import (
    ArtifactReferenceRow,
    ArtifactRow,
    Base,
    ExecutableRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ExecutionSuccessorRow,
    ExperimentRow,
    FlagRow,
    KindRow,
    MetricChunkRow,
    MetricSeriesRow,
    MetricValue,
    PipelineExecutableRow,
    PipelineRow,
    RunMetricRow,
    RunRow,
    UTCDateTime,
)

FORMAT = "modeltrail-ndjson"
FORMAT_VERSION = 1
# Credentials, and the answers kept for a day to retried batches: not metadata. The search
# index is the database's own copy of the entities, rebuilt by its triggers as they come in.
EXCLUDED = frozenset({"api_tokens", "batch_receipts", "search_entries"})
REPLACED = frozenset({"kinds"})
CHUNK = 500
# Rows that may hold a credential (a webhook URL with its token), as they may leave the store
# and enter it: masked, both ways.
SCRUBBED: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "notifications": secrets.scrub_notification
}


def tables() -> list[Table]:
    """Every exported table, parents before children."""
    return [t for t in Base.metadata.sorted_tables if t.name not in EXCLUDED]


# ---------------------------------------------------------------- encoding


def _encode(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"$b64": base64.b64encode(value).decode()}
    return value


def _non_finite_columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if isinstance(c.type, MetricValue)]


def _spelt_out(row: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    """The row with its infinite metric values as text (JSON has no number for them)."""
    for name in columns:
        value = row.get(name)
        if isinstance(value, float) and value in (math.inf, -math.inf):
            row[name] = {"$float": "Infinity" if value > 0 else "-Infinity"}
    return row


def _decoded_float(value: Any) -> float:
    if isinstance(value, dict):
        return {"Infinity": math.inf, "-Infinity": -math.inf}[value["$float"]]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"{value!r} is not a number")


def _decoded_bytes(value: Any) -> bytes:
    if isinstance(value, dict) and isinstance(value.get("$b64"), str):
        return base64.b64decode(value["$b64"], validate=True)
    raise ValueError('binary data is written {"$b64": ...}')


def _decoder(table: Table) -> Callable[[dict[str, Any]], dict[str, Any]]:
    kinds: dict[str, str] = {}
    for column in table.columns:
        if isinstance(column.type, UTCDateTime):
            kinds[column.name] = "datetime"
        elif column.type.__class__.__name__ == "Uuid":
            kinds[column.name] = "uuid"
        elif isinstance(column.type, MetricValue):
            kinds[column.name] = "float"
        elif isinstance(column.type, LargeBinary):
            kinds[column.name] = "bytes"

    def decode(row: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for name, value in row.items():
            if name not in table.c:
                raise InvalidInput(f"column {table.name}.{name} does not exist in this version")
            kind = kinds.get(name)
            if value is None or kind is None:
                out[name] = value
            elif kind == "uuid":
                out[name] = uuid.UUID(value)
            elif kind == "float":
                out[name] = _decoded_float(value)
            elif kind == "bytes":
                out[name] = _decoded_bytes(value)
            else:
                out[name] = datetime.fromisoformat(value)
        return out

    return decode


def dumps(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, default=_encode, option=orjson.OPT_PASSTHROUGH_DATETIME) + b"\n"


# ---------------------------------------------------------------- export


def _experiment_scope(session: Session, experiment: uuid.UUID) -> dict[str, Any]:
    """The rows that belong to one experiment: its runs, their executions, and everything those
    read, wrote, ran or were triggered by (referenced artifacts followed transitively)."""
    if session.get(ExperimentRow, experiment) is None:
        raise NotFound(f"experiment {experiment} does not exist")
    runs = set(session.scalars(select(RunRow.id).where(RunRow.experiment_id == experiment)))
    executions = set(session.scalars(select(ExecutionRow.id).where(ExecutionRow.run_id.in_(runs))))
    artifacts: set[uuid.UUID] = set()
    for edge in (ExecutionInputRow, ExecutionOutputRow):
        artifacts |= set(
            session.scalars(select(edge.artifact_id).where(edge.execution_id.in_(executions)))
        )
    artifacts |= {
        e for e in session.scalars(select(RunRow.event_id).where(RunRow.id.in_(runs))) if e
    }
    frontier = set(artifacts)
    while frontier:
        found = set(
            session.scalars(
                select(ArtifactReferenceRow.target_id).where(
                    ArtifactReferenceRow.artifact_id.in_(frontier)
                )
            )
        )
        frontier = found - artifacts
        artifacts |= found
    # Executions reused from outside the experiment are kept as references only (no rows).
    pipelines = {
        p for p in session.scalars(select(RunRow.pipeline_id).where(RunRow.id.in_(runs))) if p
    }
    executables = set(
        session.scalars(select(ExecutionRow.executable_id).where(ExecutionRow.id.in_(executions)))
    )
    executables |= set(
        session.scalars(
            select(PipelineExecutableRow.executable_id).where(
                PipelineExecutableRow.pipeline_id.in_(pipelines)
            )
        )
    )
    return {
        "experiments": ExperimentRow.id == experiment,
        "runs": RunRow.id.in_(runs),
        "executions": ExecutionRow.id.in_(executions),
        "artifacts": ArtifactRow.id.in_(artifacts),
        "pipelines": PipelineRow.id.in_(pipelines),
        "executables": ExecutableRow.id.in_(executables),
        "pipeline_executables": PipelineExecutableRow.pipeline_id.in_(pipelines),
        "execution_inputs": ExecutionInputRow.execution_id.in_(executions),
        "execution_outputs": ExecutionOutputRow.execution_id.in_(executions),
        "execution_successors": and_(
            ExecutionSuccessorRow.execution_id.in_(executions),
            ExecutionSuccessorRow.successor_id.in_(executions),
        ),
        "artifact_references": ArtifactReferenceRow.artifact_id.in_(artifacts),
        "flags": FlagRow.artifact_id.in_(artifacts),
        "metric_series": MetricSeriesRow.run_id.in_(runs),
        "metric_chunks": MetricChunkRow.series_id.in_(
            select(MetricSeriesRow.id).where(MetricSeriesRow.run_id.in_(runs))
        ),
        "run_metrics": RunMetricRow.run_id.in_(runs),
        "kinds": True,
        "_executions": executions,
    }


def _where(scope: dict[str, Any] | None, table: Table) -> Any:
    if scope is None:
        return None
    clause = scope.get(table.name)
    if clause is None:
        return False  # a table this export does not know how to scope: left out
    return clause


def count_rows(session: Session, *, experiment: uuid.UUID | None = None) -> dict[str, int]:
    """How many rows each table will export (for progress bars)."""
    scope = _experiment_scope(session, experiment) if experiment else None
    out = {}
    for table in tables():
        where = _where(scope, table)
        if where is False:
            continue
        query = select(func.count()).select_from(table)
        if where is not None and where is not True:
            query = query.where(where)
        out[table.name] = int(session.scalar(query) or 0)
    return out


def export_records(
    session: Session, *, experiment: uuid.UUID | None = None, schema_revision: str | None = None
) -> Iterator[dict[str, Any]]:
    """The header, then every row of every table in foreign-key order."""
    scope = _experiment_scope(session, experiment) if experiment else None
    yield {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "schemaRevision": schema_revision,
        "experiment": str(experiment) if experiment else None,
    }
    for table in tables():
        where = _where(scope, table)
        if where is False:
            continue
        non_finite = _non_finite_columns(table)
        query = select(table).order_by(*table.primary_key.columns)
        if where is not None and where is not True:
            query = query.where(where)
        for row in session.execute(query.execution_options(yield_per=CHUNK)).mappings():
            data = {str(k): v for k, v in row.items()}  # keys may be str subclasses
            if non_finite:
                data = _spelt_out(data, non_finite)
            if table.name in SCRUBBED:
                data = SCRUBBED[table.name](data)
            if (
                scope is not None
                and table.name == "executions"
                and data["reused_from_id"] not in scope["_executions"]
            ):
                data["reused_from_id"] = None  # reused from another experiment: not in this export
            yield {"table": table.name, "row": data}


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
        {k: _encode(v) for k, v in row.items()},
        default=_encode,
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
    decoders = {name: _decoder(t) for name, t in by_name.items()}
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


# ---------------------------------------------------------------- W3C PROV-JSON


def _t(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def prov_document(session: Session, *, experiment: uuid.UUID | None = None) -> dict[str, Any]:
    """Lineage as W3C PROV-JSON: artifacts are entities, executions and runs activities,
    executables agents; inputs ``used``, outputs ``wasGeneratedBy``, successors
    ``wasInformedBy``, a run's trigger ``wasStartedBy`` (each execution is started by its run).
    """
    scope = _experiment_scope(session, experiment) if experiment else None

    def rows(model: Any) -> Iterator[Any]:
        query = select(model)
        where = _where(scope, model.__table__)
        if where is not None and where is not True and where is not False:
            query = query.where(where)
        yield from session.scalars(query)

    doc: dict[str, Any] = {
        "prefix": {
            "mt": "https://modeltrail.dev/ns#",
            "artifact": "urn:modeltrail:artifact:",
            "execution": "urn:modeltrail:execution:",
            "run": "urn:modeltrail:run:",
            "executable": "urn:modeltrail:executable:",
        },
        "entity": {},
        "activity": {},
        "agent": {},
        "used": {},
        "wasGeneratedBy": {},
        "wasInformedBy": {},
        "wasStartedBy": {},
        "wasAssociatedWith": {},
    }
    for a in rows(ArtifactRow):
        doc["entity"][f"artifact:{a.id}"] = _clean(
            {
                "prov:label": a.name,
                "prov:type": f"mt:{a.kind}",
                "mt:version": a.version,
                "mt:kindVersion": a.kind_version,
                "prov:location": a.uri,
                "mt:createTime": _t(a.create_time),
                "mt:fingerprint": a.fingerprint,
                "mt:attributes": orjson.dumps(a.attributes).decode(),
            }
        )
    for x in rows(ExecutableRow):
        doc["agent"][f"executable:{x.id}"] = _clean(
            {
                "prov:type": "prov:SoftwareAgent",
                "prov:label": x.name,
                "mt:version": x.version,
                "prov:location": x.uri,
            }
        )
    for r in rows(RunRow):
        doc["activity"][f"run:{r.id}"] = _clean(
            {
                "prov:type": "mt:run",
                "prov:label": r.name,
                "prov:startTime": _t(r.create_time),
                "prov:endTime": _t(r.end_time),
                "mt:status": r.status,
            }
        )
        if r.event_id:
            doc["wasStartedBy"][f"_:start-run-{r.id}"] = {
                "prov:activity": f"run:{r.id}",
                "prov:trigger": f"artifact:{r.event_id}",
            }
    for e in rows(ExecutionRow):
        eid = f"execution:{e.id}"
        doc["activity"][eid] = _clean(
            {
                "prov:type": f"mt:{e.kind}",
                "prov:label": e.name,
                "prov:startTime": _t(e.start_time or e.create_time),
                "prov:endTime": _t(e.end_time),
                "mt:status": e.status,
                "mt:fingerprint": e.fingerprint,
            }
        )
        doc["wasStartedBy"][f"_:start-{e.id}"] = {
            "prov:activity": eid,
            "prov:starter": f"run:{e.run_id}",
        }
        doc["wasAssociatedWith"][f"_:assoc-{e.id}"] = {
            "prov:activity": eid,
            "prov:agent": f"executable:{e.executable_id}",
        }
    for i in rows(ExecutionInputRow):
        doc["used"][f"_:used-{i.execution_id}-{i.artifact_id}"] = {
            "prov:activity": f"execution:{i.execution_id}",
            "prov:entity": f"artifact:{i.artifact_id}",
        }
    for o in rows(ExecutionOutputRow):
        doc["wasGeneratedBy"][f"_:gen-{o.execution_id}-{o.artifact_id}"] = {
            "prov:entity": f"artifact:{o.artifact_id}",
            "prov:activity": f"execution:{o.execution_id}",
        }
    for s in rows(ExecutionSuccessorRow):
        doc["wasInformedBy"][f"_:inf-{s.execution_id}-{s.successor_id}"] = {
            "prov:informed": f"execution:{s.successor_id}",
            "prov:informant": f"execution:{s.execution_id}",
        }
    return {k: v for k, v in doc.items() if v}


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
