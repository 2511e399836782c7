"""The nearest part of a lineage graph: at most a budget of nodes, breadth first from the
root, each node at the edge of the answer saying how many of its neighbours it leaves out.

A graph of thousands of nodes is neither read nor drawn whole: a view asks for the nodes
closest to where the reader stands and expands from there. So that the walk itself stays
bounded, it goes only as deep as the budget needs (``reach``), and the graph is built for
that depth before the breadth-first cut.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Callable
from typing import Any, Literal

from modeltrail.domain import limits
from modeltrail.domain.errors import InvalidInput
from modeltrail.services.common import check_query_range
from modeltrail.store import lineage as store
from modeltrail.store.lineage import Key, Walk
from modeltrail.store.records import ArtifactRecord, Id

Direction = Literal["upstream", "downstream"]
DEFAULT_MAX_NODES = limits.DEFAULT_LINEAGE_NODES
# The first depth tried: a hub (a dataset a thousand runs read) fills the budget at once.
FIRST_REACH = 1
# The edges a walk follows away from the root (upstream, against their direction), and those
# that attach a step's run and the run's trigger (upstream only).
_STEPS = frozenset({"input", "output", "reference"})
_ATTACHED = frozenset({"contains", "trigger"})


def check_match(match: str | None) -> str | None:
    """The text a lineage's nodes are searched for (``match``), lower-cased; None when there is
    none. A 422 naming it when it is blank, longer than ``MAX_NAME`` or holds a control
    character: no name holds one."""
    if match is None:
        return None
    problem = (
        "must not be blank"
        if not match.strip()
        else f"must be at most {limits.MAX_NAME} characters"
        if len(match) > limits.MAX_NAME
        else "must not hold a control character"
        if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in match)
        else None
    )
    if problem:
        raise InvalidInput(
            f"match {problem}",
            errors=[{"pointer": "/match", "in": "query", "detail": problem}],
        )
    return match.strip().lower()


def matches(node: dict[str, Any], match: str) -> bool:
    """Whether a node's name or kind holds ``match`` (lower-cased), as the lineage view's
    search box finds the nodes it has."""
    return match in f"{node.get('name') or ''} {node.get('kind') or ''}".lower()


def check_max_nodes(max_nodes: int) -> int:
    high = limits.MAX_LINEAGE_NODES
    return check_query_range("maxNodes", max_nodes, high, f"between 1 and {high}")


def next_reach(reach: int, depth: int, found: int, max_nodes: int) -> int:
    """The depth to walk to next when a walk to ``reach`` found ``found`` nodes, fewer than
    ``max_nodes``: at least four times deeper, and as deep as the budget needs if the
    depths ahead hold as many nodes each as those walked did, so that a chain is walked
    twice, not once per deepening."""
    return min(depth, max(reach * 4, reach * max_nodes // max(found, 1)))


def trim(
    walk: Walk,
    rows: list[ArtifactRecord],
    reach: int,
    max_nodes: int,
    key_of: Callable[[ArtifactRecord], Key],
) -> tuple[int, Walk, list[ArtifactRecord]]:
    """The walk cut back to the shallowest depth whose artifacts alone fill ``max_nodes``
    (nothing beyond it can be among the nearest nodes), with that depth; or as it is."""
    total = 0
    per_depth = Counter(walk.depths.values())
    for d in sorted(per_depth):
        total += per_depth[d]
        if total >= max_nodes:
            if d >= reach:
                break
            depths = {k: v for k, v in walk.depths.items() if v <= d}
            return d, Walk(depths, truncated=True), [r for r in rows if key_of(r) in depths]
    return reach, walk, rows


def nearest(
    session: Any,
    nodes: dict[Id, dict[str, Any]],
    edges: dict[tuple[Id, Id, str], None],
    *,
    root: Id,
    direction: Direction,
    max_nodes: int,
    edge_depth: int | None,
    match: str | None = None,
) -> tuple[dict[Id, dict[str, Any]], dict[tuple[Id, Id, str], None], bool, int | None]:
    """The ``max_nodes`` nodes nearest to ``root`` and the edges among them, and whether any
    node was left out. An execution comes with what it leads to (its outputs downstream, its
    inputs, run and trigger upstream); of equally near nodes, the newest first. Each node
    kept gets ``more``: its neighbours away from the root that were left out, counting for
    the artifacts at ``edge_depth`` (the walk stopped there, with more beyond) the steps
    the store has on from them. With ``match`` (``check_match``), the nodes that match come
    first, the nearest first, each with the nodes on its way from the root; then the nearest
    others. The last value: how many nodes match (None without ``match``)."""
    away: dict[Id, list[Id]] = defaultdict(list)
    for source, target, kind in edges:
        if kind in _STEPS or (direction == "upstream" and kind in _ATTACHED):
            a, b = (source, target) if direction == "downstream" else (target, source)
            away[a].append(b)
    order = {key: i for i, key in enumerate(nodes)}

    def nearness(key: Id) -> tuple[int, float, int]:
        node = nodes[key]
        created = node.get("create_time")
        return (
            node.get("depth") or 0,
            -created.timestamp() if created is not None else 0.0,
            order[key],
        )

    kept: dict[Id, None] = {root: None}
    queue = deque([root])
    if len(nodes) <= max_nodes:
        kept = dict.fromkeys(nodes)
        queue.clear()
    else:
        for targets in away.values():
            targets.sort(key=nearness)

    def keep(key: Id) -> None:
        kept[key] = None
        queue.append(key)

    matched: int | None = None
    if match is not None:
        found = [key for key, node in nodes.items() if matches(node, match)]
        matched = len(found)
        if queue:
            # The way to each node from the root, breadth first: the nearest matches first.
            via: dict[Id, Id | None] = {root: None}
            ahead = deque([root])
            while ahead:
                n = ahead.popleft()
                for m in away[n]:
                    if m not in via:
                        via[m] = n
                        ahead.append(m)
            rank = {key: i for i, key in enumerate(via)}
            for key in sorted((k for k in found if k in via), key=rank.__getitem__):
                way: list[Id] = []
                step: Id | None = key
                while step is not None and step not in kept:
                    way.append(step)
                    step = via[step]
                if len(kept) + len(way) > max_nodes:
                    break
                kept.update(dict.fromkeys(reversed(way)))

    while queue and len(kept) < max_nodes:
        for m in away[queue.popleft()]:
            if len(kept) >= max_nodes:
                break
            if m in kept:
                continue
            keep(m)
            if nodes[m]["type"] == "execution":
                for o in away[m]:
                    if o not in kept and len(kept) < max_nodes:
                        keep(o)
    steps_on: dict[Id, int] = {}
    if edge_depth is not None:
        last = {
            key: node.get("artifacts") or [key]
            for key, node in nodes.items()
            if key in kept and node["type"] != "execution" and node.get("depth") == edge_depth
        }
        counts = store.next_step_counts(
            session, [m for members in last.values() for m in members], direction=direction
        )
        steps_on = {key: sum(counts.get(m, 0) for m in members) for key, members in last.items()}
    if len(kept) == len(nodes) and not steps_on:
        return nodes, edges, False, matched
    out: dict[Id, dict[str, Any]] = {}
    for key in nodes:
        if key in kept:
            node = nodes[key]
            left = sum(1 for m in away[key] if m not in kept and nodes[m]["type"] != "run")
            left += steps_on.get(key, 0)
            if left:
                node["more"] = left
            out[key] = node
    kept_edges = {e: None for e in edges if e[0] in kept and e[1] in kept}
    return out, kept_edges, len(kept) < len(nodes), matched
