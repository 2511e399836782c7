"""Writes gathered on the client and sent together, as one ``POST /api/v1/batch``.

A tracked step makes about ten writes (the execution, its edges, its artifacts, its end); sent
one request each they cost more than the step's metadata is worth. Inside a run the client
keeps them here and sends them in one request and one transaction. The batch says the same
thing as the single writes, in fewer operations: an entity's later updates and links are folded
into its create, and the creates are put in an order where every reference points back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from modeltrail.domain.entities import CREATE_ORDER, ENTITIES
from modeltrail.sdk.artifacts import Artifact

API = "/api/v1"
PLURAL = {name: entity.plural for name, entity in ENTITIES.items()}
# Creates are sent in ``CREATE_ORDER``, where each kind of entity refers only to kinds before it
# (a pipeline to executables, a run to its pipeline and trigger event, an execution to all of
# them), so that they never point forward. Artifacts refer to earlier artifacts (a metric to its
# model) and executions to earlier executions (``reusedFrom``); within a kind the order of the
# writes is kept.
# A link's lists, and where the attach endpoints take each of them.
LINKS = {
    "inputArtifacts": ("inputs", "artifacts"),
    "outputArtifacts": ("outputs", "artifacts"),
    "successors": ("successors", "executions"),
}


@dataclass
class Write:
    """One write of an entity: a ``create``, an ``update`` (PATCH) or a ``link`` (attach)."""

    op: str
    entity: str
    id: str
    body: dict[str, Any]

    def requests(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """The same write as single requests: (method, path, body)."""
        plural = PLURAL[self.entity]
        if self.op == "create":
            yield "POST", f"{API}/{plural}", self.body
        elif self.op == "update":
            yield "PATCH", f"{API}/{plural}/{self.id}", self.body
        else:
            for name, ids in self.body.items():
                suffix, key = LINKS[name]
                yield "POST", f"{API}/{plural}/{self.id}/{suffix}", {key: ids}


def _add_links(body: dict[str, Any], links: dict[str, list[str]]) -> None:
    for name, ids in links.items():
        body[name] = list(dict.fromkeys([*body.get(name, []), *ids]))


@dataclass
class WriteBuffer:
    """The writes not sent yet, in the order they were made. Another thread of the pipeline
    may send them (any write outside a run sends them first): a lock keeps each write once."""

    writes: list[Write] = field(default_factory=list)
    # Artifacts created by the writes, by what makes two of them the same (see ``Trail.store``).
    artifacts: dict[tuple[str, ...], Artifact] = field(default_factory=dict)
    # The entities the writes change rather than create, asked about on every stored artifact.
    changed: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.writes)

    def add(
        self, write: Write, *, same_as: tuple[str, ...] = (), artifact: Artifact | None = None
    ) -> None:
        with self.lock:
            self.writes.append(write)
            if write.op != "create":
                self.changed.add(write.entity)
            if same_as and artifact is not None:
                self.artifacts.setdefault(same_as, artifact)

    def changes(self, entity: str) -> bool:
        """Whether a kept write changes a stored ``entity`` (updates or links one)."""
        with self.lock:
            return entity in self.changed

    def take(self) -> list[Write]:
        """The writes, which leave the buffer."""
        with self.lock:
            writes, self.writes = self.writes, []
            self.artifacts.clear()
            self.changed.clear()
            return writes

    def put_back(self, writes: list[Write]) -> None:
        """Writes that could not be sent, in front of any made since."""
        with self.lock:
            self.writes[:0] = writes
            self.changed.update(w.entity for w in writes if w.op != "create")


def operations(writes: list[Write]) -> list[dict[str, Any]]:
    """The batch operations that store what ``writes`` store, one transaction's worth.

    Every entity created here is one create holding its final state; entities created before
    get one link and one update each. A successor created later in the same batch cannot be in
    its predecessor's create (it would point forward): it is linked after the creates.
    """
    creates: dict[str, Write] = {}
    changes: dict[str, dict[str, Write]] = {}  # id -> {"link": ..., "update": ...}
    for write in writes:
        created = creates.get(write.id)
        if write.op == "create":
            creates[write.id] = Write("create", write.entity, write.id, dict(write.body))
        elif created is not None and write.op == "update":
            created.body.update(write.body)
        elif created is not None:
            _add_links(created.body, write.body)
        else:
            change = changes.setdefault(write.id, {})
            merged = change.setdefault(write.op, Write(write.op, write.entity, write.id, {}))
            if write.op == "update":
                merged.body.update(write.body)
            else:
                _add_links(merged.body, write.body)
    position = {wid: i for i, wid in enumerate(creates)}
    ordered = sorted(creates.values(), key=lambda w: CREATE_ORDER.index(w.entity))
    for write in ordered:
        successors = write.body.get("successors") or []
        later = [s for s in successors if position.get(s, -1) > position[write.id]]
        if later:
            earlier = [s for s in successors if s not in later]
            if earlier:
                write.body["successors"] = earlier
            else:
                del write.body["successors"]
            change = changes.setdefault(write.id, {})
            link = change.setdefault("link", Write("link", "execution", write.id, {}))
            _add_links(link.body, {"successors": later})
    ops = [{"op": "create", "entity": w.entity, "id": w.id, "body": w.body} for w in ordered]
    for change in changes.values():
        for op in ("link", "update"):
            if op in change:
                w = change[op]
                ops.append({"op": op, "entity": w.entity, "id": w.id, "body": w.body})
    return ops


__all__ = ["Write", "WriteBuffer", "operations"]
