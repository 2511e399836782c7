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

import base64
import contextlib
import hashlib
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from modeltrail.domain import documents, limits
from modeltrail.domain import models as m
from modeltrail.domain.documents import (
    as_text,
    fitted,
    nul_errors,
    parse_time,
    refused_at,
    time_or_none,
)
from modeltrail.domain.errors import Conflict, InvalidInput, Unavailable, json_pointer
from modeltrail.domain.fingerprint import canonical_json
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
L_CRON = "workflows.argoproj.io/cron-workflow"
A_SCHEDULED = "workflows.argoproj.io/scheduled-time"
L_TEMPLATE = "workflows.argoproj.io/workflow-template"
L_CLUSTER_TEMPLATE = "workflows.argoproj.io/cluster-workflow-template"
L_RESUBMITTED = "workflows.argoproj.io/resubmitted-from-workflow"
L_CREATOR = "workflows.argoproj.io/creator"
L_CREATOR_EMAIL = "workflows.argoproj.io/creator-email"
L_CREATOR_USER = "workflows.argoproj.io/creator-preferred-username"
L_SENSOR = "events.argoproj.io/sensor"
L_TRIGGER = "events.argoproj.io/trigger"
L_ACTION_TIME = "events.argoproj.io/action-timestamp"


def derived_id(*parts: str) -> uuid.UUID:
    return uuid.uuid5(ID_NAMESPACE, "\x1f".join(parts))


def _name(value: str) -> str:
    return fitted(str(value), limits.MAX_NAME) or "-"


# ---------------------------------------------------------------- reading the workflow


class _Checker:
    """Collects what in a workflow the importer cannot read, each with its pointer."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def fail(self, where: str, detail: str) -> None:
        self.errors.append({"pointer": where, "detail": detail})

    def object(self, value: Any, where: str) -> dict[str, Any]:
        """``value`` if an object; absent or null is an empty one."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(where, "must be an object")
            return {}
        return value

    def objects(self, value: Any, where: str) -> list[dict[str, Any]]:
        """``value`` as a list of objects; absent or null is an empty one."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(where, "must be an array")
            return []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.fail(f"{where}/{i}", "must be an object")
        return [item for item in value if isinstance(item, dict)]

    def strings(self, parent: dict[str, Any], where: str, *fields: str) -> None:
        for field in fields:
            value = parent.get(field)
            if value is not None and not isinstance(value, str):
                self.fail(f"{where}/{field}", "must be a string")

    def parameters(self, value: Any, where: str) -> None:
        """Argo's parameters: objects with a name, and a value that is text (when given)."""
        for i, parameter in enumerate(self.objects(value, where)):
            self.strings(parameter, f"{where}/{i}", "name", "value")

    def times(self, parent: dict[str, Any], where: str, *fields: str) -> None:
        for field in fields:
            value = parent.get(field)
            if value in (None, ""):
                continue  # Argo leaves out (or nulls) the times of what has not happened yet
            try:
                parse_time(value)
            except ValueError as exc:
                self.fail(f"{where}/{field}", str(exc))


def check_workflow(wf: Any) -> None:
    """Refuse, naming each place, what in a workflow cannot be imported as sent."""
    if not isinstance(wf, dict):
        raise InvalidInput(
            "an Argo Workflow must be a JSON object",
            errors=[{"pointer": "/", "detail": "not an object"}],
        )
    if wf.get("kind", "Workflow") != "Workflow":
        raise InvalidInput(
            f"expected a Workflow, got a {wf.get('kind')}; import the Workflow it created",
            errors=[{"pointer": "/kind", "detail": "must be 'Workflow'"}],
        )
    meta = wf.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        raise InvalidInput(
            "a Workflow needs metadata.name",
            errors=[{"pointer": "/metadata/name", "detail": "required"}],
        )
    check = _Checker()
    check.strings(meta, "/metadata", "name", "namespace", "uid", "generateName")
    check.times(meta, "/metadata", "creationTimestamp")
    check.object(meta.get("labels"), "/metadata/labels")
    check.object(meta.get("annotations"), "/metadata/annotations")
    spec = check.object(wf.get("spec"), "/spec")
    arguments = check.object(spec.get("arguments"), "/spec/arguments")
    check.parameters(arguments.get("parameters"), "/spec/arguments/parameters")
    template_ref = check.object(spec.get("workflowTemplateRef"), "/spec/workflowTemplateRef")
    check.strings(template_ref, "/spec/workflowTemplateRef", "name")
    _check_templates(check, spec.get("templates"), "/spec/templates")
    status = check.object(wf.get("status"), "/status")
    check.strings(status, "/status", "phase", "message")
    check.times(status, "/status", "startedAt", "finishedAt")
    stored = check.object(status.get("storedTemplates"), "/status/storedTemplates")
    for name, template in stored.items():
        at = "/status/storedTemplates" + json_pointer(name)
        _check_template(check, check.object(template, at), at)
    stored_spec = check.object(
        status.get("storedWorkflowTemplateSpec"), "/status/storedWorkflowTemplateSpec"
    )
    _check_templates(
        check, stored_spec.get("templates"), "/status/storedWorkflowTemplateSpec/templates"
    )
    ref = check.object(status.get("artifactRepositoryRef"), "/status/artifactRepositoryRef")
    repository = check.object(
        ref.get("artifactRepository"), "/status/artifactRepositoryRef/artifactRepository"
    )
    _check_locations(check, repository, "/status/artifactRepositoryRef/artifactRepository")
    nodes = check.object(status.get("nodes"), "/status/nodes")
    for node_id, node in nodes.items():
        _check_node(check, node_id, node)
    if not check.errors and len(json.dumps(unlisted_children(nodes))) > limits.MAX_TEXT:
        check.fail("/status/nodes", "too many children name nodes the workflow does not list")
    check.errors += nul_errors(wf)
    if check.errors:
        raise InvalidInput(
            f"the workflow cannot be imported: {len(check.errors)} problem(s): "
            + "; ".join(f"{e['pointer']}: {e['detail']}" for e in check.errors[:3]),
            errors=check.errors[: documents.MAX_REPORTED],
        )


def _check_templates(check: _Checker, templates: Any, where: str) -> None:
    for i, template in enumerate(check.objects(templates, where)):
        _check_template(check, template, f"{where}/{i}")


def _check_template(check: _Checker, template: dict[str, Any], where: str) -> None:
    check.strings(template, where, "name")
    for field in ("container", "script"):
        body = check.object(template.get(field), f"{where}/{field}")
        check.strings(body, f"{where}/{field}", "image", "source")
        for listed in ("command", "args"):
            values = body.get(listed)
            if values is not None and not (
                isinstance(values, list) and all(isinstance(v, str) for v in values)
            ):
                check.fail(f"{where}/{field}/{listed}", "must be an array of strings")


def _check_locations(check: _Checker, holder: dict[str, Any], where: str) -> None:
    """The storage locations of an artifact (or of the repository its keys resolve against)."""
    for kind, fields in _LOCATIONS.items():
        location = check.object(holder.get(kind), f"{where}/{kind}")
        check.strings(location, f"{where}/{kind}", *fields)


def _check_node(check: _Checker, node_id: str, node: Any) -> None:
    where = _node(node_id)
    if node is None:
        check.fail(where, "must be an object")
    node = check.object(node, where)
    check.strings(node, where, "type", "phase", "name", "displayName", "templateName", "message")
    check.times(node, where, "startedAt", "finishedAt")
    check.object(node.get("templateRef"), f"{where}/templateRef")
    for side in ("inputs", "outputs"):
        part = check.object(node.get(side), f"{where}/{side}")
        check.parameters(part.get("parameters"), f"{where}/{side}/parameters")
        for i, artifact in enumerate(
            check.objects(part.get("artifacts"), f"{where}/{side}/artifacts")
        ):
            check.strings(artifact, f"{where}/{side}/artifacts/{i}", "name", "path")
            _check_locations(check, artifact, f"{where}/{side}/artifacts/{i}")
    children = node.get("children")
    if children is None:
        return
    if not isinstance(children, list):
        check.fail(f"{where}/children", "must be an array of node ids")
        return
    for i, child in enumerate(children):
        if not isinstance(child, str):
            check.fail(f"{where}/children/{i}", "must be a node id")
        elif child == node_id:
            check.fail(f"{where}/children/{i}", "a node cannot be its own child")


def unlisted_children(nodes: dict[str, dict[str, Any]]) -> list[str]:
    """Node ids named as children that ``nodes`` does not list.

    Argo's controller names a child before it records the child's node, and its own test
    workflows hold such children, finished ones too: they are accepted, and the run lists
    them in its annotation ``argo.unlistedChildren``."""
    named = {c for node in nodes.values() for c in node.get("children") or []}
    return sorted(named - nodes.keys())


def pipeline_name(wf: dict[str, Any]) -> str:
    meta, spec = wf["metadata"], wf.get("spec") or {}
    labels = meta.get("labels") or {}
    ref = spec.get("workflowTemplateRef") or {}
    return (
        ref.get("name")
        or labels.get(L_TEMPLATE)
        or labels.get(L_CLUSTER_TEMPLATE)
        or labels.get(L_CRON)
        or (meta.get("generateName") or "").rstrip("-")
        or meta["name"]
    )


def templates(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    status = wf.get("status") or {}
    found: dict[str, dict[str, Any]] = {}
    sources = [
        *((status.get("storedWorkflowTemplateSpec") or {}).get("templates") or []),
        *(status.get("storedTemplates") or {}).values(),
        *((wf.get("spec") or {}).get("templates") or []),
    ]
    for template in sources:
        if isinstance(template, dict) and template.get("name"):
            found[template["name"]] = template
    return found


def _repository(wf: dict[str, Any]) -> dict[str, Any]:
    ref = (wf.get("status") or {}).get("artifactRepositoryRef") or {}
    return ref.get("artifactRepository") or {}


# Where an artifact is stored: bucket stores (kind, URI scheme, bucket field, key field) and
# stores of one address (kind, field).
_BUCKETS = (
    ("s3", "s3", "bucket", "key"),
    ("gcs", "gs", "bucket", "key"),
    ("oss", "oss", "bucket", "key"),
    ("azure", "azblob", "container", "blob"),
)
_URLS = (("http", "url"), ("git", "repo"), ("hdfs", "path"), ("artifactory", "url"))
_LOCATIONS = {
    **{kind: (bucket, key, "keyFormat") for kind, _, bucket, key in _BUCKETS},
    **{kind: (field,) for kind, field in _URLS},
}


def artifact_location(artifact: dict[str, Any], repository: dict[str, Any]) -> str | None:
    """The artifact's URI, its key resolved against the workflow's artifact repository."""
    for kind, scheme, bucket_field, key_field in _BUCKETS:
        if kind in artifact and isinstance(artifact[kind], dict):
            loc, repo = artifact[kind], repository.get(kind) or {}
            bucket = loc.get(bucket_field) or repo.get(bucket_field) or ""
            key = loc.get(key_field) or ""
            if not key and repo.get("keyFormat"):
                key = repo["keyFormat"]
            return f"{scheme}://{bucket}/{key.lstrip('/')}"
    for kind, field in _URLS:
        if kind in artifact and isinstance(artifact[kind], dict) and artifact[kind].get(field):
            return str(artifact[kind][field])
    return None


def _parameters(params: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {
        p["name"]: p.get("value") for p in params or [] if isinstance(p, dict) and p.get("name")
    }


# ---------------------------------------------------------------- the trigger


def _decode(value: Any) -> Any:
    """A parameter's value as JSON if it is JSON (Argo Events passes whole events that way,
    with ``data`` as base64 when no data key was chosen)."""
    if isinstance(value, dict | list):
        return value
    if not isinstance(value, str) or not value.strip().startswith(("{", "[")):
        return value
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    if isinstance(parsed, dict) and isinstance(parsed.get("data"), str):
        with contextlib.suppress(ValueError, TypeError):
            parsed["data"] = json.loads(base64.b64decode(parsed["data"], validate=True))
    return parsed


def _from_payload(source: str, data: Any) -> tuple[str, dict[str, Any]] | None:
    """Cause and details from an event's data, by its source type or its shape."""
    if not isinstance(data, dict):
        return None
    records = data.get("notification") or data.get("Records")
    if source in {"minio", "s3", "aws-sqs", "sns"} or (
        isinstance(records, list) and records and "s3" in records[0]
    ):
        record = records[0] if isinstance(records, list) and records else data
        s3 = record.get("s3") or {}
        return "data change", {
            "bucket": (s3.get("bucket") or {}).get("name"),
            "key": (s3.get("object") or {}).get("key"),
            "s3Event": record.get("eventName"),
            "eventTime": record.get("eventTime"),
        }
    body: dict[str, Any] = data["body"] if isinstance(data.get("body"), dict) else data
    if source in {"github", "gitlab", "bitbucket"} or (
        "head_commit" in body or ("after" in body and "repository" in body)
    ):
        head = body.get("head_commit") or {}
        return "code change", {
            "commit": head.get("id") or body.get("after"),
            "ref": body.get("ref"),
            "repository": (body.get("repository") or {}).get("full_name"),
            "message": head.get("message"),
            "author": (head.get("author") or {}).get("username"),
        }
    if source == "calendar" or (set(data) == {"eventTime"}):
        return "schedule", {"eventTime": data.get("eventTime")}
    if source == "webhook":
        return "external", {"body": body}
    return None


def trigger_of(wf: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """What started this workflow, as (cause, details), or None if Argo recorded nothing."""
    meta = wf["metadata"]
    labels, notes = meta.get("labels") or {}, meta.get("annotations") or {}
    if labels.get(L_RESUBMITTED):
        return "resubmission", {"resubmittedFrom": labels[L_RESUBMITTED]}
    if labels.get(L_SENSOR):
        details: dict[str, Any] = {
            "sensor": labels[L_SENSOR],
            "trigger": labels.get(L_TRIGGER),
            "actionTimestamp": labels.get(L_ACTION_TIME),
        }
        params = _parameters(((wf.get("spec") or {}).get("arguments") or {}).get("parameters"))
        for name, value in params.items():
            value = _decode(value)
            if isinstance(value, dict) and isinstance(value.get("context"), dict):
                ctx = value["context"]
                found = _from_payload(str(ctx.get("type", "")), value.get("data"))
                details.update(
                    eventSource=ctx.get("source"),
                    eventName=ctx.get("subject"),
                    eventType=ctx.get("type"),
                    eventTime=ctx.get("time"),
                    parameter=name,
                )
                if found:
                    # The envelope's own context (e.g. its RFC 3339 time) wins over the payload's.
                    details.update(
                        {k: v for k, v in found[1].items() if v is not None and not details.get(k)}
                    )
                    return found[0], details
                return "external", details
            found = _from_payload("", value)
            if found:
                details.update({k: v for k, v in found[1].items() if v is not None}, parameter=name)
                return found[0], details
        names = " ".join(str(v) for v in (labels.get(L_SENSOR), labels.get(L_TRIGGER))).lower()
        for word, cause in (
            ("calendar", "schedule"),
            ("minio", "data change"),
            ("s3", "data change"),
            ("github", "code change"),
        ):
            if word in names:
                return cause, details
        return "external", details
    if labels.get(L_CRON):
        return "schedule", {"cronWorkflow": labels[L_CRON], "scheduledTime": notes.get(A_SCHEDULED)}
    if labels.get(L_CREATOR) or labels.get(L_CREATOR_EMAIL) or labels.get(L_CREATOR_USER):
        return "manual", {
            "creator": labels.get(L_CREATOR),
            "email": labels.get(L_CREATOR_EMAIL),
            "user": labels.get(L_CREATOR_USER),
        }
    return None


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


def _node(node_id: str) -> str:
    """The pointer to a node of the workflow."""
    return "/status/nodes" + json_pointer(node_id)


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
        "configuration": _parameters((spec.get("arguments") or {}).get("parameters")),
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

    repository = _repository(wf)
    pods = {nid: n for nid, n in nodes.items() if n.get("type") == "Pod"}
    parents = {
        c: nid
        for nid, n in nodes.items()
        if n.get("type") == "Retry"
        for c in n.get("children") or []
    }
    outputs: dict[str, list[uuid.UUID]] = {}
    for nid, node in pods.items():
        with refused_at(f"{_node(nid)}/outputs/artifacts"):
            outputs[nid] = [
                _artifact(tx, run_key, nid, a, repository, producer=node.get("displayName"))
                for a in (node.get("outputs") or {}).get("artifacts") or []
            ]
    produced = {a for ids in outputs.values() for a in ids}
    execution_ids: dict[str, uuid.UUID] = {}
    for nid, node in sorted(pods.items()):
        with refused_at(f"{_node(nid)}/inputs/artifacts"):
            inputs = [
                _artifact(tx, run_key, nid, a, repository, producer=None)
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
            "configuration": _parameters((node.get("inputs") or {}).get("parameters")),
            "annotations": notes,
            "input_artifacts": inputs,
            "output_artifacts": list(dict.fromkeys(outputs[nid])),
        }
        executable = executable_for(str(template_name))
        node_sources = {
            "startTime": f"{_node(nid)}/startedAt",
            "endTime": f"{_node(nid)}/finishedAt",
            "configuration": f"{_node(nid)}/inputs/parameters",
        }
        with refused_at(_node(nid), node_sources):
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
