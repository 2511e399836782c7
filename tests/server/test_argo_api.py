"""Argo Workflows and Argo Events: every fixture imported and checked entity by entity."""

from __future__ import annotations

import base64
import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from modeltrail.integrations.argo.translator import derived_id

API = "/api/v1"
FIXTURES = Path(__file__).parents[1] / "fixtures"
WORKFLOWS = sorted((FIXTURES / "argo").glob("*.yaml"))
PHASES = {
    "Succeeded": "SUCCESS",
    "Failed": "FAILED",
    "Error": "FAILED",
    "Running": "RUNNING",
    "Pending": "RUNNING",
}


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def load_workflow(path: Path) -> dict[str, Any]:
    return as_json(yaml.safe_load(path.read_text()))


def get(client: TestClient, plural: str, entity_id: Any) -> dict[str, Any]:
    response = client.get(f"{API}/{plural}/{entity_id}")
    assert response.status_code == 200, response.text
    return response.json()


def send(client: TestClient, workflow: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{API}/argo/workflows", json=workflow)
    assert response.status_code == 200, response.text
    return response.json()


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _pods_after(nodes: dict[str, Any], node_id: str) -> set[str]:
    found: set[str] = set()
    stack = list(nodes[node_id].get("children") or [])
    while stack:
        child = stack.pop()
        if child not in nodes:
            continue
        if nodes[child]["type"] == "Pod":
            found.add(child)
        else:
            stack += nodes[child].get("children") or []
    return found


def _counts(client: TestClient) -> dict[str, int]:
    return {
        p: client.get(f"{API}/{p}", params={"count": True}).json()["total"]
        for p in ("experiments", "pipelines", "executables", "runs", "executions", "artifacts")
    }


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.stem for p in WORKFLOWS])
def test_every_workflow_fixture(client: TestClient, path: Path) -> None:
    wf = load_workflow(path)
    meta, status = wf["metadata"], wf["status"]
    result = send(client, wf)
    key = meta.get("uid") or f"{meta.get('namespace', 'default')}/{meta['name']}"

    run = get(client, "runs", derived_id("run", key))
    assert result["run"] == run["id"]
    assert run["name"] == meta["name"] and run["status"] == PHASES[status["phase"]]
    assert run["annotations"]["argo.phase"] == status["phase"]
    assert _time(run["createTime"]) == _time(status.get("startedAt") or meta["creationTimestamp"])
    expected_args = {
        p["name"]: p.get("value") for p in (wf["spec"].get("arguments") or {}).get("parameters", [])
    }
    assert run["configuration"] == expected_args
    pipeline = get(client, "pipelines", run["pipeline"])
    template_ref = (wf["spec"].get("workflowTemplateRef") or {}).get("name")
    assert pipeline["name"] == (
        template_ref or (meta.get("generateName") or meta["name"]).rstrip("-")
    )
    assert get(client, "experiments", run["experiment"])["name"] == pipeline["name"]

    nodes = status["nodes"]
    pods = {nid: n for nid, n in nodes.items() if n["type"] == "Pod"}
    executions = client.get(
        f"{API}/executions", params={"filter": f"run:eq:{run['id']}", "limit": 100}
    ).json()["items"]
    assert len(executions) == len(pods) == result["executions"]
    by_node = {e["annotations"]["argo.nodeId"]: e for e in executions}
    repo = ((status.get("artifactRepositoryRef") or {}).get("artifactRepository") or {}).get(
        "s3"
    ) or {}
    for nid, node in pods.items():
        execution = by_node[nid]
        assert execution["id"] == str(derived_id("execution", key, nid))
        assert execution["name"] == node["displayName"] and execution["kind"] == "argo-pod"
        assert execution["status"] == PHASES.get(node["phase"], "RUNNING")
        assert _time(execution["startTime"]) == _time(node.get("startedAt"))
        assert _time(execution["endTime"]) == _time(node.get("finishedAt"))
        assert execution["configuration"] == {
            p["name"]: p.get("value") for p in (node.get("inputs") or {}).get("parameters", [])
        }
        executable = get(client, "executables", execution["executable"])
        assert executable["name"] == (node.get("templateName") or node["templateRef"]["template"])
        assert executable["id"] in pipeline["executables"]
        outputs = [get(client, "artifacts", a) for a in execution["outputArtifacts"]]
        expected_uris = sorted(
            f"s3://{a['s3'].get('bucket') or repo.get('bucket', '')}/{a['s3']['key']}"
            for a in (node.get("outputs") or {}).get("artifacts", [])
            if "s3" in a
        )
        assert sorted(a["uri"] for a in outputs if a["uri"]) == expected_uris
        inputs = [get(client, "artifacts", a)["uri"] for a in execution["inputArtifacts"]]
        assert sorted(inputs) == sorted(
            f"s3://{a['s3'].get('bucket') or repo.get('bucket', '')}/{a['s3']['key']}"
            for a in (node.get("inputs") or {}).get("artifacts", [])
            if "s3" in a
        )
        assert {str(s) for s in execution["successors"]} == {
            by_node[p]["id"] for p in _pods_after(nodes, nid) if p in by_node
        }
        if node.get("message"):
            assert execution["annotations"]["argo.message"] == node["message"]

    before = _counts(client)
    revisions = {e["id"]: e["revision"] for e in executions}
    assert send(client, wf) == result
    assert _counts(client) == before  # a re-import updates, never duplicates
    again = client.get(
        f"{API}/executions", params={"filter": f"run:eq:{run['id']}", "limit": 100}
    ).json()["items"]
    assert {
        e["id"]: e["revision"] for e in again
    } == revisions  # and changes nothing that did not change


def test_artifact_flow_and_templates(client: TestClient) -> None:
    wf = load_workflow(FIXTURES / "argo" / "operator_test__marksWFSucceeded.yaml")
    run = get(client, "runs", send(client, wf)["run"])
    assert run["annotations"]["label.default-label"] == "thisLabelIsFromWorkflowDefaults"
    executions = {
        e["name"]: e
        for e in client.get(f"{API}/executions", params={"filter": f"run:eq:{run['id']}"}).json()[
            "items"
        ]
    }
    produced = executions["generate-default"]["outputArtifacts"]
    [consumed] = executions["consume-default"]["inputArtifacts"]
    assert consumed in produced  # what one step wrote and the next read is one artifact
    artifact = get(client, "artifacts", consumed)
    assert artifact["uri"] == (
        "s3://my-bucket/archive-strategies-4br4g/"
        "archive-strategies-4br4g-generate-default-281020786/file-default.tgz"
    )
    assert artifact["attributes"]["path"] == "/tmp/file-default"
    assert artifact["annotations"]["argo.producedBy"] == "generate-default"
    tar = get(client, "artifacts", executions["consume-tar"]["inputArtifacts"][0])
    assert tar["attributes"]["archive"] == {"tar": {}}
    executable = get(client, "executables", executions["generate-default"]["executable"])
    assert (
        executable["uri"] == "argoproj/argosay:v2"
        and executable["description"] == "echo hello /tmp/file-default"
    )
    assert executions["generate-default"]["successors"] == [executions["consume-default"]["id"]]
    # Listing by relation answers lineage across the steps.
    readers = client.get(
        f"{API}/artifacts",
        params={"filter": f"consumedBy:eq:{executions['consume-default']['id']}"},
    )
    assert [a["id"] for a in readers.json()["items"]] == [consumed]


def test_retries_and_stored_templates(client: TestClient) -> None:
    wf = load_workflow(FIXTURES / "argo" / "steps-failed-retries.yaml")
    run = get(client, "runs", send(client, wf)["run"])
    executions = {
        e["name"]: e
        for e in client.get(f"{API}/executions", params={"filter": f"run:eq:{run['id']}"}).json()[
            "items"
        ]
    }
    assert sorted(executions) == ["delayed-fail(0)", "delayed-fail(1)", "fail(0)", "fail(1)"]
    assert executions["fail(1)"]["annotations"]["argo.retryOf"] == "fail"
    assert executions["fail(1)"]["status"] == "FAILED"
    executable = get(client, "executables", executions["fail(0)"]["executable"])
    assert executable["uri"] == "alpine:3.23" and executable["description"] == "sh -c exit 1"

    exit_wf = load_workflow(FIXTURES / "argo" / "operator_test__globalVarsOnExit.yaml")
    run = get(client, "runs", send(client, exit_wf)["run"])
    [execution] = client.get(f"{API}/executions", params={"filter": f"run:eq:{run['id']}"}).json()[
        "items"
    ]
    whalesay = get(client, "executables", execution["executable"])
    assert whalesay["uri"] == "docker/whalesay:latest"  # from status.storedTemplates
    assert run["configuration"] == {"message": "nononono"}
    assert (
        get(client, "pipelines", run["pipeline"])["name"] == "hello-world-6gphm"
    )  # workflowTemplateRef


def test_changed_workflow_updates_the_same_run(client: TestClient) -> None:
    wf = load_workflow(FIXTURES / "argo" / "dag_xfail.yaml")
    first = send(client, wf)
    finished = copy.deepcopy(wf)
    finished["status"]["phase"] = "Failed"
    finished["status"]["finishedAt"] = "2030-01-01T00:00:00Z"
    second = send(client, finished)
    assert second["run"] == first["run"]
    run = get(client, "runs", first["run"])
    assert run["status"] == "FAILED" and _time(run["endTime"]) == _time("2030-01-01T00:00:00Z")
    assert client.get(f"{API}/runs", params={"count": True}).json()["total"] == 1


# ---------------------------------------------------------------- triggers


def _envelope(name: str) -> dict[str, Any]:
    envelopes = json.loads(
        (FIXTURES / "argo-events" / "argo_events_envelopes__ASSEMBLED.json").read_text()
    )
    return copy.deepcopy(envelopes[name])


def _path(value: Any, key: str) -> Any:
    for part in key.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def sensor_workflow(
    sensor_file: str, event: dict[str, Any], *, whole_event: bool = False
) -> dict[str, Any]:
    """The Workflow a Sensor submits for ``event``: its trigger's resource, parameterised as
    Argo Events does, with the labels it adds (argo-workflow.go)."""
    sensor = yaml.safe_load((FIXTURES / "argo-events" / sensor_file).read_text())
    trigger = sensor["spec"]["triggers"][0]["template"]
    wf = copy.deepcopy(trigger["k8s"]["source"]["resource"])
    params = wf["spec"].setdefault("arguments", {}).setdefault("parameters", [{"name": "message"}])
    for parameter in trigger["k8s"].get("parameters", []):
        index = parameter["dest"].split(".")
        if index[:3] != ["spec", "arguments", "parameters"]:
            continue
        src = parameter["src"]
        if whole_event or "dataKey" not in src:
            # No key: the whole event, its data as Go []byte (base64) (argo-events #479).
            raw = {**event, "data": base64.b64encode(json.dumps(event["data"]).encode()).decode()}
            value = json.dumps(raw)
        else:
            found = _path(event["data"], src["dataKey"])
            value = found if isinstance(found, str) else json.dumps(found)
        params[int(index[3])]["value"] = value
    name = wf["metadata"].pop("generateName", "wf-") + "x1"
    wf["metadata"].update(
        name=name,
        namespace="argo",
        uid=f"uid-{name}",
        labels={
            "events.argoproj.io/sensor": sensor["metadata"]["name"],
            "events.argoproj.io/trigger": trigger["name"],
            "events.argoproj.io/action-timestamp": "1614969081000",
        },
    )
    wf["status"] = {
        "phase": "Succeeded",
        "startedAt": "2021-03-05T18:31:22Z",
        "finishedAt": "2021-03-05T18:31:30Z",
        "nodes": {
            name: {
                "id": name,
                "name": name,
                "displayName": name,
                "type": "Pod",
                "templateName": wf["spec"]["entrypoint"],
                "phase": "Succeeded",
                "startedAt": "2021-03-05T18:31:22Z",
                "finishedAt": "2021-03-05T18:31:30Z",
            }
        },
    }
    return wf


def trigger(client: TestClient, wf: dict[str, Any]) -> dict[str, Any]:
    run = get(client, "runs", send(client, wf)["run"])
    assert run["event"], "the run has no trigger"
    event = get(client, "artifacts", run["event"])
    assert event["kind"] == "event"
    return event["attributes"]


def test_calendar_sensor_is_a_schedule(client: TestClient) -> None:
    attrs = trigger(client, sensor_workflow("sensors__calendar.yaml", _envelope("calendar")))
    assert attrs["cause"] == "schedule" and attrs["sensor"] == "calendar"
    assert (
        attrs["trigger"] == "calendar-workflow-trigger"
        and attrs["actionTimestamp"] == "1614969081000"
    )
    wf = sensor_workflow("sensors__calendar.yaml", _envelope("calendar"), whole_event=True)
    wf["metadata"]["name"] = wf["metadata"]["uid"] = "calendar-whole"
    whole = trigger(client, wf)
    assert whole["cause"] == "schedule" and whole["eventTime"] == "2021-03-05T18:31:21Z"


def test_minio_sensor_is_a_data_change_with_bucket_and_key(client: TestClient) -> None:
    event = _envelope("minio")
    keyed = trigger(client, sensor_workflow("sensors__minio.yaml", event))
    assert keyed["cause"] == "data change" and keyed["sensor"] == "minio"
    wf = sensor_workflow("sensors__minio.yaml", event, whole_event=True)
    wf["metadata"]["name"] = wf["metadata"]["uid"] = "minio-whole"
    attrs = trigger(client, wf)
    assert attrs["cause"] == "data change"
    assert (attrs["bucket"], attrs["key"]) == ("images", "myphoto.jpg")
    assert attrs["s3Event"] == "s3:ObjectCreated:Put" and attrs["eventType"] == "minio"
    assert attrs["eventSource"] == "minio" and attrs["eventName"] == "example"
    record = json.loads((FIXTURES / "argo-events" / "minio_notification_record.json").read_text())
    assert record["s3"]["object"]["key"] == attrs["key"]


def test_github_push_is_a_code_change_with_its_commit(client: TestClient) -> None:
    event = _envelope("github")
    event["data"]["body"] = json.loads(
        (FIXTURES / "argo-events" / "with-new-branch.payload.json").read_text()
    )
    wf = sensor_workflow("sensors__github.yaml", event, whole_event=True)
    attrs = trigger(client, wf)
    assert attrs["cause"] == "code change"
    assert attrs["commit"] == "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    assert attrs["repository"] == "Codertocat/Hello-World" and attrs["ref"] == "refs/heads/master"


def test_webhook_is_external(client: TestClient) -> None:
    attrs = trigger(client, sensor_workflow("sensors__webhook.yaml", _envelope("webhook")))
    assert attrs["cause"] == "external" and attrs["sensor"] == "webhook"
    wf = sensor_workflow("sensors__webhook.yaml", _envelope("webhook"), whole_event=True)
    wf["metadata"]["name"] = wf["metadata"]["uid"] = "hook-whole"
    whole = trigger(client, wf)
    assert whole["cause"] == "external" and whole["body"] == {"message": "this is my first webhook"}


def test_cron_creator_and_resubmission_labels(client: TestClient) -> None:
    base = load_workflow(FIXTURES / "argo" / "util_test__dagDiamondRetry.yaml")
    cron = copy.deepcopy(base)
    cron["metadata"]["labels"]["workflows.argoproj.io/cron-workflow"] = "nightly-train"
    cron["metadata"].setdefault("annotations", {})["workflows.argoproj.io/scheduled-time"] = (
        "2024-05-01T02:00:00Z"
    )
    assert trigger(client, cron) == {
        "cause": "schedule",
        "source": "argo",
        "cronWorkflow": "nightly-train",
        "scheduledTime": "2024-05-01T02:00:00Z",
    }
    assert (
        get(client, "pipelines", get(client, "runs", send(client, cron)["run"])["pipeline"])["name"]
        == "nightly-train"
    )

    manual = copy.deepcopy(base)
    manual["metadata"]["uid"] = "manual-uid"
    manual["metadata"]["labels"]["workflows.argoproj.io/creator"] = (
        "system-serviceaccount-argo-argo-server"
    )
    manual["metadata"]["labels"]["workflows.argoproj.io/creator-preferred-username"] = "ada"
    attrs = trigger(client, manual)
    assert attrs["cause"] == "manual" and attrs["user"] == "ada"

    again = copy.deepcopy(base)
    again["metadata"]["uid"] = "resubmitted-uid"
    again["metadata"]["labels"]["workflows.argoproj.io/resubmitted-from-workflow"] = base[
        "metadata"
    ]["name"]
    assert trigger(client, again)["resubmittedFrom"] == "dag-diamond-82q7s"


def test_not_a_workflow(client: TestClient) -> None:
    sensor = as_json(yaml.safe_load((FIXTURES / "argo-events" / "sensors__minio.yaml").read_text()))
    response = client.post(f"{API}/argo/workflows", json=sensor)
    assert response.status_code == 422 and response.json()["errors"][0]["pointer"] == "/kind"
    response = client.post(f"{API}/argo/workflows", json={"kind": "Workflow", "metadata": {}})
    assert (
        response.status_code == 422 and response.json()["errors"][0]["pointer"] == "/metadata/name"
    )


# ---------------------------------------------------------------- what cannot be imported


def _diamond() -> dict[str, Any]:
    return load_workflow(FIXTURES / "argo" / "util_test__dagDiamondRetry.yaml")


def _first_pod(wf: dict[str, Any]) -> str:
    return next(nid for nid, n in wf["status"]["nodes"].items() if n["type"] == "Pod")


def _with_name(value: Any) -> dict[str, Any]:
    return {"metadata": {"name": value, "namespace": "ns", "uid": "u"}}


def _node_changed(**changes: Any) -> tuple[dict[str, Any], str]:
    wf = _diamond()
    pod = _first_pod(wf)
    wf["status"]["nodes"][pod].update(changes)
    return wf, f"/status/nodes/{pod}"


def _node_changed_to(value: Any) -> tuple[dict[str, Any], str]:
    wf = _diamond()
    pod = _first_pod(wf)
    wf["status"]["nodes"][pod] = value
    return wf, f"/status/nodes/{pod}"


def _templates_changed(**changes: Any) -> dict[str, Any]:
    wf = _diamond()
    wf.setdefault("spec", {})["templates"] = [{"name": "t", **changes}]
    return wf


@pytest.mark.parametrize(
    "case",
    [
        lambda: (_with_name(5), "/metadata/name"),
        lambda: (_with_name("w\u0000"), "/metadata/name"),
        lambda: ({**_diamond(), "status": "done"}, "/status"),
        lambda: (
            {
                **_diamond(),
                "status": {**_diamond()["status"], "startedAt": "0001-01-01T00:00:00+01:00"},
            },
            "/status/startedAt",
        ),
        lambda: (lambda wf, at: (wf, f"{at}/startedAt"))(*_node_changed(startedAt="garbage")),
        lambda: (lambda wf, at: (wf, f"{at}/children"))(*_node_changed(children="x")),
        lambda: (lambda wf, at: (wf, f"{at}/children/1"))(*_node_changed(children=["a", 7])),
        lambda: (lambda wf, at: (wf, f"{at}/outputs/artifacts/0"))(
            *_node_changed(outputs={"artifacts": ["x"]})
        ),
        lambda: (lambda wf, at: (wf, f"{at}/outputs/artifacts/0"))(
            *_node_changed(outputs={"artifacts": [None]})
        ),
        lambda: (lambda wf, at: (wf, f"{at}/outputs/artifacts/0/s3/key"))(
            *_node_changed(outputs={"artifacts": [{"name": "m", "s3": {"key": {"a": 1}}}]})
        ),
        lambda: (lambda wf, at: (wf, f"{at}/inputs/parameters/0/value"))(
            *_node_changed(inputs={"parameters": [{"name": "p", "value": 1.5}]})
        ),
        lambda: (lambda wf, at: (wf, at))(*_node_changed_to(None)),
        lambda: (_templates_changed(container="x"), "/spec/templates/0/container"),
        lambda: (
            _templates_changed(container={"command": 5}),
            "/spec/templates/0/container/command",
        ),
        lambda: (_templates_changed(name=1.5), "/spec/templates/0/name"),
    ],
    ids=[
        "name-not-text",
        "name-nul",
        "status-not-object",
        "time-out-of-range",
        "node-time-garbage",
        "children-not-list",
        "child-not-id",
        "artifact-not-object",
        "artifact-null",
        "artifact-key-not-text",
        "parameter-value-not-text",
        "node-null",
        "container-not-object",
        "command-not-list",
        "template-name-not-text",
    ],
)
def test_what_cannot_be_imported_is_refused_where_it_is(client: TestClient, case: Any) -> None:
    workflow, pointer = case()
    response = client.post(f"{API}/argo/workflows", json=workflow)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["pointer"] for e in response.json()["errors"]] == [pointer]
    assert _counts(client)["runs"] == 0


def test_a_node_cannot_be_its_own_child(client: TestClient) -> None:
    wf = _diamond()
    pod = _first_pod(wf)
    wf["status"]["nodes"][pod]["children"] = [pod]
    response = client.post(f"{API}/argo/workflows", json=wf)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"pointer": f"/status/nodes/{pod}/children/0", "detail": "a node cannot be its own child"}
    ]


def test_children_the_workflow_does_not_list_are_kept_visible(client: TestClient) -> None:
    # Argo's own workflows name children before listing them, finished ones too.
    wf = load_workflow(FIXTURES / "argo" / "operator_test__paramAggregation.yaml")
    nodes = wf["status"]["nodes"]
    unlisted = sorted({c for n in nodes.values() for c in n.get("children") or []} - set(nodes))
    assert unlisted and wf["status"]["phase"] == "Succeeded"
    run = get(client, "runs", send(client, wf)["run"])
    assert json.loads(run["annotations"]["argo.unlistedChildren"]) == unlisted

    listed = get(client, "runs", send(client, _diamond())["run"])
    assert "argo.unlistedChildren" not in listed["annotations"]
