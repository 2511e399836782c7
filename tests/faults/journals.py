"""What the writers of ``http_writer.py`` journaled, compared with what the database holds."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text

from modeltrail.store.tables import Base

WRITER = Path(__file__).with_name("http_writer.py")
ENTITY_TABLES = ("experiments", "executables", "runs", "executions", "artifacts")
EDGE_TABLES = {
    "execution_inputs": ("execution_id", "artifact_id"),
    "execution_outputs": ("execution_id", "artifact_id"),
    "execution_successors": ("execution_id", "successor_id"),
}
# Every reference between the tables the writers fill: (table, column, referenced table).
REFERENCES = [
    ("runs", "experiment_id", "experiments"),
    ("executions", "run_id", "runs"),
    ("executions", "executable_id", "executables"),
    ("execution_inputs", "execution_id", "executions"),
    ("execution_inputs", "artifact_id", "artifacts"),
    ("execution_outputs", "execution_id", "executions"),
    ("execution_outputs", "artifact_id", "artifacts"),
    ("execution_successors", "execution_id", "executions"),
    ("execution_successors", "successor_id", "executions"),
]


class Writers:
    """``count`` writer processes of ``http_writer.py``, each with a journal of its own."""

    def __init__(self, config: dict[str, Any], count: int, tmp_path: Path) -> None:
        self.journals = [tmp_path / f"journal-{w}.jsonl" for w in range(count)]
        for journal in self.journals:
            journal.touch()
        self.procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(WRITER),
                    json.dumps({**config, "worker": w, "journal": str(self.journals[w])}),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for w in range(count)
        ]

    def started(self, timeout: float = 60) -> None:
        """Wait until every writer has had a write acknowledged."""
        deadline = time.monotonic() + timeout
        while not all('"ack"' in j.read_text() for j in self.journals):
            assert time.monotonic() < deadline, "the writers did not start"
            assert all(p.poll() is None for p in self.procs), "a writer ended early"
            time.sleep(0.1)

    def wait(self, timeout: float) -> None:
        for proc in self.procs:
            out, _ = proc.communicate(timeout=timeout)
            assert proc.returncode == 0, f"a writer failed:\n{out[-3000:]}"

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    def read(self) -> Journals:
        return Journals.read(self.journals)


@dataclass
class Attempt:
    op: str
    entities: dict[uuid.UUID, tuple[str, str]]  # id -> (table, name)
    edges: set[tuple[str, uuid.UUID, uuid.UUID]]
    acked: bool = False
    ack_time: float = 0.0


@dataclass
class Journals:
    attempts: list[Attempt] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    other: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def read(cls, paths: list[Path]) -> Journals:
        out = cls()
        for path in paths:
            mine: dict[int, Attempt] = {}
            for line in path.read_text().splitlines():
                record = json.loads(line)
                if "attempt" in record:
                    mine[record["attempt"]] = Attempt(
                        record["op"],
                        {uuid.UUID(k): (v[0], v[1]) for k, v in record["entities"].items()},
                        {(t, uuid.UUID(a), uuid.UUID(b)) for t, a, b in record["edges"]},
                    )
                elif "ack" in record:
                    mine[record["ack"]].acked = True
                    mine[record["ack"]].ack_time = record["t"]
                elif "refused" in record:
                    out.refused.append({"journal": path.name, **record})
                else:
                    out.other.append(record)
            out.attempts += mine.values()
        return out

    @property
    def acked(self) -> list[Attempt]:
        return [a for a in self.attempts if a.acked]


@dataclass
class Stored:
    entities: dict[str, list[tuple[uuid.UUID, str]]]  # table -> (id, name) of every row
    edges: list[tuple[str, uuid.UUID, uuid.UUID]]
    orphans: dict[str, int]  # "table.column" -> rows whose reference points nowhere

    @classmethod
    def read(cls, url: str) -> Stored:
        engine = create_engine(url)
        tables = Base.metadata.tables
        try:
            with engine.connect() as conn:
                entities = {
                    name: [(r.id, r.name) for r in conn.execute(select(tables[name]))]
                    for name in ENTITY_TABLES
                }
                edges = [
                    (name, getattr(r, a), getattr(r, b))
                    for name, (a, b) in EDGE_TABLES.items()
                    for r in conn.execute(select(tables[name]))
                ]
                orphans = {
                    f"{table}.{column}": conn.execute(
                        text(
                            f"SELECT count(*) FROM {table} t LEFT JOIN {parent} p "
                            f"ON t.{column} = p.id WHERE t.{column} IS NOT NULL AND p.id IS NULL"
                        )
                    ).scalar_one()
                    for table, column, parent in REFERENCES
                }
        finally:
            engine.dispose()
        return cls(entities, edges, orphans)


def check(journals: Journals, stored: Stored, setup: set[uuid.UUID]) -> dict[str, int]:
    """Every acknowledged write stored exactly once, nothing stored that no writer attempted,
    each write (a batch too) stored whole or not at all. Returns counts for the report."""
    assert journals.refused == [], journals.refused[:5]
    rows = {i: (table, name) for table, items in stored.entities.items() for i, name in items}
    ids = Counter(i for items in stored.entities.values() for i, _ in items)
    names = Counter((table, name) for table, items in stored.entities.items() for _, name in items)
    edges = Counter(stored.edges)
    attempted_entities = {i: e for a in journals.attempts for i, e in a.entities.items()}
    attempted_edges = {e for a in journals.attempts for e in a.edges}

    assert [i for i, n in ids.items() if n > 1] == []
    assert [e for e, n in edges.items() if n > 1] == []
    assert {k: n for k, n in stored.orphans.items() if n} == {}
    # Nothing that no writer sent.
    unknown = [(i, rows[i]) for i in rows if i not in setup and i not in attempted_entities]
    assert unknown == [], f"{len(unknown)} stored entities nobody wrote: {unknown[:5]}"
    unknown_edges = [e for e in edges if e not in attempted_edges]
    assert unknown_edges == [], f"{len(unknown_edges)} edges nobody wrote: {unknown_edges[:5]}"
    for i, entity in attempted_entities.items():
        if i in rows:
            assert rows[i] == entity, f"{i} was sent as {entity}, stored as {rows[i]}"
            assert names[entity] == 1, f"{entity} stored {names[entity]} times"
    for attempt in journals.attempts:
        present = [i in rows for i in attempt.entities] + [e in edges for e in attempt.edges]
        if attempt.acked:
            missing = [i for i in attempt.entities if i not in rows]
            missing += [e for e in attempt.edges if e not in edges]
            assert missing == [], f"acknowledged {attempt.op} lost {missing}"
        else:
            # A write the server never answered is stored whole or not at all.
            assert all(present) or not any(present), f"stored in part: {attempt}"
    return {
        "attempted": len(journals.attempts),
        "acknowledged": len(journals.acked),
        "rows": len(rows),
        "edges": len(edges),
    }
