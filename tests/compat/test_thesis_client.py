"""The thesis's own client, unchanged, against a real modeltrail server.

``mmp-metadata`` 1.1.3 is the client the thesis's author generated from Appendix A and
published on PyPI. It drives a real ``modeltrail server`` process through a three-run version
of the case study of Chapter 8: prepare -> train -> deploy, run 1 on MNIST (started by hand),
run 2 on EMNIST letters with another learning rate (started by a data-change event), run 3 on
MNIST again. Every one of the client's 19 operations is called, and what it reads back is
checked.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import mmp_metadata_client
import pytest
from mmp_metadata_client import (
    ApiClient,
    ArtifactApi,
    Configuration,
    Dataset,
    Event,
    Executable,
    Execution,
    ExecutionApi,
    Experiment,
    ExperimentApi,
    Metrics,
    Model,
    Pair,
    Pipeline,
    Run,
    RunApi,
    TraceApi,
    WorkflowApi,
)
from mmp_metadata_client.exceptions import ApiException

CLIENT_APIS = Path(mmp_metadata_client.__file__).parent / "api"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "kinds"

MNIST = {"name": "mnist", "version": "1", "uri": "s3://datasets/mnist.npz", "type": "Blob"}
EMNIST = {
    "name": "emnist-letters",
    "version": "1",
    "uri": "s3://datasets/emnist-letters.npz",
    "type": "Blob",
}


class Thesis:
    """The six APIs of the client, on one connection."""

    def __init__(self, url: str) -> None:
        # The generated Configuration hands out copies of the first one ever made and ignores
        # its arguments after that: set the host on the copy.
        configuration = Configuration()
        configuration.host = url + "/v1/metadata"
        self.client = ApiClient(configuration=configuration)
        self.called: set[tuple[str, str]] = set()
        call_api = self.client.call_api

        def recording(resource_path: str, method: str, *args: Any, **kwargs: Any) -> Any:
            self.called.add((method, resource_path))
            return call_api(resource_path, method, *args, **kwargs)

        self.client.call_api = recording  # type: ignore[method-assign]
        self.experiments = ExperimentApi(self.client)
        self.runs = RunApi(self.client)
        self.executions = ExecutionApi(self.client)
        self.artifacts = ArtifactApi(self.client)
        self.trace = TraceApi(self.client)
        self.workflow = WorkflowApi(self.client)


def run_pipeline(
    api: Thesis,
    experiment: str,
    *,
    number: int,
    data: dict[str, str],
    learning_rate: str,
    event: Event,
    pipeline: Pipeline,
) -> dict[str, Any]:
    """One run of the case study's pipeline, logged the way the thesis's steps logged it."""
    run = api.runs.add_run(
        experiment,
        run=Run(
            name=f"run {number}",
            version="1.0",
            status="RUNNING",
            event=event,
            pipeline=pipeline,
            configuration={"dataset": data["name"], "learning-rate": learning_rate},
        ),
    )
    started = datetime(2019, 9, 25, 15, 0) + timedelta(hours=number)  # naive, as the thesis sent

    # 1) prepare: the raw dataset comes in embedded (created here); the prepared one goes out.
    prepare = api.executions.add_execution(
        run.id,
        execution=Execution(
            name="prepare",
            version="1.0",
            kind="prepare",
            status="RUNNING",
            start_time=started,
            executable=Executable(
                name="prepare.py", version="1.0", uri="git://pipelines/prepare.py"
            ),
            input_artifacts=[Dataset(**data)],
        ),
    )
    prepared = api.artifacts.add_artifact(
        prepare.id,
        artifact=Dataset(
            name=f"{data['name']}-prepared",
            version="1",
            type="Blob",
            uri=data["uri"].replace(".npz", "-prepared.npz"),
        ),
    )
    # 2) train: no executable given (the server derives one), the prepared dataset linked by id.
    train = api.executions.add_execution(
        run.id,
        execution=Execution(
            name="train",
            version="1.0",
            kind="train",
            status="RUNNING",
            start_time=started + timedelta(minutes=5),
            input_artifacts=[Dataset(id=prepared.id, name=prepared.name, version=prepared.version)],
            configuration={
                "learning-rate": learning_rate,
                "training-iters": "20000",
                "batch-size": "128",
            },
        ),
    )
    model = api.artifacts.add_artifact(
        train.id,
        artifact=Model(
            name="cnn",
            version=str(number),
            framework=Pair("Tensorflow", "1.14"),
            hyper_parameters={"learning-rate": learning_rate, "training-iters": "20000"},
            uri=f"s3://model-output/cnn-{number}.pb",
        ),
    )
    accuracy = {"mnist": "0.914", "emnist-letters": "0.762"}[data["name"]]
    metrics = api.artifacts.add_artifact(
        train.id,
        artifact=Metrics(
            name="accuracy",
            version=str(number),
            reference=model,
            schema="number",
            value=accuracy,
        ),
    )
    # 3) deploy: a kind of the user's own, sent as a plain document (the client's models only
    # know the thesis's four kinds), referring to the model it serves.
    deploy = api.executions.add_execution(
        run.id,
        execution=Execution(
            name="deploy",
            version="1.0",
            kind="deploy",
            status="RUNNING",
            start_time=started + timedelta(minutes=30),
            executable=Executable(name="deploy.py", version="1.0", uri="git://pipelines/deploy.py"),
            input_artifacts=[model],
        ),
    )
    deployment = api.artifacts.add_artifact(
        deploy.id,
        artifact={
            "name": "cnn-service",
            "version": str(number),
            "kind": "deployment",
            "endpoint": "http://seldon.local/cnn/api/v1.0/predictions",
            "environment": "production",
            "model": {"id": model.id, "name": model.name, "version": model.version},
        },
    )
    for execution in (prepare, train, deploy):
        execution.status = "SUCCESS"
        execution.end_time = started + timedelta(minutes=45)
        assert api.executions.update_execution_by_id(execution.id, execution=execution) is None
    run.status = "SUCCESS"
    api.runs.update_run_by_id(run.id, run=run)
    return {
        "run": run,
        "prepare": prepare,
        "train": train,
        "deploy": deploy,
        "prepared": prepared,
        "model": model,
        "metrics": metrics,
        "deployment": deployment,
    }


def log_case_study(server: Any) -> dict[str, Any]:
    """The three runs of the case study, logged through the client against a real server."""
    for kind in ("deployment", "validation"):
        spec = json.loads((EXAMPLES / f"{kind}.json").read_text())
        assert httpx.post(f"{server.url}/api/v1/kinds", json=spec).status_code in (200, 201)
    api = Thesis(server.url)
    experiment = api.experiments.add_experiment(
        experiment=Experiment(
            name="handwriting recognition",
            version="1.0",
            annotations={"team": "mmp"},
        )
    )
    pipeline = Pipeline(
        name="cnn-pipeline",
        version="1.0",
        executables=[
            Executable(name="prepare.py", version="1.0", uri="git://pipelines/prepare.py"),
            Executable(name="deploy.py", version="1.0", uri="git://pipelines/deploy.py"),
        ],
    )
    runs = [
        run_pipeline(
            api,
            experiment.id,
            number=1,
            data=MNIST,
            learning_rate="0.001",
            event=Event(kind="event", name="manual start", version="1", cause="manual"),
            pipeline=pipeline,
        ),
    ]
    stored_pipeline = api.runs.get_run_by_id(runs[0]["run"].id).pipeline
    runs.append(
        run_pipeline(
            api,
            experiment.id,
            number=2,
            data=EMNIST,
            learning_rate="0.01",
            event=Event(
                kind="event",
                name="minio put emnist-letters.npz",
                version="1",
                cause="data change",
                uri="s3://datasets/emnist-letters.npz",
            ),
            pipeline=stored_pipeline,
        )
    )
    runs.append(
        run_pipeline(
            api,
            experiment.id,
            number=3,
            data=MNIST,
            learning_rate="0.001",
            event=Event(kind="event", name="manual start", version="1", cause="manual"),
            pipeline=stored_pipeline,
        )
    )
    return {"api": api, "experiment": experiment, "runs": runs, "url": server.url}


def client_operations() -> set[tuple[str, str]]:
    """(method, path) of every operation the client has, read from its source."""
    found = set()
    for module in CLIENT_APIS.glob("*_api.py"):
        for path, method in re.findall(
            r"'(/experiments[^']*)', '(GET|POST|PUT)'", module.read_text()
        ):
            found.add((method, path))
    return found


def test_the_case_study_through_the_thesis_client(server: Any) -> None:
    case_study = log_case_study(server)
    check_reads(case_study)
    check_trace(case_study)
    check_workflow(case_study)
    operations = client_operations()
    assert len(operations) == 19
    assert case_study["api"].called == operations


def check_reads(case_study: dict[str, Any]) -> None:
    api: Thesis = case_study["api"]
    experiment = case_study["experiment"]
    run1, run2, run3 = case_study["runs"]

    # experiments: list, read, update
    listed = api.experiments.get_experiments()
    assert [e.id for e in listed] == [experiment.id]
    assert [r.id for r in listed[0].runs] == [run1["run"].id, run2["run"].id, run3["run"].id]
    experiment.annotations = {"team": "mmp", "case-study": "chapter 8"}
    experiment.version = "1.1"
    api.experiments.update_experiment_by_id(experiment.id, experiment=experiment)
    read = api.experiments.get_experiment_by_id(experiment.id)
    assert (read.name, read.version, read.annotations) == (
        "handwriting recognition",
        "1.1",
        {"team": "mmp", "case-study": "chapter 8"},
    )

    # runs: status, trigger events, one pipeline shared by all three
    runs = api.runs.get_runs_by_experiment(experiment.id)
    assert [(r.name, r.status) for r in runs] == [
        ("run 1", "SUCCESS"),
        ("run 2", "SUCCESS"),
        ("run 3", "SUCCESS"),
    ]
    assert [r.event.name for r in runs] == [
        "manual start",
        "minio put emnist-letters.npz",
        "manual start",
    ]
    assert len({r.pipeline.id for r in runs}) == 1
    assert [e.name for e in runs[0].pipeline.executables] == ["prepare.py", "deploy.py"]
    run2_read = api.runs.get_run_by_id(run2["run"].id)
    assert run2_read.configuration == {"dataset": "emnist-letters", "learning-rate": "0.01"}
    assert [e.name for e in run2_read.executions] == ["prepare", "train", "deploy"]

    # executions: executables linked, given or derived; times kept; updates applied
    executions = api.executions.get_executions_by_run(run1["run"].id)
    assert [(e.name, e.status) for e in executions] == [
        ("prepare", "SUCCESS"),
        ("train", "SUCCESS"),
        ("deploy", "SUCCESS"),
    ]
    assert [e.executable.name for e in executions] == ["prepare.py", "train", "deploy.py"]
    train = api.executions.get_execution_by_id(run1["train"].id)
    assert train.configuration["learning-rate"] == "0.001"
    assert train.start_time.isoformat() == "2019-09-25T16:05:00+00:00"  # naive was read as UTC
    assert train.end_time.isoformat() == "2019-09-25T16:45:00+00:00"
    assert [a.id for a in train.input_artifacts] == [run1["prepared"].id]
    assert [a.name for a in train.output_artifacts] == ["cnn", "accuracy"]
    # Runs 1 and 3 ran the same prepare.py: one executable; train's was derived once, too.
    assert (
        api.executions.get_execution_by_id(run3["prepare"].id).executable.id
        == executions[0].executable.id
    )
    assert (
        api.executions.get_execution_by_id(run3["train"].id).executable.id
        == executions[1].executable.id
    )

    # artifacts: by execution, by id, by run, by experiment
    outputs = api.artifacts.get_artifacts_by_execution(run2["train"].id)
    assert [(a.name, a.kind) for a in outputs] == [("cnn", "model"), ("accuracy", "metrics")]
    model = api.artifacts.get_artifacts_by_id(run2["model"].id)
    assert (model.name, model.version, model.kind, model.uri) == (
        "cnn",
        "2",
        "model",
        "s3://model-output/cnn-2.pb",
    )
    run_artifacts = api.artifacts.get_artifacts_by_run(run2["run"].id)
    assert {a.name for a in run_artifacts} == {
        "emnist-letters",
        "emnist-letters-prepared",
        "cnn",
        "accuracy",
        "cnn-service",
        "minio put emnist-letters.npz",
    }
    all_artifacts = api.artifacts.get_artifacts_by_experiment(experiment.id)
    assert len(all_artifacts) == 3 * len(run_artifacts)
    assert len({a.id for a in all_artifacts}) == len(all_artifacts)

    # The kind attributes are on the wire at top level, as the thesis's schema has them.
    url = case_study["url"] + "/v1/metadata/experiments/runs/executions/artifacts/"
    model_doc = httpx.get(url + run2["model"].id).json()
    assert model_doc["framework"] == {"value1": "Tensorflow", "value2": "1.14"}
    assert model_doc["hyperParameters"] == {"learning-rate": "0.01", "training-iters": "20000"}
    metrics_doc = httpx.get(url + run2["metrics"].id).json()
    assert (metrics_doc["value"], metrics_doc["reference"]["id"]) == ("0.762", run2["model"].id)
    deployment_doc = httpx.get(url + run2["deployment"].id).json()
    assert (
        deployment_doc["model"]["name"] == "cnn" and deployment_doc["environment"] == "production"
    )


def check_trace(case_study: dict[str, Any]) -> None:
    """Equal datasets of runs 1 and 3 (MNIST) are one trace artifact with both run ids."""
    api: Thesis = case_study["api"]
    run1, run2, run3 = (r["run"].id for r in case_study["runs"])
    trace = api.trace.get_trace_by_experiment(case_study["experiment"].id)
    assert trace.experiment_id == case_study["experiment"].id
    assert [(t.name, t.order) for t in trace.execution_types] == [
        ("prepare", 1),
        ("train", 2),
        ("deploy", 3),
    ]
    prepare, train, deploy = trace.execution_types
    assert prepare.execution_id == case_study["runs"][0]["prepare"].id
    by_name = {a.name: a.run_ids for a in prepare.artifacts}
    assert by_name == {
        "mnist": [run1, run3],
        "mnist-prepared": [run1, run3],
        "emnist-letters": [run2],
        "emnist-letters-prepared": [run2],
    }
    # Models and metrics differ per run (their versions differ): nothing merges there.
    assert sorted((a.name, tuple(a.run_ids)) for a in train.artifacts) == sorted(
        [("cnn", (r,)) for r in (run1, run2, run3)]
        + [("accuracy", (r,)) for r in (run1, run2, run3)]
    )
    assert [a.name for a in deploy.artifacts] == ["cnn-service"] * 3


def check_workflow(case_study: dict[str, Any]) -> None:
    """Each run is the DAG prepare -> train -> deploy, from successors or artifact flow."""
    api: Thesis = case_study["api"]
    run1 = case_study["runs"][0]
    # Run 1: the client names the successors itself (one by one, through PUT).
    prepare, train = run1["prepare"], run1["train"]
    prepare.successors = [train]
    api.executions.update_execution_by_id(prepare.id, execution=prepare)
    assert [s.id for s in api.executions.get_execution_by_id(prepare.id).successors] == [train.id]
    for run in case_study["runs"]:  # runs 2 and 3 rely on artifact flow alone
        workflow = api.workflow.get_workflow_by_run(run["run"].id)
        assert workflow.run_id == run["run"].id
        root = workflow.root
        assert root.node_id == run["prepare"].id
        assert [c.node_id for c in root.children] == [run["train"].id]
        assert [c.node_id for c in root.children[0].children] == [run["deploy"].id]
        assert root.children[0].children[0].children == []


def test_client_errors_are_problems_not_crashes(server: Any) -> None:
    api = Thesis(server.url)
    with pytest.raises(ApiException) as missing:
        api.experiments.get_experiment_by_id("6d1e0d4c-0000-4000-8000-000000000000")
    assert missing.value.status == 404
    assert missing.value.headers["content-type"] == "application/problem+json"
    with pytest.raises(ApiException) as bad:
        api.runs.add_run("6d1e0d4c-0000-4000-8000-000000000000", run=Run(name="r", version="1"))
    assert bad.value.status == 404
    assert api.experiments.get_experiments() == []
