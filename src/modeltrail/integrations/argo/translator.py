"""Argo Workflows in: a Workflow object (as ``GET /api/v1/workflows/{ns}/{name}`` returns it)
becomes a run with its pipeline, executables, executions, artifacts and trigger.

- the WorkflowTemplate / CronWorkflow / generateName -> experiment and pipeline;
- every container or script template -> an executable (image, command), versioned by its spec;
- the Workflow -> a run (phase, times, arguments as configuration);
- every Pod node -> an execution (phase, times, input parameters as configuration), with its
  successors from ``children`` (through step groups, DAG and retry nodes);
- input and output artifacts -> artifacts, keys resolved against the artifact repository, so
  that an artifact one step writes and another reads is one artifact (the artifact flow);
- the trigger from what Argo records: Argo Events sensor labels and the event passed as a
  parameter (calendar -> schedule, MinIO/S3 -> data change, GitHub push -> code change,
  webhook -> external), CronWorkflow labels (schedule), resubmission, creator labels (manual).

Every id is a uuid5 of Argo's own names, so importing the same workflow again updates what is
stored and never duplicates it.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from modeltrail.domain import limits
from modeltrail.domain import models as m
from modeltrail.domain.documents import (
    as_text,
    fitted,
    refused_at,
    time_or_none,
)
from modeltrail.domain.errors import Conflict, Unavailable
from modeltrail.domain.fingerprint import canonical_json
from modeltrail.integrations.argo.trigger import trigger_of
from modeltrail.integrations.argo.workflow import (
    artifact_location,
    check_workflow,
    node_pointer,
    parameters,
    pipeline_name,
    repository,
    templates,
    unlisted_children,
)
from modeltrail.services import access
from modeltrail.services.metadata import Metadata, Transaction
from modeltrail.store.tables import RunRow

ID_NAMESPACE = uuid.UUID("a7f0c2de-3b4d-4e1a-8c5f-6172676f7766")

PHASES = {
    "Succeeded": m.Status.SUCCESS,
    "Failed": m.Status.FAILED,
    "Error": m.Status.FAILED,
    "Running": m.Status.RUNNING,
    "Pending": m.Status.RUNNING,
}


def derived_id(*parts: str) -> uuid.UUID:
    return uuid.uuid5(ID_NAMESPACE, "\x1f".join(parts))


def _name(value: str) -> str:
    return fitted(str(value), limits.MAX_NAME) or "-"


# ---------------------------------------------------------------- writing


def _upsert(
    tx: Transaction,
    entity: str,
    entity_id: uuid.UUID,
    create: m.WriteSchema,
    update_model: type[m.WriteSchema],
    fields: dict[str, Any],
) -> Any:
    """Create, or update the fields that differ from what is stored."""
    current = tx.read(entity, entity_id)
    if current is None:
        return tx.create(entity, create)
    stored = current.model_dump()
    changed = {k: v for k, v in fields.items() if _norm(stored.get(k)) != _norm(v)}
    if not changed:
        return current
    # The workflow is the authority on how its runs and steps ended (a retry runs them again).
    mirror = entity in ("run", "execution")
    return tx.update(entity, entity_id, update_model(**changed), mirror=mirror)


def _norm(value: Any) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return canonical_json([str(v) if isinstance(v, uuid.UUID) else v for v in value]).decode()
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return canonical_json(value).decode()


def _executable(
    tx: Transaction, namespace: str, pipeline: str, name: str, template: dict[str, Any]
) -> uuid.UUID:
    body = template.get("container") or template.get("script") or {}
    spec = {k: body.get(k) for k in ("image", "command", "args", "source") if body.get(k)}
    version = hashlib.sha256(canonical_json(spec)).hexdigest()[:12] if spec else "1"
    xid = derived_id("executable", namespace, pipeline, name, version)
    annotations = {"argo.template": name}
    for key, value in spec.items():
        annotations[f"argo.{key}"] = as_text(value)
    command = " ".join(str(c) for c in [*(body.get("command") or []), *(body.get("args") or [])])
    fields = {
        "name": _name(name),
        "version": version,
        "uri": (spec.get("image") or f"argo-template:{name}")[: limits.MAX_URI],
        "description": as_text(command) if command else None,
        "annotations": annotations,
    }
    _upsert(tx, "executable", xid, m.ExecutableCreate(id=xid, **fields), m.ExecutableUpdate, fields)
    return xid


def _artifact(
    tx: Transaction,
    run_key: str,
    node_id: str,
    artifact: dict[str, Any],
    repository: dict[str, Any],
    *,
    producer: str | None,
) -> uuid.UUID:
    location = artifact_location(artifact, repository)
    name = artifact.get("name") or "artifact"
    aid = (
        derived_id("artifact", location)
        if location
        else derived_id("artifact", run_key, node_id, name)
    )
    attributes: dict[str, Any] = {
        "type": next(
            (
                k
                for k in ("s3", "gcs", "oss", "azure", "http", "git", "hdfs", "artifactory", "raw")
                if k in artifact
            ),
            "argo",
        )
    }
    for key in ("path", "archive", "optional", "mode"):
        if key in artifact:
            attributes[key] = artifact[key]
    if isinstance(artifact.get("raw"), dict):
        attributes["data"] = artifact["raw"].get("data")
    annotations = {"argo.artifact": _name(name)}
    if producer:
        annotations["argo.producedBy"] = producer
    current = tx.read("artifact", aid)
    if current is None:
        tx.create(
            "artifact",
            m.ArtifactCreate(
                id=aid,
                name=_name(name),
                kind="dataset",
                uri=location,
                attributes=attributes,
                annotations=annotations,
                description="logs of the step" if name == "main-logs" else None,
            ),
        )
    else:
        # The same artifact seen from its reader and its writer: keep what each knows.
        merged_attrs = {**attributes, **current.attributes}
        merged_notes = {**current.annotations, **annotations}
        if merged_attrs != current.attributes or merged_notes != current.annotations:
            tx.update(
                "artifact", aid, m.ArtifactUpdate(attributes=merged_attrs, annotations=merged_notes)
            )
    return aid


def _pod_successors(nodes: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """For each pod, the pods that directly follow it, looking through group and retry nodes."""

    def pods_below(node_id: str, seen: set[str]) -> list[str]:
        if node_id in seen or node_id not in nodes:
            return []
        seen.add(node_id)
        node = nodes[node_id]
        if node.get("type") == "Pod":
            return [node_id]
        out: list[str] = []
        for child in node.get("children") or []:
            out += pods_below(child, seen)
        return out

    result = {}
    for node_id, node in nodes.items():
        if node.get("type") == "Pod":
            found: list[str] = []
            for child in node.get("children") or []:
                found += pods_below(child, set())
            result[node_id] = list(dict.fromkeys(f for f in found if f != node_id))
    return result


def _apply(tx: Transaction, wf: dict[str, Any]) -> dict[str, Any]:
    meta, spec, status = wf["metadata"], wf.get("spec") or {}, wf.get("status") or {}
    namespace = meta.get("namespace") or "default"
    run_key = meta.get("uid") or f"{namespace}/{meta['name']}"
    pname = pipeline_name(wf)
    labels = meta.get("labels") or {}

    experiment = derived_id("experiment", namespace, pname)
    if tx.read("experiment", experiment) is None:
        with refused_at("/metadata"):
            tx.create(
                "experiment",
                m.ExperimentCreate(
                    id=experiment, name=_name(pname), annotations={"argo.namespace": namespace}
                ),
            )
    known = templates(wf)
    nodes: dict[str, dict[str, Any]] = status.get("nodes") or {}
    executables: dict[str, uuid.UUID] = {}

    def executable_for(template_name: str) -> uuid.UUID:
        if template_name not in executables:
            with refused_at("/spec/templates"):
                executables[template_name] = _executable(
                    tx, namespace, pname, template_name, known.get(template_name, {})
                )
        return executables[template_name]

    for tname, template in known.items():
        if template.get("container") or template.get("script"):
            executable_for(tname)
    pipeline = derived_id("pipeline", namespace, pname)
    pipe_fields = {
        "name": _name(pname),
        "uri": f"argo://{namespace}/{pname}",
        "executables": sorted(executables.values(), key=str),
        "annotations": {"argo.namespace": namespace},
    }
    pipe = tx.read("pipeline", pipeline)
    if pipe is not None:
        # Templates of earlier versions stay listed: the pipeline is the union of what ran.
        pipe_fields["executables"] = sorted({*pipe.executables, *executables.values()}, key=str)
    with refused_at("/metadata"):
        _upsert(
            tx,
            "pipeline",
            pipeline,
            m.PipelineCreate(id=pipeline, **pipe_fields),
            m.PipelineUpdate,
            pipe_fields,
        )

    run_id = derived_id("run", run_key)
    trigger = trigger_of(wf)
    event_id = None
    if trigger is not None:
        cause, details = trigger
        event_id = derived_id("trigger", run_key)
        attrs = {
            "cause": cause,
            "source": "argo",
            **{k: v for k, v in details.items() if v is not None},
        }
        fields: dict[str, Any] = {"name": _name(f"{cause}: {meta['name']}"), "attributes": attrs}
        with refused_at("/metadata"):
            _upsert(
                tx,
                "artifact",
                event_id,
                m.ArtifactCreate(id=event_id, kind="event", **fields),
                m.ArtifactUpdate,
                fields,
            )
    started = time_or_none(status.get("startedAt")) or time_or_none(meta.get("creationTimestamp"))
    run_status = PHASES.get(status.get("phase") or "", m.Status.RUNNING)
    annotations = {
        "argo.namespace": namespace,
        "argo.workflow": meta["name"],
        "argo.uid": str(meta.get("uid") or ""),
        "argo.phase": str(status.get("phase") or ""),
    }
    if status.get("message"):
        annotations["argo.message"] = as_text(status["message"])
    unlisted = unlisted_children(nodes)
    if unlisted:
        annotations["argo.unlistedChildren"] = json.dumps(unlisted)
    for key, value in labels.items():
        if not key.startswith("workflows.argoproj.io/"):
            annotations[fitted(f"label.{key}", limits.MAX_NAME)] = as_text(value)
    run_fields = {
        "name": _name(meta["name"]),
        "status": run_status,
        "end_time": time_or_none(status.get("finishedAt"))
        if run_status != m.Status.RUNNING
        else None,
        "configuration": parameters((spec.get("arguments") or {}).get("parameters")),
        "pipeline": pipeline,
        "event": event_id,
        "annotations": annotations,
        "uri": f"argo://{namespace}/workflows/{meta['name']}",
    }
    run_sources = {
        "configuration": "/spec/arguments/parameters",
        "createTime": "/status/startedAt",
        "endTime": "/status/finishedAt",
        "annotations": "/metadata/labels",
    }
    with refused_at("/metadata", run_sources):
        _upsert(
            tx,
            "run",
            run_id,
            m.RunCreate(id=run_id, experiment=experiment, create_time=started, **run_fields),
            m.RunUpdate,
            run_fields,
        )
    if started is not None:
        row = tx.session.get(RunRow, run_id)
        if row is not None and row.create_time != started:
            row.create_time = started  # the workflow's own start, also on a re-import

    repo = repository(wf)
    pods = {nid: n for nid, n in nodes.items() if n.get("type") == "Pod"}
    parents = {
        c: nid
        for nid, n in nodes.items()
        if n.get("type") == "Retry"
        for c in n.get("children") or []
    }
    outputs: dict[str, list[uuid.UUID]] = {}
    for nid, node in pods.items():
        with refused_at(f"{node_pointer(nid)}/outputs/artifacts"):
            outputs[nid] = [
                _artifact(tx, run_key, nid, a, repo, producer=node.get("displayName"))
                for a in (node.get("outputs") or {}).get("artifacts") or []
            ]
    produced = {a for ids in outputs.values() for a in ids}
    execution_ids: dict[str, uuid.UUID] = {}
    for nid, node in sorted(pods.items()):
        with refused_at(f"{node_pointer(nid)}/inputs/artifacts"):
            inputs = [
                _artifact(tx, run_key, nid, a, repo, producer=None)
                for a in (node.get("inputs") or {}).get("artifacts") or []
            ]
        inputs = [a for a in dict.fromkeys(inputs) if a not in outputs[nid]]
        template_name = (
            node.get("templateName")
            or (node.get("templateRef") or {}).get("template")
            or node.get("displayName")
        )
        phase = node.get("phase") or ""
        node_status = PHASES.get(
            phase, m.Status.FAILED if phase in {"Omitted", "Skipped"} else m.Status.RUNNING
        )
        notes = {
            "argo.nodeId": nid,
            "argo.phase": phase,
            "argo.nodeName": as_text(node.get("name", "")),
        }
        for key, source in (
            ("argo.message", node.get("message")),
            ("argo.exitCode", (node.get("outputs") or {}).get("exitCode")),
            ("argo.hostNodeName", node.get("hostNodeName")),
        ):
            if source:
                notes[key] = as_text(source)
        if nid in parents:
            notes["argo.retryOf"] = as_text(nodes[parents[nid]].get("displayName", parents[nid]))
        eid = derived_id("execution", run_key, nid)
        execution_ids[nid] = eid
        fields = {
            "name": _name(node.get("displayName") or nid),
            "kind": "argo-pod",
            "status": node_status,
            "start_time": time_or_none(node.get("startedAt")),
            "end_time": time_or_none(node.get("finishedAt")),
            "configuration": parameters((node.get("inputs") or {}).get("parameters")),
            "annotations": notes,
            "input_artifacts": inputs,
            "output_artifacts": list(dict.fromkeys(outputs[nid])),
        }
        executable = executable_for(str(template_name))
        node_sources = {
            "startTime": f"{node_pointer(nid)}/startedAt",
            "endTime": f"{node_pointer(nid)}/finishedAt",
            "configuration": f"{node_pointer(nid)}/inputs/parameters",
        }
        with refused_at(node_pointer(nid), node_sources):
            _upsert(
                tx,
                "execution",
                eid,
                m.ExecutionCreate(id=eid, run=run_id, executable=executable, **fields),
                m.ExecutionUpdate,
                fields,
            )
    for nid, followers in _pod_successors(nodes).items():
        successors = sorted((execution_ids[f] for f in followers if f in execution_ids), key=str)
        current = tx.read("execution", execution_ids[nid])
        assert current is not None  # written just above
        if sorted(map(str, current.successors)) != [str(s) for s in successors]:
            tx.update("execution", execution_ids[nid], m.ExecutionUpdate(successors=successors))
    if pipe_fields["executables"] != sorted(
        {*pipe_fields["executables"], *executables.values()}, key=str
    ):
        tx.update(
            "pipeline",
            pipeline,
            m.PipelineUpdate(
                executables=sorted({*pipe_fields["executables"], *executables.values()}, key=str)
            ),
        )
    return {
        "run": str(run_id),
        "experiment": str(experiment),
        "pipeline": str(pipeline),
        "event": str(event_id) if event_id else None,
        "trigger": trigger[0] if trigger else None,
        "executions": len(execution_ids),
        "artifacts": len(produced),
    }


def import_workflow(meta: Metadata, wf: dict[str, Any]) -> dict[str, Any]:
    """Store one Workflow in one transaction; importing it again updates the same entities."""
    access.require_global_writer(meta.scope, "an Argo import")
    check_workflow(wf)
    for attempt in range(5):
        try:
            with meta.transaction() as tx:
                return _apply(tx, wf)
        except (IntegrityError, Conflict, Unavailable):
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")
