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
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Table, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from modeltrail.domain import secrets
from modeltrail.domain.errors import InvalidInput, NotFound
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
    PipelineExecutableRow,
    PipelineRow,
    RunRow,
    UTCDateTime,
)

FORMAT = "modeltrail-ndjson"
FORMAT_VERSION = 1
EXCLUDED = frozenset({"api_tokens"})
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


def _decoder(table: Table) -> Callable[[dict[str, Any]], dict[str, Any]]:
    kinds: dict[str, str] = {}
    for column in table.columns:
        if isinstance(column.type, UTCDateTime):
            kinds[column.name] = "datetime"
        elif column.type.__class__.__name__ == "Uuid":
            kinds[column.name] = "uuid"

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
        query = select(table).order_by(*table.primary_key.columns)
        if where is not None and where is not True:
            query = query.where(where)
        for row in session.execute(query.execution_options(yield_per=CHUNK)).mappings():
            data = {str(k): v for k, v in row.items()}  # keys may be str subclasses
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


def import_records(session: Session, lines: Iterable[bytes]) -> dict[str, dict[str, int]]:
    """Insert exported rows; rows whose key is already stored are skipped (an import can be
    repeated, and one experiment's export merged into another store). Returns per table
    ``{"inserted": n, "skipped": m}``."""
    by_name = {t.name: t for t in tables()}
    decoders = {name: _decoder(t) for name, t in by_name.items()}
    stats: dict[str, dict[str, int]] = {}
    batch: list[dict[str, Any]] = []
    current: Table | None = None
    # Columns that refer to their own table (an execution reused from another) are set after
    # every row is in, so that the order of rows in the file does not matter.
    deferred: list[tuple[Table, dict[str, Any], dict[str, Any]]] = []

    def flush() -> None:
        if current is None or not batch:
            return
        keys = [c.name for c in current.primary_key.columns]
        wanted = [tuple(r[k] for k in keys) for r in batch]
        cols = [current.c[k] for k in keys]
        if len(cols) == 1:
            present = {
                (v,)
                for v in session.scalars(select(cols[0]).where(cols[0].in_([w[0] for w in wanted])))
            }
        else:
            present = {
                tuple(r)
                for r in session.execute(
                    select(*cols).where(
                        or_(*[tuple_(*cols) == w for w in wanted])
                        if len(wanted) < 50
                        else tuple_(*cols).in_(wanted)
                    )
                )
            }
        fresh = [r for r, w in zip(batch, wanted, strict=True) if w not in present]
        if current.name in REPLACED:
            # The target registered its built-in kinds when it was opened: the export's rows
            # (with their original times) replace them, so that a restore is exact.
            for r, w in zip(batch, wanted, strict=True):
                if w in present:
                    session.execute(
                        current.update()
                        .where(*[c == v for c, v in zip(cols, w, strict=True)])
                        .values(**r)
                    )
        self_refs = [fk.parent.name for fk in current.foreign_keys if fk.column.table is current]
        for r in fresh:
            later = {c: r[c] for c in self_refs if r.get(c) is not None}
            if later:
                deferred.append((current, {k: r[k] for k in keys}, later))
                r.update(dict.fromkeys(later))
        if fresh:
            session.execute(current.insert(), fresh)
        s = stats.setdefault(current.name, {"inserted": 0, "skipped": 0})
        s["inserted"] += len(fresh)
        s["skipped"] += len(batch) - len(fresh)
        batch.clear()

    for number, line in enumerate(lines, start=2):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
            table = by_name[record["table"]]
            row = decoders[table.name](record["row"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(
                f"line {number} of the export is not a row of a known table: {exc}"
            ) from None
        if table is not current:
            flush()
            current = table
        batch.append(row)
        if len(batch) >= CHUNK:
            flush()
    flush()
    for table, key, values in deferred:
        session.execute(
            table.update().where(*[table.c[k] == v for k, v in key.items()]).values(**values)
        )
    session.flush()
    return stats


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
