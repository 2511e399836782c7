"""What an ML Metadata store becomes in modeltrail.

- a pipeline context (TFX ``pipeline``, Kubeflow's ``system.Pipeline``) -> an experiment and a
  pipeline of the same name;
- a pipeline-run context (TFX ``pipeline_run``, Kubeflow's ``system.PipelineRun``, ``run``) ->
  a run in its pipeline's experiment; executions in no run context go to one run per pipeline
  (or, without one, in an experiment named ``ML Metadata``);
- an execution type -> an executable, and the execution kind of its executions; an execution ->
  an execution, its properties its configuration;
- an artifact type -> an artifact kind ``mlmd.<type>`` whose JSON Schema holds the type's
  properties; an artifact -> an artifact of that kind, its properties its attributes (custom
  properties under ``customProperties``);
- events -> inputs (INPUT, DECLARED_INPUT, INTERNAL_INPUT) and outputs (OUTPUT,
  DECLARED_OUTPUT, INTERNAL_OUTPUT); an execution that read what another wrote is its successor.

Every id is a uuid5 of the node's MLMD table, type, id and creation time, so a node is
recognised in a copy of the store too (a backup, a move to another database), and each entity
also carries its MLMD id in the annotation ``mlmd_id``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from modeltrail.domain import limits
from modeltrail.domain.secrets import MASK
from modeltrail.integrations.mlmd.reader import MlmdType, Node, Snapshot

ID_NAMESPACE = uuid.UUID("6d6c6d64-2d69-6d70-6f72-742d6d6f6465")
PIPELINE_CONTEXTS = {"pipeline", "system.pipeline", "kfp.pipeline"}
RUN_CONTEXTS = {"pipeline_run", "run", "system.pipelinerun", "kfp.pipelinerun", "kfprun"}
READ = {2, 3, 5}  # DECLARED_INPUT, INPUT, INTERNAL_INPUT
WRITTEN = {1, 4, 6}  # DECLARED_OUTPUT, OUTPUT, INTERNAL_OUTPUT
EXECUTION_STATES = {
    0: "UNKNOWN", 1: "NEW", 2: "RUNNING", 3: "COMPLETE", 4: "FAILED", 5: "CACHED", 6: "CANCELED",
}  # fmt: skip
ARTIFACT_STATES = {
    0: "UNKNOWN", 1: "PENDING", 2: "LIVE", 3: "MARKED_FOR_DELETION", 4: "DELETED",
    5: "ABANDONED", 6: "REFERENCE",
}  # fmt: skip
STATUS = {"COMPLETE": "SUCCESS", "CACHED": "SUCCESS", "FAILED": "FAILED", "CANCELED": "FAILED"}
# Custom properties TFX and Kubeflow keep for their own bookkeeping: the same step of two runs
# differs in them always, so they are annotations, not configuration that ``why`` compares.
BOOKKEEPING = frozenset(
    {"pipeline_name", "pipeline_run_id", "run_id", "component_id", "tfx_version",
     "__stateful_working_dir_index__", "display_name", "task_name", "parent_dag_id"}
)  # fmt: skip
DOUBLE_SCHEMA = {"anyOf": [{"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}]}
PROPERTY_SCHEMAS: dict[int, dict[str, Any]] = {
    1: {"type": "integer"},
    2: DOUBLE_SCHEMA,
    3: {"type": "string"},
    4: {},
    5: {"type": "object"},
    6: {"type": "boolean"},
}
FALLBACK_EXPERIMENT = "ML Metadata"
_NOT_IN_KIND = re.compile(r"[^\w.-]")
# Query parameters that carry a credential in a signed URL (S3, GCS, Azure SAS).
_SECRET_PARAMS = re.compile(
    r"(?i)^(x-amz-(signature|credential|security-token)|x-goog-(signature|credential)|sig|"
    r"signature|token|access_token|password|secret|key|apikey|api_key)$"
)


def derived_id(*parts: object) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, "\x1f".join(map(str, parts))))


def node_id(table: str, node: Node, types: dict[int, MlmdType]) -> str:
    return derived_id("mlmd", table, types[node.type_id].name, node.id, node.create_ms)


def kind_name(type_name: str) -> str:
    return ("mlmd." + _NOT_IN_KIND.sub("-", type_name))[: limits.MAX_NAME]


def kind_schema(mlmd_type: MlmdType) -> dict[str, Any]:
    properties = {n: PROPERTY_SCHEMAS[t] for n, t in sorted(mlmd_type.properties.items())}
    properties["customProperties"] = {"type": "object"}
    return {"type": "object", "properties": properties}


def without_credentials(uri: str) -> str:
    """An artifact's URI with its user info and signed query parameters masked; the rest of
    it, which finds the artifact, kept."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return uri
    end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    authority, path = rest[:end], rest[end:]
    if "@" in authority:
        # An access key as user name is as secret as the password beside it: both go.
        authority = f"{MASK}@{authority.rpartition('@')[2]}"
    path, qmark, query = path.partition("?")
    if qmark:
        query, hash_, fragment = query.partition("#")
        params = []
        for pair in query.split("&"):
            key, eq, _ = pair.partition("=")
            params.append(f"{key}={MASK}" if eq and _SECRET_PARAMS.match(key) else pair)
        query = "&".join(params) + hash_ + fragment
    return f"{scheme}://{authority}{path}{qmark}{query}"


def _time(ms: int | None) -> str | None:
    if not ms or ms <= 0:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None  # a time out of any calendar: as if MLMD had none


def _annotation(value: Any) -> str:
    return (value if isinstance(value, str) else str(value))[: limits.MAX_TEXT]


@dataclass
class Plan:
    """What the import writes, in the order it writes it: every entity's body (its id in it),
    each list in an order in which what an entity refers to comes before it."""

    kinds: list[dict[str, Any]] = field(default_factory=list)
    experiments: list[dict[str, Any]] = field(default_factory=list)
    executables: list[dict[str, Any]] = field(default_factory=list)
    pipelines: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    executions: list[dict[str, Any]] = field(default_factory=list)
    # execution id -> the ids of the executions that read what it wrote
    successors: dict[str, list[str]] = field(default_factory=dict)
    skipped_events: int = 0


class _Translator:
    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.types = snap.types
        self.contexts_of: dict[int, list[Node]] = defaultdict(list)
        for context_id, execution_id in snap.associations:
            self.contexts_of[execution_id].append(snap.contexts[context_id])
        for contexts in self.contexts_of.values():
            contexts.sort(key=lambda c: c.id)
        self.plan = Plan()

    def type_name(self, node: Node) -> str:
        return self.types[node.type_id].name

    def is_a(self, context: Node, names: set[str]) -> bool:
        return self.type_name(context).lower() in names

    def common(self, node: Node) -> dict[str, str]:
        notes = {"mlmd_id": str(node.id), "mlmd_type": self.type_name(node)}
        if node.external_id:
            notes["mlmd_external_id"] = node.external_id
        return notes

    # ------------------------------------------------------------ contexts

    def experiments_and_runs(self) -> dict[int, str]:
        """Plan experiments, pipelines and runs; the run of each execution."""
        snap = self.snap
        pipelines = [c for c in snap.contexts.values() if self.is_a(c, PIPELINE_CONTEXTS)]
        runs = [c for c in snap.contexts.values() if self.is_a(c, RUN_CONTEXTS)]
        experiment_of: dict[int, str] = {}
        pipeline_of: dict[int, str] = {}
        for context in pipelines:
            exp = node_id("Context", context, self.types)
            experiment_of[context.id] = exp
            pipeline_of[context.id] = derived_id("mlmd", "pipeline", exp)
            self.plan.experiments.append(
                {
                    "id": exp,
                    "name": context.name or f"pipeline {context.id}",
                    "createTime": _time(context.create_ms),
                    "annotations": {**self.common(context), **self.notes(context)},
                }
            )
        parent_of = defaultdict(list)
        for child, parent in snap.parents:
            parent_of[child].append(parent)
        executions_in: dict[int, list[int]] = defaultdict(list)
        for context_id, execution_id in snap.associations:
            executions_in[context_id].append(execution_id)

        run_of: dict[int, str] = {}
        executables_of: dict[str, set[str]] = defaultdict(set)
        for context in runs:
            pipeline = self.pipeline_context(context, parent_of, executions_in)
            run = node_id("Context", context, self.types)
            members = [snap.executions[e] for e in sorted(executions_in[context.id])]
            for execution in members:
                run_of.setdefault(execution.id, run)
            self.plan.runs.append(
                self.run_body(
                    run,
                    context.name or f"run {context.id}",
                    context,
                    members,
                    self.experiment(pipeline, experiment_of),
                    pipeline_of.get(pipeline) if pipeline is not None else None,
                )
            )
        # Executions in no run: one run per pipeline they are in, or in no pipeline.
        strays: dict[int | None, list[Node]] = defaultdict(list)
        for execution in snap.executions.values():
            if execution.id not in run_of:
                in_pipelines = [
                    c.id for c in self.contexts_of[execution.id] if c.id in experiment_of
                ]
                strays[in_pipelines[0] if in_pipelines else None].append(execution)
        for pipeline, members in strays.items():
            exp = self.experiment(pipeline, experiment_of)
            run = derived_id("mlmd", "run outside pipeline runs", exp)
            for execution in members:
                run_of[execution.id] = run
            name = "executions outside any pipeline run"
            self.plan.runs.append(
                self.run_body(
                    run,
                    name,
                    None,
                    members,
                    exp,
                    None if pipeline is None else pipeline_of[pipeline],
                )
            )
        pipeline_of_run = {r["id"]: r.get("pipeline") for r in self.plan.runs}
        for execution in snap.executions.values():
            pipeline_id = pipeline_of_run.get(run_of[execution.id])
            if pipeline_id:
                executables_of[pipeline_id].add(self.executable_id(execution))
        for context in pipelines:
            pid = pipeline_of[context.id]
            self.plan.pipelines.append(
                {
                    "id": pid,
                    "name": context.name or f"pipeline {context.id}",
                    "createTime": _time(context.create_ms),
                    "executables": sorted(executables_of[pid]),
                    "annotations": self.common(context),
                }
            )
        return run_of

    def pipeline_context(
        self,
        run: Node,
        parent_of: dict[int, list[int]],
        executions_in: dict[int, list[int]],
    ) -> int | None:
        """The pipeline a run context is of: its parent context, else the pipeline context most
        of its executions are in too (TFX and Kubeflow put each execution in both)."""
        for parent in parent_of.get(run.id, []):
            if self.is_a(self.snap.contexts[parent], PIPELINE_CONTEXTS):
                return parent
        votes: Counter[int] = Counter()
        for execution in executions_in[run.id]:
            for context in self.contexts_of[execution]:
                if self.is_a(context, PIPELINE_CONTEXTS):
                    votes[context.id] += 1
        return votes.most_common(1)[0][0] if votes else None

    def experiment(self, pipeline: int | None, experiment_of: dict[int, str]) -> str:
        if pipeline is not None:
            return experiment_of[pipeline]
        exp = derived_id("mlmd", "experiment", FALLBACK_EXPERIMENT)
        if not any(e["id"] == exp for e in self.plan.experiments):
            self.plan.experiments.append(
                {
                    "id": exp,
                    "name": FALLBACK_EXPERIMENT,
                    "annotations": {"mlmd_note": "executions in no pipeline context"},
                }
            )
        return exp

    def run_body(
        self,
        run: str,
        name: str,
        context: Node | None,
        members: list[Node],
        experiment: str,
        pipeline: str | None,
    ) -> dict[str, Any]:
        statuses = {self.status(e) for e in members}
        status = (
            "FAILED"
            if "FAILED" in statuses
            else ("RUNNING" if "RUNNING" in statuses or not members else "SUCCESS")
        )
        start = context.create_ms if context else min((e.create_ms for e in members), default=0)
        end = max((e.update_ms for e in members), default=0)
        body: dict[str, Any] = {
            "id": run,
            "experiment": experiment,
            "name": name,
            "status": status,
            "createTime": _time(start),
            "endTime": _time(end) if status != "RUNNING" else None,
            "configuration": self.configuration(context) if context else {},
            "annotations": (
                {**self.common(context), **self.notes(context)}
                if context
                else {"mlmd_note": "executions in no pipeline-run context"}
            ),
        }
        if pipeline:
            body["pipeline"] = pipeline
        return body

    # ------------------------------------------------------------ properties

    def configuration(self, node: Node) -> dict[str, Any]:
        config = {k: v for k, v in node.custom.items() if k not in BOOKKEEPING and v is not None}
        config.update({k: v for k, v in node.properties.items() if v is not None})
        return config

    def notes(self, node: Node) -> dict[str, str]:
        return {
            f"mlmd_{k}": _annotation(v)
            for k, v in node.custom.items()
            if k in BOOKKEEPING and v is not None
        }

    def status(self, execution: Node) -> str:
        state = EXECUTION_STATES.get(execution.state or 0, "UNKNOWN")
        return STATUS.get(state, "RUNNING")

    # ------------------------------------------------------------ executables, kinds

    def executable_id(self, execution: Node) -> str:
        return self.executable_of_type(self.types[execution.type_id])

    @staticmethod
    def executable_of_type(mlmd_type: MlmdType) -> str:
        return derived_id("mlmd", "executable", mlmd_type.name, mlmd_type.version or "1")

    def executables(self) -> None:
        used = {e.type_id for e in self.snap.executions.values()}
        for mlmd_type in sorted(
            (self.types[t] for t in used), key=lambda t: (t.name, t.version or "")
        ):
            self.plan.executables.append(
                {
                    "id": derived_id(
                        "mlmd", "executable", mlmd_type.name, mlmd_type.version or "1"
                    ),
                    "name": mlmd_type.name,
                    "version": mlmd_type.version or "1",
                    "description": mlmd_type.description,
                    "annotations": {"mlmd_type_id": str(mlmd_type.id)},
                }
            )

    def kinds(self) -> None:
        used = {a.type_id for a in self.snap.artifacts.values()}
        for mlmd_type in sorted((self.types[t] for t in used), key=lambda t: t.name):
            self.plan.kinds.append(
                {
                    "name": kind_name(mlmd_type.name),
                    "description": (
                        mlmd_type.description
                        or f"ML Metadata artifact type {mlmd_type.name}, with its properties"
                    ),
                    "schema": kind_schema(mlmd_type),
                }
            )

    # ------------------------------------------------------------ artifacts, executions

    def artifacts_and_executions(self, run_of: dict[int, str]) -> None:
        snap = self.snap
        reads: dict[int, list[int]] = defaultdict(list)
        writes: dict[int, list[int]] = defaultdict(list)
        keys_in: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        keys_out: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        producer: dict[int, tuple[Node, str]] = {}
        for event in sorted(snap.events, key=lambda e: e.id):
            key = next((p for p in event.path if isinstance(p, str)), "")
            if event.type in READ:
                reads[event.execution_id].append(event.artifact_id)
                keys_in[event.execution_id][key].append(event.artifact_id)
            elif event.type in WRITTEN:
                writes[event.execution_id].append(event.artifact_id)
                keys_out[event.execution_id][key].append(event.artifact_id)
                producer.setdefault(event.artifact_id, (snap.executions[event.execution_id], key))
            else:
                self.plan.skipped_events += 1
        for artifact in sorted(snap.artifacts.values(), key=lambda a: a.id):
            self.plan.artifacts.append(self.artifact_body(artifact, producer.get(artifact.id)))
        artifact_ids = {a.id: node_id("Artifact", a, self.types) for a in snap.artifacts.values()}
        execution_ids = {
            e.id: node_id("Execution", e, self.types) for e in snap.executions.values()
        }
        readers: dict[int, set[int]] = defaultdict(set)
        for execution_id, read in reads.items():
            for artifact_id in read:
                readers[artifact_id].add(execution_id)
        for execution in sorted(snap.executions.values(), key=lambda e: e.id):
            body = self.execution_body(execution, run_of[execution.id])
            body["id"] = execution_ids[execution.id]
            body["inputArtifacts"] = _unique(artifact_ids[a] for a in reads[execution.id])
            body["outputArtifacts"] = _unique(artifact_ids[a] for a in writes[execution.id])
            for direction, keys in (("inputs", keys_in), ("outputs", keys_out)):
                if keys[execution.id]:
                    body["annotations"][f"mlmd_{direction}"] = _annotation(
                        json.dumps(keys[execution.id], sort_keys=True)
                    )
            self.plan.executions.append(body)
            after = sorted(
                {r for a in writes[execution.id] for r in readers[a] if r != execution.id}
            )
            if after:
                self.plan.successors[body["id"]] = [execution_ids[r] for r in after]

    def component(self, execution: Node) -> str:
        """What a pipeline calls the step: TFX's component id or Kubeflow's task name, the name
        of its node context, else the last part of its type's name."""
        for key in ("component_id", "task_name", "display_name"):
            component = execution.custom.get(key)
            if isinstance(component, str) and component:
                return component
        for context in self.contexts_of[execution.id]:
            if self.type_name(context).lower() == "node" and context.name:
                return context.name.rsplit(".", 1)[-1]
        return self.type_name(execution).rsplit(".", 1)[-1]

    def execution_body(self, execution: Node, run: str) -> dict[str, Any]:
        state = EXECUTION_STATES.get(execution.state or 0, "UNKNOWN")
        status = self.status(execution)
        notes = {**self.common(execution), "mlmd_state": state, **self.notes(execution)}
        for context in self.contexts_of[execution.id]:
            if not self.is_a(context, PIPELINE_CONTEXTS | RUN_CONTEXTS):
                notes[f"mlmd_context_{self.type_name(context)}"[: limits.MAX_NAME]] = (
                    context.name or str(context.id)
                )
        return {
            "run": run,
            "executable": self.executable_id(execution),
            "name": self.component(execution)[: limits.MAX_NAME],
            # The type's last part (``Trainer`` of ``tfx.components.trainer.component.Trainer``):
            # the whole name is the executable's.
            "kind": self.type_name(execution).rsplit(".", 1)[-1][: limits.MAX_NAME],
            "status": status,
            "startTime": _time(execution.create_ms),
            "endTime": _time(execution.update_ms) if status != "RUNNING" else None,
            "configuration": self.configuration(execution),
            "annotations": notes,
        }

    def artifact_body(self, artifact: Node, made_by: tuple[Node, str] | None) -> dict[str, Any]:
        mlmd_type = self.types[artifact.type_id]
        if artifact.name:
            name = artifact.name
        elif made_by is not None:
            name = f"{self.component(made_by[0])}.{made_by[1] or mlmd_type.name}"
        else:
            name = f"{mlmd_type.name}-{artifact.id}"
        attributes: dict[str, Any] = {k: v for k, v in artifact.properties.items() if v is not None}
        custom = {k: v for k, v in artifact.custom.items() if v is not None}
        if custom:
            attributes["customProperties"] = custom
        return {
            "id": node_id("Artifact", artifact, self.types),
            "name": name[: limits.MAX_NAME],
            "kind": kind_name(mlmd_type.name),
            "createTime": _time(artifact.create_ms),
            "uri": without_credentials(artifact.uri) if artifact.uri else None,
            "attributes": attributes,
            "annotations": {
                **self.common(artifact),
                "mlmd_state": ARTIFACT_STATES.get(artifact.state or 0, "UNKNOWN"),
            },
        }


def _unique(ids: Any) -> list[str]:
    return list(dict.fromkeys(ids))


def translate(snap: Snapshot) -> Plan:
    """The plan of the whole store (what is already imported is left out later)."""
    translator = _Translator(snap)
    translator.kinds()
    translator.executables()
    run_of = translator.experiments_and_runs()
    translator.artifacts_and_executions(run_of)
    return translator.plan
