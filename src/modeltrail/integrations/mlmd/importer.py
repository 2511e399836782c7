"""Import an ML Metadata store (``modeltrail import mlmd --mlmd-url sqlite:///mlmd.db``).

The store is read whole and checked first (``reader``), then translated (``translator``); then
what is not yet stored is written through the project's API with a connection as the SDK opens
it, so a server and an embedded store are written alike: the artifact kinds first, then the
entities in batches (``POST /api/v1/batch``, each all or nothing, through the bulk writer).
What an earlier import stored is skipped; an execution that has since read or written more, or
finished, gets the new edges and its new status.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from modeltrail.domain import limits
from modeltrail.integrations.mlmd.reader import Snapshot, read_store
from modeltrail.integrations.mlmd.translator import Plan, translate

# One batch: well within the request's limits (operations and bytes), and small enough that
# the progress bar moves.
BATCH_OPERATIONS = 500
BATCH_BYTES = limits.MAX_BODY_BYTES // 4
ENTITIES = (
    ("experiment", "experiments"),
    ("executable", "executables"),
    ("pipeline", "pipelines"),
    ("run", "runs"),
    ("artifact", "artifacts"),
    ("execution", "executions"),
)


class Api(Protocol):
    """The project's API as the importer writes through it (``sdk.connection.Connection``)."""

    def get(self, path: str, **params: Any) -> Any: ...

    def post(self, path: str, body: Any, **kw: Any) -> Any: ...


class NothingStored:
    """A store with nothing in it yet, as a dry run against a store not yet made sees it."""

    def get(self, path: str, **params: Any) -> Any:
        return [] if path == "/api/v1/kinds" else {"items": []}

    def post(self, path: str, body: Any, **kw: Any) -> Any:
        raise AssertionError("a dry run writes nothing")


@dataclass
class Summary:
    """What an import found in the store and what it did (or, dry, would do) with it."""

    source: str
    schema_version: int
    dry_run: bool
    found: dict[str, int] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    kinds: list[str] = field(default_factory=list)  # kinds registered (or to be)
    edges: int = 0  # inputs, outputs and successors added to executions stored before
    ignored_events: int = 0  # events of no kind that reads or writes (UNKNOWN, PENDING_OUTPUT)
    batches: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "schemaVersion": self.schema_version,
            "dryRun": self.dry_run,
            "found": self.found,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "kindsRegistered": self.kinds,
            "edgesAdded": self.edges,
            "ignoredEvents": self.ignored_events,
            "batches": self.batches,
        }


# progress(stage, done, total): stage is "read" (tables) or "write" (operations).
Progress = Callable[[str, int, int], None]


def read_plan(url: str, *, progress: Progress | None = None) -> tuple[Snapshot, Plan]:
    """Read and check the whole MLMD store at ``url`` and translate it; nothing is written. A
    store that cannot be read whole is refused here (``InvalidInput``, ``NotFound``)."""
    report = progress or (lambda stage, done, total: None)
    tables = iter(range(1, 6))
    snap = read_store(url, step=lambda table: report("read", next(tables, 5), 5))
    return snap, translate(snap)


def write_plan(
    conn: Api,
    snap: Snapshot,
    plan: Plan,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> Summary:
    """Write what of ``plan`` the store ``conn`` reaches does not hold yet; with ``dry_run``
    only count it."""
    report = progress or (lambda stage, done, total: None)
    summary = _summary(snap, plan, dry_run)
    ops = list(_operations(conn, plan, summary))
    summary.kinds = _kinds_to_register(conn, plan)
    if dry_run:
        report("write", len(ops), len(ops))
        return summary
    for kind in plan.kinds:
        if kind["name"] in summary.kinds:
            conn.post("/api/v1/kinds", kind)
    done = 0
    report("write", 0, len(ops))
    for batch in _batches(ops):
        conn.post("/api/v1/batch", {"operations": batch})
        summary.batches += 1
        done += len(batch)
        report("write", done, len(ops))
    return summary


def import_mlmd(
    conn: Api, url: str, *, dry_run: bool = False, progress: Progress | None = None
) -> Summary:
    """Import the MLMD store at ``url`` into the store ``conn`` reaches (``read_plan`` then
    ``write_plan``)."""
    snap, plan = read_plan(url, progress=progress)
    return write_plan(conn, snap, plan, dry_run=dry_run, progress=progress)


def _summary(snap: Snapshot, plan: Plan, dry_run: bool) -> Summary:
    summary = Summary(source=snap.source, schema_version=snap.schema_version, dry_run=dry_run)
    summary.found = {
        "types": len(snap.types),
        "contexts": len(snap.contexts),
        "executions": len(snap.executions),
        "artifacts": len(snap.artifacts),
        "events": len(snap.events),
    }
    summary.ignored_events = plan.skipped_events
    return summary


def _stored(conn: Api, plural: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The entities of these ids that are stored already."""
    found: dict[str, dict[str, Any]] = {}
    # As many ids as one filter's text holds (36 characters and a comma each).
    step = min(limits.MAX_FILTER_VALUES, limits.MAX_PAGE_SIZE, (limits.MAX_FILTER_TEXT - 6) // 37)
    for start in range(0, len(ids), step):
        chunk = ids[start : start + step]
        page = conn.get(f"/api/v1/{plural}", filter=[f"id:in:{','.join(chunk)}"], limit=step)
        found.update({str(item["id"]): item for item in page["items"]})
    return found


def _kinds_to_register(conn: Api, plan: Plan) -> list[str]:
    stored = {k["name"]: k for k in conn.get("/api/v1/kinds")}
    return [
        k["name"]
        for k in plan.kinds
        if k["name"] not in stored or stored[k["name"]]["schema"] != k["schema"]
    ]


def _clean(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def _operations(conn: Api, plan: Plan, summary: Summary) -> Iterator[dict[str, Any]]:
    """The batch operations that bring the store up to the plan; counts into ``summary``."""
    bodies: dict[str, list[dict[str, Any]]] = {
        "experiment": plan.experiments,
        "executable": plan.executables,
        "pipeline": plan.pipelines,
        "run": plan.runs,
        "artifact": plan.artifacts,
        "execution": plan.executions,
    }
    stored_executions: dict[str, dict[str, Any]] = {}
    for entity, plural in ENTITIES:
        planned = bodies[entity]
        stored = _stored(conn, plural, [b["id"] for b in planned])
        if entity == "execution":
            stored_executions = stored
        created = updated = 0
        for body in planned:
            current = stored.get(body["id"])
            if current is None:
                created += 1
                yield {"op": "create", "entity": entity, "body": _clean(body)}
                continue
            change = _changes(entity, body, current)
            if change:
                updated += 1
                yield {"op": "update", "entity": entity, "id": body["id"], "body": change}
            if entity == "execution":
                link = _new_edges(body, current)
                if link:
                    summary.edges += sum(len(v) for v in link.values())
                    yield {"op": "link", "entity": "execution", "id": body["id"], "body": link}
        summary.created[plural] = created
        summary.updated[plural] = updated
        summary.skipped[plural] = len(planned) - created - updated
    for execution, successors in plan.successors.items():
        had = set((stored_executions.get(execution) or {}).get("successors") or [])
        new = [s for s in successors if s not in had]
        if new:
            if execution in stored_executions:
                summary.edges += len(new)
            yield {
                "op": "link",
                "entity": "execution",
                "id": execution,
                "body": {"successors": new},
            }


def _changes(entity: str, body: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """What changed in MLMD since the entity was imported: a run's or an execution's status and
    end, a pipeline's executables. Nothing else is touched: an imported entity that was since
    annotated or edited in modeltrail keeps those edits."""
    fields = {"run": ("status", "endTime"), "execution": ("status", "endTime")}.get(entity, ())
    change = {
        f: body[f]
        for f in fields
        if body.get(f) is not None and not _same_time_or_value(current.get(f), body[f])
    }
    if entity == "pipeline":
        had = set(current.get("executables") or [])
        if not set(body["executables"]) <= had:
            change["executables"] = sorted(had | set(body["executables"]))
    return change


def _same_time_or_value(stored: Any, sent: Any) -> bool:
    if isinstance(stored, str) and isinstance(sent, str) and "T" in stored:
        from datetime import datetime

        try:
            return datetime.fromisoformat(stored) == datetime.fromisoformat(sent)
        except ValueError:
            pass
    return bool(stored == sent)


def _new_edges(body: dict[str, Any], current: dict[str, Any]) -> dict[str, list[str]]:
    link = {}
    for key in ("inputArtifacts", "outputArtifacts"):
        had = set(current.get(key) or [])
        new = [a for a in body.get(key) or [] if a not in had]
        if new:
            link[key] = new
    return link


def _batches(ops: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    for op in ops:
        weight = len(json.dumps(op, ensure_ascii=False).encode())
        if batch and (len(batch) >= BATCH_OPERATIONS or size + weight > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(op)
        size += weight
    if batch:
        yield batch
