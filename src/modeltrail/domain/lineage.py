"""What the lineage questions answer (FR2-FR8, FR10): graphs, impact, diffs, recipes, traces.

Graph nodes share one shape whatever their type; fields that do not apply to a type are left
out of the JSON (the routes answer without nulls), so a UI can draw any of these graphs with
one renderer.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from modeltrail.domain.models import (
    Configuration,
    IdList,
    Name,
    Schema,
    ShortText,
    Uri,
    Version,
    WriteSchema,
)
from modeltrail.domain.registry import Deployment


class _IdTexts(dict[Any, Any]):
    """Each id's canonical text, made once: from a UUID, from the store's 32 hex digits, or
    the text itself. Looked up through ``__getitem__``, a C call, where a Python function
    would cost a call per id: a large answer (the trace of a thousand runs) holds tens of
    thousands of ids, a few thousand of them distinct. Bounded: emptied when full."""

    LIMIT = 1 << 17

    def __missing__(self, value: Any) -> Any:
        if isinstance(value, uuid.UUID):
            text: Any = str(value)
        elif isinstance(value, str) and len(value) == 32:  # the store's hex form
            text = f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
        else:
            text = value
        if len(self) >= self.LIMIT:
            self.clear()
        self[value] = text
        return text


# An id in an answer of this module: a UUID's canonical text, kept as text so that none costs
# the making of a uuid.UUID object. The JSON and its schema are those of a uuid.
id_text = _IdTexts().__getitem__
NodeId = Annotated[
    str,
    BeforeValidator(id_text),
    WithJsonSchema({"type": "string", "format": "uuid"}),
]

NodeType = Literal["artifact", "execution", "run", "event", "experiment", "pipeline"]
EdgeType = Literal["input", "output", "successor", "reference", "trigger", "contains", "derived"]


class ExecutableRef(Schema):
    id: NodeId
    name: str
    version: str
    uri: str | None = None


class FlagMark(Schema):
    artifact: NodeId
    reason: str
    create_time: datetime


class Node(Schema):
    """An artifact, execution, run or trigger event in a graph.

    Artifacts: ``artifacts`` lists the equal artifacts (same fingerprint) merged into this
    node, ``runs`` the runs that read or wrote them, ``flagged`` the flag on it, and
    ``affectedBy`` the flagged artifacts upstream of it. In a lineage graph, ``more`` counts
    the node's neighbours further from the root that the answer left out, and an execution's
    ``runName`` names its run (``run``): what tells apart the steps of one executable that
    many runs ran.
    """

    id: NodeId
    type: NodeType
    name: str
    depth: int | None = None
    kind: str | None = None
    version: str | None = None
    uri: str | None = None
    fingerprint: str | None = None
    status: str | None = None
    create_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    attributes: dict[str, Any] | None = None
    annotations: dict[str, str] | None = None
    configuration: dict[str, Any] | None = None
    executable: ExecutableRef | None = None
    run: NodeId | None = None
    run_name: str | None = None
    experiment: NodeId | None = None
    event: NodeId | None = None
    artifacts: list[NodeId] | None = None
    runs: list[NodeId] | None = None
    flagged: FlagMark | None = None
    affected_by: list[NodeId] | None = None
    more: int | None = None


class Edge(Schema):
    """``input``: artifact -> execution; ``output``: execution -> artifact; ``successor``:
    execution -> execution; ``reference``: artifact -> the artifact that refers to it (a
    metric); ``trigger``: event -> run; ``contains``: run -> execution; ``derived``:
    artifact -> artifact through ``execution`` (trace)."""

    source: NodeId
    target: NodeId
    type: EdgeType
    execution: NodeId | None = None
    run: NodeId | None = None


class RunDag(Schema):
    run: Node
    nodes: list[Node]
    edges: list[Edge]


class LineageGraph(Schema):
    """The nodes nearest to ``root``, breadth first, at most ``maxNodes`` of them.

    ``truncated``: the depth limit left nodes out. ``limited``: the node budget did (the walk
    stopped before the depth limit, so ``truncated`` is then false). A node with ``more`` has
    that many neighbours further from the root that are not in this answer: ask for the
    lineage from that node to see them. ``matched``: asked with ``match``, how many nodes of
    the lineage (to ``depth``) hold it, those this answer carries and those it left out.
    """

    root: NodeId
    direction: Literal["upstream", "downstream"]
    depth: int
    merge_equal: bool
    truncated: bool
    max_nodes: int | None = None
    limited: bool = False
    matched: int | None = None
    nodes: list[Node]
    edges: list[Edge]


# ---------------------------------------------------------------- impact and flags


class AffectedArtifact(Schema):
    """``path``: the node ids from the root to this artifact, executions in between (every
    execution is in ``Impact.executions``)."""

    artifact: Node
    depth: int
    path: list[NodeId]


class Impact(Schema):
    """Everything derived from ``root``: what must go if it goes, what is suspect if it is
    bad."""

    root: Node
    flag: FlagMark | None = None
    truncated: bool
    artifacts: list[AffectedArtifact]
    executions: list[Node]
    deployments: list[Node]
    runs: list[NodeId]
    counts: dict[str, int]


class FlagCreate(WriteSchema):
    reason: str = Field(min_length=1, max_length=4096)


class Flag(Schema):
    artifact: Node
    reason: str
    create_time: datetime
    affected: list[AffectedArtifact]


class FlagList(Schema):
    items: list[Flag]


# ---------------------------------------------------------------- compare and diff


class FieldComparison(Schema):
    field: str
    a: Any = None
    b: Any = None
    equal: bool


class Comparison(Schema):
    kind: str
    a: Node
    b: Node
    equal: bool
    differences: int
    fields: list[FieldComparison]


class Change(Schema):
    field: str
    before: Any = None
    after: Any = None


class StepRef(Schema):
    kind: str
    executable: str
    level: int


class Difference(Schema):
    """One thing that differs between the lineage of ``artifact`` and of ``against``:
    ``before`` is the value in the lineage of ``against``, ``after`` in that of ``artifact``.
    ``derived`` marks a difference explained by a difference further upstream."""

    category: Literal["input", "executable", "configuration", "runConfiguration", "trigger", "step"]
    step: StepRef | None = None
    subject: str
    before_id: NodeId | None = None
    after_id: NodeId | None = None
    changes: list[Change]
    derived: bool = False
    summary: str


class AlignedStep(Schema):
    kind: str
    executable: str
    level: int
    artifact_execution: NodeId | None = None
    against_execution: NodeId | None = None


class LineageDiff(Schema):
    artifact: Node
    against: Node
    differences: list[Difference]
    steps: list[AlignedStep]
    truncated: bool


# ---------------------------------------------------------------- reuse (FR6)


class ExecutableSpec(WriteSchema):
    name: Name
    version: Version = "1"
    uri: Uri | None = None


class CacheLookup(WriteSchema):
    executable: ExecutableSpec
    kind: ShortText
    configuration: Configuration = Field(default_factory=dict)
    input_artifacts: IdList = Field(default_factory=list)


class CacheHit(Schema):
    fingerprint: str
    execution: Node
    outputs: list[Node]


class ReuseRow(Schema):
    executable: ExecutableRef
    executions: int
    successful: int
    distinct_work: int
    repeats: int
    reusable: int
    reused: int


class ReuseReport(Schema):
    items: list[ReuseRow]
    totals: dict[str, int]


# ---------------------------------------------------------------- history (FR7)


class Trigger(Schema):
    id: NodeId
    name: str
    cause: str | None = None
    attributes: dict[str, Any]
    annotations: dict[str, str]


class RunHistory(Schema):
    id: NodeId
    name: str
    status: str
    create_time: datetime
    end_time: datetime | None = None
    trigger: Trigger | None = None
    executions: int
    first_failed: Node | None = None
    deployed: bool
    deployments: list[Deployment] = Field(
        default_factory=list,
        description="moves of the production alias to a model version this run made",
    )


class History(Schema):
    subject: Node
    runs: list[RunHistory]
    last_deploy: RunHistory | None = None
    last_deployment: Deployment | None = Field(
        default=None,
        description="when the last deployment was a move of the production alias: that move",
    )
    runs_since_last_deploy: int
    since_last_deploy: bool
    counts_by_cause: dict[str, int]
    counts_by_status: dict[str, int]


# ---------------------------------------------------------------- reproduce (FR8)


class RecipeArtifact(Schema):
    id: NodeId
    name: str
    kind: str
    uri: str | None = None
    fingerprint: str
    produced_by_step: int | None = None


class RecipeStep(Schema):
    order: int
    execution: Node
    executable: ExecutableRef
    source_hash: str | None = None
    command: str | None = None
    configuration: dict[str, Any]
    run_configuration: dict[str, Any]
    inputs: list[RecipeArtifact]
    outputs: list[RecipeArtifact]


class Gap(Schema):
    step: int | None = None
    what: str
    detail: str
    blocking: bool


class Recipe(Schema):
    artifact: Node
    steps: list[RecipeStep]
    complete: bool
    gaps: list[Gap]
    truncated: bool


# ---------------------------------------------------------------- trace (FR10)


class TraceExecution(Schema):
    id: NodeId
    name: str
    kind: str
    status: str
    executable: ExecutableRef
    start_time: datetime | None = None
    end_time: datetime | None = None
    inputs: list[NodeId]
    outputs: list[NodeId]


class ParameterChange(Schema):
    """A parameter of a run that differs from the run before it: its new ``value`` (absent
    when it is null), or ``removed``. ``key`` is its path in the configuration, dotted."""

    key: str
    value: Any = None
    removed: bool | None = None


class TraceRun(Schema):
    """``parameterChanges``: the parameters that differ from the run before it (absent when
    none do, and for the oldest run of the experiment)."""

    id: NodeId
    name: str
    status: str
    create_time: datetime
    end_time: datetime | None = None
    trigger: Trigger | None = None
    parameter_changes: list[ParameterChange] | None = None
    executions: list[TraceExecution]
    artifacts: list[NodeId]


class Trace(Schema):
    """``runs`` in time order; ``artifacts`` merged across runs (node ids are what
    ``TraceExecution.inputs``/``outputs`` and ``edges`` name). ``edges``, the ``derived``
    edges from each execution's inputs to its outputs, only when asked for."""

    experiment: Node
    runs: list[TraceRun]
    artifacts: list[Node]
    edges: list[Edge] | None = None
    truncated: bool
