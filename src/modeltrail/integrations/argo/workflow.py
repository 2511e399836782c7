"""Reading an Argo Workflow object: what in it can be imported, and where things are in it
(its pipeline, templates, artifact repository and artifact locations)."""

from __future__ import annotations

import json
from typing import Any

from modeltrail.domain import documents, limits
from modeltrail.domain.documents import nul_errors, parse_time
from modeltrail.domain.errors import InvalidInput, json_pointer

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


def node_pointer(node_id: str) -> str:
    """The pointer to a node of the workflow."""
    return "/status/nodes" + json_pointer(node_id)


def _check_node(check: _Checker, node_id: str, node: Any) -> None:
    where = node_pointer(node_id)
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


def repository(wf: dict[str, Any]) -> dict[str, Any]:
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


def parameters(params: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {
        p["name"]: p.get("value") for p in params or [] if isinstance(p, dict) and p.get("name")
    }
