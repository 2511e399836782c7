"""MLflow's own client, unchanged, against a real ``modeltrail server`` on SQLite and PostgreSQL.

Only the tracking URI differs from a user's MLflow code; what the client logged is then read
back through modeltrail's own API as experiments and runs.
"""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import LoggedModelOutput, LoggedModelStatus, Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException, RestException

from conftest import ServerProcess

# MLflow's own code warns of what its dependencies will deprecate: not ours to fix.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning:mlflow.*")]

ADMIN = "mlflow-admin-token-0123456789abcdef"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_a_tracked_run_is_a_modeltrail_run(client: MlflowClient, server: ServerProcess) -> None:
    experiment = mlflow.set_experiment(_name("digits"))
    with mlflow.start_run(run_name="train") as run:
        mlflow.log_params({"learning_rate": 0.01, "optimizer": "adam"})
        mlflow.set_tags({"team": "vision"})
        with mlflow.start_run(run_name="fold-1", nested=True) as child:
            mlflow.log_param("fold", 1)
    got = client.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert got.info.run_name == "train"
    assert got.info.experiment_id == experiment.experiment_id
    assert got.data.params == {"learning_rate": "0.01", "optimizer": "adam"}
    assert got.data.tags["team"] == "vision"
    assert client.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == run.info.run_id

    # The same run through modeltrail's own API: params are its configuration, tags its
    # annotations, MLflow's experiment its experiment.
    own = httpx.get(f"{server.url}/api/v1/runs/{uuid.UUID(run.info.run_id)}").json()
    assert own["experiment"] == experiment.experiment_id
    assert own["name"] == "train"
    assert own["status"] == "SUCCESS"
    assert own["configuration"] == {"learning_rate": "0.01", "optimizer": "adam"}
    assert own["annotations"]["team"] == "vision"
    nested = httpx.get(f"{server.url}/api/v1/runs/{uuid.UUID(child.info.run_id)}").json()
    assert nested["annotations"]["mlflow.parentRunId"] == run.info.run_id
    exp = httpx.get(f"{server.url}/api/v1/experiments/{experiment.experiment_id}").json()
    assert exp["name"] == experiment.name


def test_runs_without_an_experiment_go_to_default(client: MlflowClient) -> None:
    run = client.create_run("0")
    assert run.info.experiment_id == "0"
    assert client.get_experiment("0").name == "Default"
    client.set_terminated(run.info.run_id, "KILLED")
    assert client.get_run(run.info.run_id).info.status == "KILLED"


def test_run_updates_tags_and_lifecycle(client: MlflowClient) -> None:
    eid = client.create_experiment(_name("life"))
    run = client.create_run(eid, run_name="first", tags={"a": "1"})
    rid = run.info.run_id
    client.set_tag(rid, "b", "2")
    client.delete_tag(rid, "a")
    client.update_run(rid, name="renamed")
    client.log_batch(rid, params=[Param("p", "x")], tags=[RunTag("c", "3")], metrics=[])
    got = client.get_run(rid)
    assert got.info.run_name == "renamed"
    assert got.data.tags["mlflow.runName"] == "renamed"
    assert {k: got.data.tags[k] for k in ("b", "c")} == {"b": "2", "c": "3"}
    assert "a" not in got.data.tags
    client.set_terminated(rid)
    # A finished run resumed by MLflow's client is running again, as on MLflow's server.
    client.update_run(rid, status="RUNNING")
    assert client.get_run(rid).info.status == "RUNNING"
    assert client.get_run(rid).info.end_time is None

    client.delete_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "deleted"
    assert client.search_runs([eid]) == []
    assert len(client.search_runs([eid], run_view_type=ViewType.DELETED_ONLY)) == 1
    with pytest.raises(MlflowException) as refused:
        client.set_tag(rid, "d", "4")
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    client.restore_run(rid)
    assert [r.info.run_id for r in client.search_runs([eid])] == [rid]


def test_experiments(client: MlflowClient) -> None:
    name = _name("exp")
    eid = client.create_experiment(name, tags={"owner": "ana"})
    assert client.get_experiment_by_name(name).experiment_id == eid
    assert client.get_experiment_by_name(_name("absent")) is None
    client.set_experiment_tag(eid, "stage", "dev")
    client.rename_experiment(eid, name + "-2")
    got = client.get_experiment(eid)
    assert got.name == name + "-2"
    assert got.tags == {"owner": "ana", "stage": "dev"}
    found = client.search_experiments(filter_string=f"name = '{name}-2'")
    assert [e.experiment_id for e in found] == [eid]
    found = client.search_experiments(filter_string="tags.owner = 'ana'")
    assert eid in [e.experiment_id for e in found]
    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "deleted"
    assert eid not in [e.experiment_id for e in client.search_experiments()]
    deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY)
    assert eid in [e.experiment_id for e in deleted]
    with pytest.raises(MlflowException) as refused:
        client.create_run(eid)
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    client.restore_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "active"
    with pytest.raises(MlflowException) as refused:
        client.create_experiment(name + "-2")
    assert refused.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_search_runs_with_mlflows_grammar(client: MlflowClient) -> None:
    eid = client.create_experiment(_name("search"))
    ids = {}
    for i, (lr, opt) in enumerate([("0.1", "adam"), ("0.01", "sgd"), ("0.001", "adam")]):
        run = client.create_run(eid, run_name=f"run-{i}", start_time=1_700_000_000_000 + i)
        client.log_batch(run.info.run_id, params=[Param("lr", lr), Param("opt", opt)])
        client.set_tag(run.info.run_id, "fold", str(i))
        ids[i] = run.info.run_id
    client.set_terminated(ids[0])

    def found(filter_string: str, **kwargs: object) -> list[str]:
        return [
            r.info.run_name
            for r in client.search_runs([eid], filter_string=filter_string, **kwargs)  # type: ignore[arg-type]
        ]

    assert found("") == ["run-2", "run-1", "run-0"]  # newest first
    assert found("params.opt = 'adam'") == ["run-2", "run-0"]
    assert found("params.opt = 'adam' and tags.fold != '0'") == ["run-2"]
    assert found("params.lr LIKE '0.0%'") == ["run-2", "run-1"]
    assert found("attributes.status = 'FINISHED'") == ["run-0"]
    assert found("status = 'RUNNING'") == ["run-2", "run-1"]
    assert found(f"attributes.run_id IN ('{ids[1]}', '{ids[2]}')") == ["run-2", "run-1"]
    assert found("attributes.start_time > 1700000000000") == ["run-2", "run-1"]
    assert found("tags.missing IS NULL and params.opt ILIKE 'SGD'") == ["run-1"]
    assert found('params.`opt` = "sgd"') == ["run-1"]
    assert found("", order_by=["params.lr ASC"]) == ["run-2", "run-1", "run-0"]
    assert found("", order_by=["attributes.run_name DESC"]) == ["run-2", "run-1", "run-0"]

    page = client.search_runs([eid], max_results=2)
    assert len(page) == 2 and page.token
    rest = client.search_runs([eid], max_results=2, page_token=page.token)
    assert [r.info.run_name for r in rest] == ["run-0"] and not rest.token


def test_search_runs_operators_in_the_database(client: MlflowClient) -> None:
    eid = client.create_experiment(_name("operators"))
    start = 1_700_000_000_000
    ids = []
    for i, (opt, acc) in enumerate([("Adam", 0.5), ("sgd", 0.9), ("adam", None)]):
        run = client.create_run(eid, run_name=f"r{i}", start_time=start + 10 * i)
        rid = run.info.run_id
        ids.append(rid)
        client.log_param(rid, "opt", opt)
        if acc is not None:
            client.log_metric(rid, "acc", 0.1, step=0)
            client.log_metric(rid, "acc", acc, step=1)  # the latest step is the one compared
        client.set_tag(rid, "fold", str(i))
    client.log_param(ids[0], "only", "here")
    client.set_terminated(ids[0], "KILLED", end_time=start + 100)
    client.set_terminated(ids[1], "FINISHED", end_time=start + 200)

    def found(query: str, **kwargs: object) -> list[str]:
        runs = client.search_runs([eid], filter_string=query, **kwargs)  # type: ignore[arg-type]
        return [r.info.run_name for r in runs]

    # Metrics: numbers, a run without the key never compares (not even with !=).
    assert found("metrics.acc = 0.9") == ["r1"]
    assert found("metrics.acc != 0.9") == ["r0"]
    assert found("metrics.acc > 0.5") == ["r1"]
    assert found("metrics.acc >= 0.5") == ["r1", "r0"]
    assert found("metrics.acc < 0.9") == ["r0"]
    assert found("metrics.acc <= 0.9") == ["r1", "r0"]
    # Params and tags: text, LIKE case-sensitive, ILIKE not, != only where the key is.
    assert found("params.opt = 'adam'") == ["r2"]
    assert found("params.opt != 'adam'") == ["r1", "r0"]
    assert found("params.only != 'x'") == ["r0"]
    assert found("params.opt LIKE 'a%'") == ["r2"]
    assert found("params.opt ILIKE 'a%'") == ["r2", "r0"]
    assert found("params.opt LIKE '_gd'") == ["r1"]
    assert found("params.only IS NULL") == ["r2", "r1"]
    assert found("params.only IS NOT NULL") == ["r0"]
    assert found("tags.fold = '1'") == ["r1"]
    assert found("tags.fold != '1' and tags.fold LIKE '%'") == ["r2", "r0"]
    # Attributes.
    assert found("attributes.status = 'KILLED'") == ["r0"]
    assert found("attributes.status != 'RUNNING'") == ["r1", "r0"]
    assert found("attributes.status LIKE 'FIN%'") == ["r1"]
    assert found("attributes.run_name = 'r1'") == ["r1"]
    assert found("attributes.run_name ILIKE 'R%'") == ["r2", "r1", "r0"]
    assert found(f"attributes.run_id = '{ids[2]}'") == ["r2"]
    assert found(f"attributes.run_id != '{ids[2]}'") == ["r1", "r0"]
    assert found(f"attributes.run_id NOT IN ('{ids[0]}', 'not-a-run')") == ["r2", "r1"]
    assert found(f"attributes.run_id LIKE '{ids[1][:8]}%'") == ["r1"]
    assert found(f"attributes.start_time = {start + 10}") == ["r1"]
    assert found(f"attributes.start_time != {start + 10}") == ["r2", "r0"]
    assert found(f"attributes.start_time >= {start + 10}") == ["r2", "r1"]
    assert found(f"attributes.start_time < {start + 10}") == ["r0"]
    assert found(f"attributes.start_time <= {start + 10}") == ["r1", "r0"]
    assert found(f"attributes.end_time > {start + 150}") == ["r1"]
    assert found("attributes.artifact_uri LIKE '%artifacts'") == ["r2", "r1", "r0"]
    # Order: a run without the key last in either direction; paging over a filter.
    assert found("", order_by=["metrics.acc ASC"]) == ["r0", "r1", "r2"]
    assert found("", order_by=["metrics.acc DESC"]) == ["r1", "r0", "r2"]
    assert found("", order_by=["params.only DESC", "tags.fold ASC"]) == ["r0", "r1", "r2"]
    assert found("", order_by=["attributes.start_time ASC"]) == ["r0", "r1", "r2"]
    assert found("", order_by=["attributes.status"]) == ["r1", "r0", "r2"]
    page = client.search_runs([eid], "params.opt ILIKE '%a%'", max_results=1)
    assert [r.info.run_name for r in page] == ["r2"] and page.token
    rest = client.search_runs([eid], "params.opt ILIKE '%a%'", max_results=1, page_token=page.token)
    assert [r.info.run_name for r in rest] == ["r0"] and not rest.token
    # Deleted runs: only in their view.
    client.delete_run(ids[1])
    assert found("params.opt = 'sgd'") == []
    assert found("params.opt = 'sgd'", run_view_type=ViewType.DELETED_ONLY) == ["r1"]
    assert found("metrics.acc > 0", run_view_type=ViewType.ALL) == ["r1", "r0"]


def test_mlflows_refusals(client: MlflowClient, server: ServerProcess) -> None:
    eid = client.create_experiment(_name("bad"))
    rid = client.create_run(eid).info.run_id

    def code(call: object, *args: object, **kwargs: object) -> str:
        with pytest.raises(MlflowException) as refused:
            call(*args, **kwargs)  # type: ignore[operator]
        return str(refused.value.error_code)

    assert code(client.get_run, uuid.uuid4().hex) == "RESOURCE_DOES_NOT_EXIST"
    assert code(client.get_run, "not-a-run") == "RESOURCE_DOES_NOT_EXIST"
    assert code(client.get_experiment, str(uuid.uuid4())) == "RESOURCE_DOES_NOT_EXIST"
    client.log_param(rid, "depth", 3)
    client.log_param(rid, "depth", 3)  # the same value again is no change
    assert code(client.log_param, rid, "depth", 5) == "INVALID_PARAMETER_VALUE"
    assert client.get_run(rid).data.params == {"depth": "3"}
    for bad in ("params.depth == '3'", "metrics.acc > 'x'", "foo.bar = '1'", "params.a = '1' or"):
        assert code(client.search_runs, [eid], filter_string=bad) == "INVALID_PARAMETER_VALUE"
    assert code(client.search_runs, [eid], order_by=["params.a sideways"]) == (
        "INVALID_PARAMETER_VALUE"
    )
    # All or nothing: one param of a batch refused stores none of it.
    assert (
        code(client.log_batch, rid, params=[Param("fresh", "1"), Param("depth", "4")])
        == "INVALID_PARAMETER_VALUE"
    )
    assert "fresh" not in client.get_run(rid).data.params
    assert code(client.set_tag, rid, "../escape", "x") == "INVALID_PARAMETER_VALUE"
    # Metrics alone are logged only to a run that is there and not deleted.
    assert code(client.log_metric, uuid.uuid4().hex, "acc", 1.0) == "RESOURCE_DOES_NOT_EXIST"
    gone = client.create_run(eid).info.run_id
    client.log_metric(gone, "acc", 0.5)
    client.delete_run(gone)
    assert code(client.log_metric, gone, "acc", 1.0) == "INVALID_PARAMETER_VALUE"
    empty = httpx.post(f"{server.url}/api/2.0/mlflow/runs/log-batch", json={"run_id": gone})
    assert empty.status_code == 400
    assert empty.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    client.restore_run(gone)
    client.log_metric(gone, "acc", 0.75)
    assert client.get_run(gone).data.metrics == {"acc": 0.75}

    # What MLflow's client cannot send, sent by hand: still MLflow's error shape.
    base = f"{server.url}/api/2.0/mlflow"
    answer = httpx.post(
        f"{base}/runs/set-tag",
        content=b'{"run_id": "%s", "key": "k", "value": "\\ud800"}' % rid.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    # MLflow's client splits a large batch itself; its server refuses one over its limits.
    too_many = [{"key": f"p{i}", "value": "v"} for i in range(101)]
    answer = httpx.post(f"{base}/runs/log-batch", json={"run_id": rid, "params": too_many})
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "p0" not in client.get_run(rid).data.params
    answer = httpx.post(f"{base}/runs/no-such-call", json={})
    assert answer.status_code == 404
    assert answer.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    answer = httpx.post(
        f"{base}/runs/create", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert set(answer.json()) == {"error_code", "message"}


def test_tracking_token_is_a_modeltrail_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = ServerProcess(f"sqlite:///{tmp_path / 's.db'}", "--admin-token", ADMIN, cwd=tmp_path)
    try:
        admin = {"Authorization": f"Bearer {ADMIN}"}

        def token(role: str) -> str:
            made = httpx.post(
                f"{proc.url}/api/v1/tokens", json={"name": role, "role": role}, headers=admin
            )
            return str(made.json()["token"])

        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        reader_token, writer_token = token("reader"), token("writer")
        # A reader on an empty store sees no Default experiment, and makes none.
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", reader_token)
        assert MlflowClient(proc.url).search_experiments() == []
        assert httpx.get(f"{proc.url}/api/v1/experiments", headers=admin).json()["items"] == []

        # A writer's run that names no experiment lands in Default, as on MLflow's server
        # (whatever experiment the tests before set as active).
        monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
        monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
        monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", writer_token)
        mlflow.set_tracking_uri(proc.url)
        try:
            with mlflow.start_run() as default_run:
                pass
        finally:
            mlflow.set_tracking_uri(None)
        assert default_run.info.experiment_id == "0"
        writer = MlflowClient(proc.url)
        assert writer.get_experiment("0").name == "Default"
        eid = writer.create_experiment("guarded")
        rid = writer.create_run(eid).info.run_id
        writer.log_param(rid, "x", "1")
        made = httpx.get(f"{proc.url}/api/v1/runs/{uuid.UUID(rid)}", headers=admin).json()
        assert made["createdBy"]["name"] == "writer"

        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", reader_token)
        reader = MlflowClient(proc.url)
        assert [r.info.run_id for r in reader.search_runs([eid])] == [rid]
        with pytest.raises(MlflowException) as refused:
            reader.set_tag(rid, "k", "v")
        assert refused.value.error_code == "PERMISSION_DENIED"

        monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
        with pytest.raises(RestException) as refused:
            MlflowClient(proc.url).get_run(rid)
        assert refused.value.error_code == "UNAUTHENTICATED"
    finally:
        proc.stop()


def test_what_mlflow_logged_answers_modeltrails_lineage(
    client: MlflowClient, server: ServerProcess
) -> None:
    import pandas as pd

    mlflow.set_experiment(_name("lineage"))
    frame = pd.DataFrame({"pixels": [0.0, 1.0], "label": [0, 1]})
    dataset = mlflow.data.from_pandas(frame, source="s3://data/digits.csv", name="digits")
    with mlflow.start_run(run_name="train") as run:
        mlflow.log_input(dataset, context="training")
        model = client.create_logged_model(
            run.info.experiment_id,
            name="classifier",
            source_run_id=run.info.run_id,
            params={"C": "1.0"},
            tags={"framework": "sklearn"},
        )
        client.log_outputs(run.info.run_id, [LoggedModelOutput(model.model_id, 0)])
        client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)

    got = client.get_run(run.info.run_id)
    [read] = got.inputs.dataset_inputs
    assert (read.dataset.name, read.dataset.digest) == ("digits", dataset.digest)
    assert json.loads(read.dataset.source) == {"uri": "s3://data/digits.csv"}
    assert {t.key: t.value for t in read.tags} == {"mlflow.data.context": "training"}
    assert [o.model_id for o in got.outputs.model_outputs] == [model.model_id]
    logged = client.get_logged_model(model.model_id)
    assert logged.status == LoggedModelStatus.READY
    assert logged.source_run_id == run.info.run_id
    assert logged.params == {"C": "1.0"} and logged.tags == {"framework": "sklearn"}
    found = client.search_logged_models(
        [run.info.experiment_id], filter_string="name = 'classifier'"
    )
    assert [m.model_id for m in found] == [model.model_id]
    # A model of the same name in another experiment is that experiment's alone.
    other = client.create_experiment(_name("lineage-other"))
    twin = client.create_logged_model(other, name="classifier")
    found = client.search_logged_models(
        [run.info.experiment_id], filter_string="name = 'classifier'"
    )
    assert [m.model_id for m in found] == [model.model_id]
    both = client.search_logged_models([run.info.experiment_id, other])
    assert {m.model_id for m in both} == {model.model_id, twin.model_id}
    runs = mlflow.search_runs(filter_string="datasets.name = 'digits'", output_format="list")
    assert run.info.run_id in [r.info.run_id for r in runs]

    # modeltrail's own lineage: the model's upstream reaches the dataset log_input declared,
    # through the run's execution.
    artifact = uuid.UUID(model.model_id.removeprefix("m-"))
    lineage = httpx.get(f"{server.url}/api/v1/artifacts/{artifact}/lineage").json()
    nodes = {(n["type"], n.get("kind")): n for n in lineage["nodes"]}
    assert nodes[("artifact", "model")]["name"] == "classifier"
    assert nodes[("artifact", "dataset")]["name"] == "digits"
    assert nodes[("artifact", "dataset")]["uri"] == "s3://data/digits.csv"
    assert nodes[("execution", "mlflow-run")]["status"] == "SUCCESS"
    data_id = nodes[("artifact", "dataset")]["id"]
    impact = httpx.get(f"{server.url}/api/v1/artifacts/{data_id}/impact").json()
    assert str(artifact) in [a["artifact"]["id"] for a in impact["artifacts"]]


def test_refused_inputs_and_models(client: MlflowClient, server: ServerProcess) -> None:
    eid = client.create_experiment(_name("refusals"))
    rid = client.create_run(eid).info.run_id
    base = f"{server.url}/api/2.0/mlflow"
    bad_inputs = [
        [{"dataset": {"name": "", "digest": "d"}}],
        [{"dataset": {"name": "n", "digest": "x" * 37}}],
        [{"dataset": {"name": "n", "digest": "d", "source": 5}}],
        ["not an input"],
    ]
    for datasets in bad_inputs:
        answer = httpx.post(f"{base}/runs/log-inputs", json={"run_id": rid, "datasets": datasets})
        assert answer.status_code == 400, datasets
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    unknown = {"run_id": rid, "models": [{"model_id": "m-" + "0" * 32}]}
    answer = httpx.post(f"{base}/runs/outputs", json=unknown)
    assert answer.status_code == 404
    assert answer.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    answer = httpx.get(f"{base}/logged-models/m-nope")
    assert answer.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_run(rid).inputs.dataset_inputs == []


def test_metrics_are_series_with_their_history(client: MlflowClient, server: ServerProcess) -> None:
    eid = client.create_experiment(_name("metrics"))
    rid = client.create_run(eid).info.run_id
    for step in range(5):
        client.log_metric(rid, "loss", 1.0 / (step + 1), timestamp=1_700_000_000_000, step=step)
    client.log_batch(
        rid,
        metrics=[
            Metric("acc", 0.9, 1_700_000_000_001, 3),
            Metric("acc", 0.95, 1_700_000_000_002, 3),  # the same step twice: both kept
            Metric("nan", float("nan"), 1_700_000_000_003, 0),
        ],
    )
    got = client.get_run(rid).data.metrics
    assert got["loss"] == 0.2 and got["acc"] == 0.95 and math.isnan(got["nan"])
    history = client.get_metric_history(rid, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(5)]
    assert [m.value for m in client.get_metric_history(rid, "acc")] == [0.9, 0.95]
    assert client.get_metric_history(rid, "never-logged") == []
    base = f"{server.url}/api/2.0/mlflow"
    first = httpx.get(
        f"{base}/metrics/get-history",
        params={"run_id": rid, "metric_key": "loss", "max_results": 2},
    ).json()
    assert [m["step"] for m in first["metrics"]] == [0, 1]
    rest = httpx.get(
        f"{base}/metrics/get-history",
        params={"run_id": rid, "metric_key": "loss", "max_results": 2,
                "page_token": first["next_page_token"]},
    ).json()  # fmt: skip
    assert [m["step"] for m in rest["metrics"]] == [2, 3]

    # The series is modeltrail's own: its summary answers the native API too.
    own = httpx.get(f"{server.url}/api/v1/runs/{uuid.UUID(rid)}/metrics").json()
    assert {m["key"]: m["count"] for m in own["metrics"]} == {"loss": 5, "acc": 2, "nan": 1}

    def found(query: str, order: list[str] | None = None) -> list[str]:
        runs = client.search_runs([eid], filter_string=query, order_by=order or [])
        return [r.info.run_id for r in runs]

    other = client.create_run(eid).info.run_id
    client.log_metric(other, "loss", 0.7, step=0)
    assert found("metrics.loss < 0.5") == [rid]
    assert found("metrics.loss >= 0.2 and metrics.acc > 0.9") == [rid]
    assert found("", ["metrics.loss DESC"]) == [other, rid]

    for bad in (
        {"run_id": rid, "key": "loss", "value": "high", "timestamp": 1, "step": 0},
        {"run_id": rid, "key": "loss", "value": 1.0, "step": 0},
        {"run_id": rid, "key": "bad\nkey", "value": 1.0, "timestamp": 1},
        {"run_id": rid, "key": "loss", "value": 1.0, "timestamp": 1, "step": "x"},
    ):
        answer = httpx.post(f"{base}/runs/log-metric", json=bad)
        assert answer.status_code == 400, bad
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert len(client.get_metric_history(rid, "loss")) == 5


def test_logging_a_model_leaves_the_runs_history_as_it_was(
    client: MlflowClient, server: ServerProcess
) -> None:
    """MLflow 3's ``log_model`` sends the run's points of step 0 again, linked to the logged
    model: MLflow's server keeps such a point once, and so does modeltrail."""
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    mlflow.set_experiment(_name("relogged"))
    with mlflow.start_run() as run:
        for step in range(3):
            mlflow.log_metrics({"loss": 1.0 / (step + 1), "nan": math.nan}, step=step)
        mlflow.sklearn.log_model(fitted, name="model")
        # Another point at step 0 (another value): kept, as every point is.
        client.log_metric(run.info.run_id, "loss", 0.25, step=0)
    rid = run.info.run_id
    assert [(m.step, m.value) for m in client.get_metric_history(rid, "loss")] == [
        (0, 1.0), (0, 0.25), (1, 0.5), (2, 1.0 / 3)
    ]  # fmt: skip
    assert len(client.get_metric_history(rid, "nan")) == 3
    own = httpx.get(f"{server.url}/api/v1/runs/{uuid.UUID(rid)}/metrics").json()
    assert {m["key"]: m["count"] for m in own["metrics"]} == {"loss": 4, "nan": 3}


def test_the_registry_over_modeltrails(client: MlflowClient, server: ServerProcess) -> None:
    mlflow.set_experiment(_name("registry"))
    with mlflow.start_run() as run:
        model = client.create_logged_model(
            run.info.experiment_id, name="clf", source_run_id=run.info.run_id
        )
        client.log_outputs(run.info.run_id, [LoggedModelOutput(model.model_id, 0)])
    name = _name("digits")
    version = mlflow.register_model(f"models:/{model.model_id}", name)
    assert version.version == "1" and version.run_id == run.info.run_id
    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    assert client.get_registered_model(name).aliases == {"champion": "1"}
    client.set_model_version_tag(name, "1", "validated", "yes")
    assert client.get_model_version(name, "1").tags == {"validated": "yes"}
    client.update_registered_model(name, description="handwritten digits")
    assert client.get_registered_model(name).description == "handwritten digits"
    found = client.search_registered_models(filter_string=f"name = '{name}'")
    assert [m.name for m in found] == [name]
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == ["1"]

    # The version is modeltrail's: it points at the logged model, whose run made it.
    own = httpx.get(f"{server.url}/api/v1/models/{name}/versions/1").json()
    assert own["artifact"]["id"] == str(uuid.UUID(model.model_id.removeprefix("m-")))
    assert own["aliases"] == ["champion"]

    def code(call: object, *args: object) -> str:
        with pytest.raises(MlflowException) as refused:
            call(*args)  # type: ignore[operator]
        return str(refused.value.error_code)

    assert code(client.create_registered_model, name) == "RESOURCE_ALREADY_EXISTS"
    assert code(client.get_model_version, name, "7") == "RESOURCE_DOES_NOT_EXIST"
    assert code(client.get_registered_model, _name("absent")) == "RESOURCE_DOES_NOT_EXIST"
    client.delete_registered_model_alias(name, "champion")
    assert client.get_registered_model(name).aliases == {}


def test_search_model_versions_pages_as_mlflow_does(client: MlflowClient) -> None:
    """MLflow's client pages a model-versions search to its end: each version once, in
    MLflow's order, whatever else the registry holds."""
    prefix = _name("paged")
    counts = {f"{prefix}-b": 4, f"{prefix}-a": 3}
    for name, count in counts.items():
        client.create_registered_model(name)
        for _ in range(count):
            client.create_model_version(name, f"s3://m/{uuid.uuid4().hex}")

    def paged(**kwargs: object) -> list[tuple[str, str]]:
        found, token = [], None
        while True:
            page = client.search_model_versions(max_results=2, page_token=token, **kwargs)
            assert len(page) <= 2
            found += [(v.name, v.version) for v in page]
            token = page.token
            if not token:
                return found

    everything = client.search_model_versions(max_results=10_000)
    assert not everything.token
    newest_first = sorted(
        everything, key=lambda v: (-v.last_updated_timestamp, v.name, -int(v.version))
    )
    assert [(v.name, v.version) for v in everything] == [(v.name, v.version) for v in newest_first]
    assert paged() == [(v.name, v.version) for v in everything]
    mine = f"name LIKE '{prefix}%'"
    assert paged(filter_string=mine, order_by=["name", "version_number ASC"]) == [
        (name, str(n)) for name in sorted(counts) for n in range(1, counts[name] + 1)
    ]
    by_creation = paged(filter_string=mine, order_by=["creation_timestamp ASC"])
    assert len(by_creation) == len(set(by_creation)) == 7
    assert [v for v in by_creation if v[0] == f"{prefix}-b"] == [
        (f"{prefix}-b", str(n)) for n in range(1, 5)
    ]
    assert len(mlflow.search_model_versions(max_results=3, filter_string=mine)) == 3
    assert len(mlflow.search_model_versions(filter_string=mine)) == 7

    def code(**kwargs: object) -> str:
        with pytest.raises(MlflowException) as refused:
            client.search_model_versions(**kwargs)  # type: ignore[arg-type]
        return str(refused.value.error_code)

    assert code(max_results=0) == "INVALID_PARAMETER_VALUE"
    assert code(max_results=200_001) == "INVALID_PARAMETER_VALUE"
    assert code(order_by=["version"]) == "INVALID_PARAMETER_VALUE"
    assert code(order_by=["name", "name DESC"]) == "INVALID_PARAMETER_VALUE"
    assert code(page_token="not a token") == "INVALID_PARAMETER_VALUE"


def test_search_model_versions_filters_on_runs_sources_and_tags(client: MlflowClient) -> None:
    """MLflow's client searches versions by their run, source, tags and number, as MLflow's
    server answers, a page at a time."""
    mlflow.set_experiment(_name("filtered"))
    name = _name("filtered")
    client.create_registered_model(name)
    runs = []
    for number in range(1, 5):
        with mlflow.start_run() as run:
            runs.append(run.info.run_id)
        client.create_model_version(
            name, f"s3://filtered/{number}", run_id=run.info.run_id, tags={"n": str(number)}
        )
    client.set_model_version_tag(name, "2", "stage", "good")
    client.set_model_version_tag(name, "3", "stage", "bad")

    def found(filter: str) -> list[str]:
        versions, token = [], None
        while True:
            page = client.search_model_versions(filter, max_results=1, page_token=token)
            versions += [v.version for v in page]
            token = page.token
            if not token:
                return sorted(versions)

    mine = f"name = '{name}'"
    assert found(f"{mine} and run_id = '{runs[1]}'") == ["2"]
    assert found(f"run_id IN ('{runs[0]}', '{runs[3]}')") == ["1", "4"]
    assert found(f"{mine} and run_id NOT IN ('{runs[0]}', '{runs[3]}')") == ["2", "3"]
    assert found(f"run_id = '{uuid.UUID(runs[1])}'") == []  # MLflow's ids have no dashes
    assert found("source_path LIKE 's3://filtered/%'") == ["1", "2", "3", "4"]
    assert found(f"{mine} and source_path = 's3://filtered/3'") == ["3"]
    assert found(f"{mine} and tags.stage = 'good'") == ["2"]
    assert found(f"{mine} and tags.stage != 'good'") == ["3"]
    assert found(f"{mine} and tags.stage LIKE '%d'") == ["2", "3"]
    assert found(f"{mine} and tags.n = '4' and run_id = '{runs[3]}'") == ["4"]
    assert found(f"{mine} and version_number = '2'") == ["2"]
    assert found(f"{mine} and version_number >= 3") == ["3", "4"]
    assert [v.run_id for v in client.search_model_versions(f"run_id = '{runs[2]}'")] == [runs[2]]

    def code(filter: str) -> str:
        with pytest.raises(MlflowException) as refused:
            client.search_model_versions(filter)
        return str(refused.value.error_code)

    for bad in (
        "version_number = 2.5",
        "version_number = 'two'",
        "run_id = 5",
        "tags.stage IS NULL",
        "tags.stage IN ('good')",
        "source_path IN ('x')",
        f"{mine} or tags.stage = 'good'",
        "run_id = ",
    ):
        assert code(bad) == "INVALID_PARAMETER_VALUE", bad
