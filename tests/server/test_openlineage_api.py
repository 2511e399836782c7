"""The OpenLineage receiver: every fixture stored and checked entity by entity, both databases."""

from __future__ import annotations

import gzip
import json
import random
import uuid
from datetime import datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from sqlalchemy import text
from starlette.testclient import TestClient

from modeltrail.domain import limits
from modeltrail.integrations.openlineage.merging import derived_id
from modeltrail.integrations.openlineage.validation import SPEC_PATH
from modeltrail.services.kinds import register_builtin_kinds
from modeltrail.services.metadata import Metadata
from modeltrail.store.tables import Base
from openlineage_events import complete, load, run_id_for

API = "/api/v1"


def post(client: TestClient, event: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{API}/lineage", json=event)
    assert response.status_code == 200, response.text
    return response.json()


def get(client: TestClient, plural: str, entity_id: Any) -> dict[str, Any]:
    response = client.get(f"{API}/{plural}/{entity_id}")
    assert response.status_code == 200, response.text
    return response.json()


def dataset(client: TestClient, namespace: str, name: str, version: str = "") -> dict[str, Any]:
    return get(client, "artifacts", derived_id("dataset", namespace, name, version))


def run_of(run_id: str) -> uuid.UUID:
    return derived_id("run", run_id)


def execution_of(run_id: str) -> uuid.UUID:
    return derived_id("execution", run_id)


# ---------------------------------------------------------------- client test events


def test_full_event_maps_every_part(client: TestClient) -> None:
    event = load("example_full_event.json")
    answer = post(client, event)
    parent_run, child_run = (
        "3f5e83fa-3480-44ff-99c5-ff943904e5e8",
        "ea041791-68bc-4ae1-bd89-4c8106a157e4",
    )
    assert answer["run"] == str(run_of(parent_run)) and answer["execution"] == str(
        execution_of(child_run)
    )

    experiment = get(client, "experiments", derived_id("experiment", "my-scheduler-namespace"))
    assert experiment["name"] == "my-scheduler-namespace"
    run = get(client, "runs", run_of(parent_run))
    assert run["experiment"] == experiment["id"]
    assert run["name"] == "myjob.mytask" and run["status"] == "RUNNING"  # the parent never reported
    assert run["createTime"].startswith("2020-12-28T19:51:01.641")
    assert run["annotations"]["openlineage.runId"] == parent_run
    pipeline = get(client, "pipelines", run["pipeline"])
    executable = get(
        client, "executables", derived_id("executable", "my-scheduler-namespace", "myjob.mytask")
    )
    assert pipeline["executables"] == [executable["id"]]
    assert executable["description"] == "string"
    assert executable["uri"] == "openlineage://my-scheduler-namespace/myjob.mytask"

    trigger = get(client, "artifacts", run["event"])
    assert trigger["kind"] == "event"
    assert trigger["attributes"] == {
        "cause": "schedule",
        "nominalStartTime": "2020-12-17T03:00:00.001Z",
        "nominalEndTime": "2020-12-17T04:00:00.001Z",
    }

    execution = get(client, "executions", execution_of(child_run))
    assert execution["run"] == run["id"] and execution["executable"] == executable["id"]
    assert execution["status"] == "SUCCESS" and execution["endTime"].startswith(
        "2020-12-28T19:51:01.641"
    )
    assert execution["startTime"] is None
    assert execution["configuration"] == {
        "tags": {
            "tags": [
                {
                    "key": "openlineage_client_version",
                    "value": "1.30.0",
                    "source": "OPENLINEAGE_CLIENT",
                }
            ]
        }
    }

    # The job read and wrote the same table: what it wrote is a version of its own.
    source = dataset(client, "my-datasource-namespace", "instance.schema.table")
    written = dataset(
        client, "my-datasource-namespace", "instance.schema.table", f"written by run {child_run}"
    )
    assert execution["inputArtifacts"] == [source["id"]] and execution["outputArtifacts"] == [
        written["id"]
    ]
    assert (
        source["kind"] == "dataset"
        and source["uri"] == "my-datasource-namespace/instance.schema.table"
    )
    assert source["attributes"]["schema"] == {
        "fields": [{"name": "column1", "type": "VARCHAR", "description": "string", "fields": []}]
    }
    assert [
        a["assertion"] for a in source["attributes"]["dataQualityAssertions"]["assertions"]
    ] == ["row_count_equal_to", "no_null_values"]
    assert written["attributes"]["outputStatistics"] == {"rowCount": 2000, "size": 2097152}
    assert written["version"] == f"written by run {child_run}"


def test_serde_run_job_and_dataset_events(client: TestClient) -> None:
    run_event = load("serde_example_run_event.json")
    post(client, run_event)
    run = get(client, "runs", run_of("69f4acab-b87d-4fc0-b27b-8ea950370ff3"))
    assert run["status"] == "RUNNING" and run["name"] == "name"
    assert get(client, "artifacts", run["event"])["attributes"]["nominalStartTime"] == "2020-01-01"
    execution = get(client, "executions", execution_of("69f4acab-b87d-4fc0-b27b-8ea950370ff3"))
    assert execution["startTime"].startswith("2021-11-03T10:53:52.427343")
    assert execution["inputArtifacts"] == [] and execution["outputArtifacts"] == []

    job = post(client, load("serde_example_job_event.json"))
    assert job["executable"] == str(derived_id("executable", "openlineage", "name"))
    a, b = dataset(client, "openlineage", "dataset_a"), dataset(client, "openlineage", "dataset_b")
    assert a["attributes"]["schema"] == {"fields": [{"name": "a", "type": "string"}]}
    assert b["id"] in job["artifacts"] and a["id"] in job["artifacts"]

    post(client, load("serde_example_dataset_event.json"))
    named = dataset(client, "openlineage", "name")
    assert named["attributes"]["schema"]["fields"] == [
        {"name": "a", "type": "string"},
        {"name": "b", "type": "string"},
    ]
    assert (
        named["attributes"]["namespace"] == "openlineage"
        and named["attributes"]["type"] == "openlineage"
    )


def test_a_models_registered_versions_are_those_of_its_latest_dataset_event(
    client: TestClient,
) -> None:
    """What another modeltrail server says a model is registered as is kept whole from the
    DatasetEvent of the latest time, whichever arrives last: an alias it removed is gone."""

    def said(at: str, aliases: list[str]) -> dict[str, Any]:
        facet = {
            "_producer": "https://modeltrail.dev/releases/0.1.0",
            "_schemaURL": "https://modeltrail.dev/spec/facets/1-0-0/"
            "ModeltrailModelDatasetFacet.json#/$defs/ModeltrailModelDatasetFacet",
            "id": str(uuid.uuid4()),
            "name": "digits-mlp",
            "version": "1",
            "kind": "model",
            "registeredVersions": [{"model": "digits", "version": 1, "aliases": aliases}],
        }
        return {
            "eventTime": at,
            "producer": "https://modeltrail.dev/releases/0.1.0",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
            "dataset": {
                "namespace": "s3://m",
                "name": "digits",
                "facets": {"modeltrail_model": facet},
            },
        }

    def registered() -> Any:
        model = dataset(client, "s3://m", "digits")["attributes"]["modeltrail_model"]
        return model["registeredVersions"]

    post(client, said("2026-01-01T00:00:00+00:00", []))
    post(client, said("2026-01-01T00:00:02+00:00", ["champion"]))
    assert registered() == [{"model": "digits", "version": 1, "aliases": ["champion"]}]
    post(client, said("2026-01-01T00:00:01+00:00", ["stale"]))  # late: an older state
    assert registered() == [{"model": "digits", "version": 1, "aliases": ["champion"]}]
    post(client, said("2026-01-01T00:00:03+00:00", []))
    assert registered() == [{"model": "digits", "version": 1, "aliases": []}]


def _model_facet(aliases: list[str] | None) -> dict[str, Any]:
    """A sender's ``modeltrail_model`` facet of model ``digits``, registered as its version 1
    with ``aliases`` (None: as nothing)."""
    versions = [] if aliases is None else [{"model": "digits", "version": 1, "aliases": aliases}]
    return {
        "_producer": "https://modeltrail.dev/releases/0.1.0",
        "_schemaURL": "https://modeltrail.dev/spec/facets/1-0-0/"
        "ModeltrailModelDatasetFacet.json#/$defs/ModeltrailModelDatasetFacet",
        "id": "7f6e2b53-6a4c-4f7e-9a8b-0c1d2e3f4a5b",
        "name": "digits-mlp",
        "version": "1",
        "kind": "model",
        "registeredVersions": versions,
    }


def _registry_event(at: str, aliases: list[str] | None) -> dict[str, Any]:
    return {
        "eventTime": at,
        "producer": "https://modeltrail.dev/releases/0.1.0",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {
            "namespace": "s3://m",
            "name": "digits",
            "facets": {"modeltrail_model": _model_facet(aliases)},
        },
    }


def _step_event(at: str, aliases: list[str] | None) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": at,
        "producer": "https://modeltrail.dev/releases/0.1.0",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "0190f1a2-3b4c-7d5e-8f60-718293a4b5c6"},
        "job": {"namespace": "training", "name": "train"},
        "inputs": [],
        "outputs": [
            {
                "namespace": "s3://m",
                "name": "digits",
                "facets": {"modeltrail_model": _model_facet(aliases)},
            }
        ],
    }


@pytest.mark.parametrize("run_first", [True, False])
def test_a_models_registered_versions_are_the_newest_of_run_and_dataset_events(
    client: TestClient, run_first: bool
) -> None:
    """A step's event carries the model's registered versions as they were when it was sent,
    a registry change's DatasetEvent as they are after it: whichever arrives last, the list
    of the latest event time is kept whole, never merged with an older one."""

    def registered() -> Any:
        model = dataset(client, "s3://m", "digits")["attributes"]["modeltrail_model"]
        return model["registeredVersions"]

    # The step wrote the model before it was registered; an alias was set after.
    older = _step_event("2026-01-01T00:00:01Z", None)
    newer = _registry_event("2026-01-01T00:00:02.500+00:00", ["champion"])
    for event in [older, newer] if run_first else [newer, older]:
        post(client, event)
    assert registered() == [{"model": "digits", "version": 1, "aliases": ["champion"]}]

    # A step's event newer than the registry's (the alias removed since) wins in turn, its
    # time written with another offset.
    newest = _step_event("2026-01-01T01:00:03+01:00", [])
    older_again = _registry_event("2026-01-01T00:00:02.750Z", ["champion", "stale"])
    for event in [newest, older_again] if run_first else [older_again, newest]:
        post(client, event)
    assert registered() == [{"model": "digits", "version": 1, "aliases": []}]
    # The version deleted there: a DatasetEvent with an empty list is kept as such.
    post(client, _registry_event("2026-01-01T00:00:04Z", ["x"]))
    post(client, _registry_event("2026-01-01T00:00:05Z", None))
    assert registered() == []


# ---------------------------------------------------------------- integration events


def test_dbt_failed_run_nests_models_and_keeps_errors(client: TestClient) -> None:
    events = complete(load("failed_run_ol_events.json"))
    for event in events:
        post(client, event)
    dag_run = run_id_for("dbt-test-namespace", "dbt-run-jaffle_shop")
    orders_run = run_id_for("dbt-test-namespace", "model.jaffle_shop.orders")
    run = get(client, "runs", run_of(dag_run))
    assert run["name"] == "dbt-run-jaffle_shop" and run["status"] == "FAILED"
    assert run["annotations"]["openlineage.errorMessage"].startswith("Command `dbt run` failed")
    assert run["configuration"]["processing_engine"]["name"] == "dbt"

    orders = get(client, "executions", execution_of(orders_run))
    assert orders["run"] == run["id"] and orders["status"] == "FAILED" and orders["kind"] == "model"
    assert orders["annotations"]["openlineage.errorMessage"].startswith(
        "Database Error in model orders"
    )
    assert orders["annotations"]["openlineage.programmingLanguage"] == "sql"
    assert "openlineage.stackTrace" not in orders["annotations"]  # sent as null
    assert orders["startTime"] < orders["endTime"]
    inputs = [get(client, "artifacts", a) for a in orders["inputArtifacts"]]
    assert sorted(a["name"] for a in inputs) == [
        "postgres.public.stg_orders",
        "postgres.public.stg_payments",
    ]
    assert inputs[0]["attributes"]["dataSource"] == {
        "name": "postgres://postgres:5432",
        "uri": "postgres://postgres:5432",
    }
    assert inputs[0]["attributes"]["type"] == "postgres"
    [output] = [get(client, "artifacts", a) for a in orders["outputArtifacts"]]
    assert output["name"] == "postgres.public.orders"
    executable = get(client, "executables", orders["executable"])
    assert json.loads(executable["annotations"]["openlineage.jobType"])["integration"] == "DBT"
    # The model's own SQL statements are runs nested under the model's run.
    sql_run = get(client, "runs", run_of(orders_run))
    statements = client.get(
        f"{API}/executions", params={"filter": f"run:eq:{sql_run['id']}"}
    ).json()["items"]
    assert sorted((s["name"], s["status"]) for s in statements) == [
        ("model.jaffle_shop.orders.sql.1", "SUCCESS"),
        ("model.jaffle_shop.orders.sql.2", "FAILED"),
    ]
    failed = max(statements, key=lambda s: s["name"])
    assert (
        "final as"
        in get(client, "executables", failed["executable"])["annotations"]["openlineage.sql"]
    )
    assert "Traceback (most recent call last)" in failed["annotations"]["openlineage.stackTrace"]
    pipeline = get(client, "pipelines", run["pipeline"])
    assert orders["executable"] in pipeline["executables"]


def test_dbt_complete_run(client: TestClient) -> None:
    for event in complete(load("result.json")):
        post(client, event)
    model_run = run_id_for("job-namespace", "random-gcp-project.dbt_test1.dbt_test.test_model")
    execution = get(client, "executions", execution_of(model_run))
    assert execution["status"] == "SUCCESS" and execution["kind"] == "model"
    assert get(client, "runs", execution["run"])["name"] == "dbt-job-name"
    [source] = execution["inputArtifacts"]
    [target] = execution["outputArtifacts"]
    assert (
        get(client, "artifacts", source)["uri"]
        == "bigquery/random-gcp-project.dbt_test1.source_table"
    )
    assert get(client, "artifacts", target)["name"] == "random-gcp-project.dbt_test1.test_model"
    assert (
        "where id = 1"
        in get(client, "executables", execution["executable"])["annotations"]["openlineage.sql"]
    )


def test_airflow_tasks_nest_under_their_dag(client: TestClient) -> None:
    for event in complete(load("bash.json")):
        post(client, event)
    dag = get(client, "runs", run_of(run_id_for("food_delivery", "bash_dag")))
    tasks = client.get(
        f"{API}/executions", params={"filter": f"run:eq:{dag['id']}", "sort": "name"}
    ).json()["items"]
    assert [(t["name"], t["status"]) for t in tasks] == [
        ("bash_dag.failing_task", "FAILED"),
        ("bash_dag.success_task", "SUCCESS"),
    ]
    assert tasks[0]["configuration"]["airflow"]["taskInstance"] == {"try_number": 1}

    for event in complete(load("postgres.json")):
        post(client, event)
    first = run_id_for(
        "food_delivery", "postgres_orders_popular_day_of_week.postgres_if_not_exists"
    )
    run = get(client, "runs", run_of(first))
    assert run["status"] == "SUCCESS"
    assert get(client, "artifacts", run["event"])["attributes"]["cause"] == "schedule"
    executable = get(
        client, "executables", get(client, "executions", execution_of(first))["executable"]
    )
    assert executable["description"] == "Determines the popular day of week orders are placed."
    assert "CREATE TABLE IF NOT EXISTS" in executable["annotations"]["openlineage.sql"]
    assert json.loads(executable["annotations"]["openlineage.ownership"]) == {
        "owners": [{"name": "datascience"}]
    }


def test_airflow_run_facet_gives_the_trigger(client: TestClient) -> None:
    facet_schema = load("AirflowRunFacet.json")
    spec = json.loads(SPEC_PATH.read_text())
    registry = Registry().with_resources(
        [
            ("https://openlineage.io/spec/1-0-3/OpenLineage.json", Resource.from_contents(spec)),
            (facet_schema["$id"], Resource.from_contents(facet_schema)),
        ]
    )
    facet = {
        "_producer": "https://github.com/apache/airflow/tree/providers-openlineage/1.0.0",
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/AirflowRunFacet.json#/$defs/AirflowRunFacet",
        "dag": {
            "dag_id": "train",
            "schedule_interval": "@daily",
            "tags": "[]",
            "start_date": "2024-01-01T00:00:00Z",
        },
        "dagRun": {
            "dag_id": "train",
            "run_id": "manual__2024-01-01",
            "run_type": "manual",
            "external_trigger": True,
        },
        "task": {"operator_class": "airflow.operators.bash.BashOperator", "task_id": "fit"},
        "taskInstance": {"try_number": 1, "duration": 3.5},
        "taskUuid": str(uuid.uuid4()),
    }
    validator = Draft202012Validator(
        {"$ref": facet_schema["$id"] + "#/$defs/AirflowRunFacet"}, registry=registry
    )
    assert list(validator.iter_errors(facet)) == []
    [event] = complete(
        [
            {
                "eventType": "START",
                "job": {"namespace": "airflow", "name": "train.fit"},
                "run": {"facets": {"airflow": facet}},
            }
        ]
    )
    post(client, event)
    run = get(client, "runs", run_of(event["run"]["runId"]))
    assert get(client, "artifacts", run["event"])["attributes"] == {
        "cause": "manual",
        "airflowRunType": "manual",
    }


@pytest.mark.parametrize(
    ("facet", "attributes"),
    [
        (
            {"cause": "data change", "attributes": {"cause": "x", "dataset": "raw"}},
            {"cause": "data change", "dataset": "raw"},
        ),
        ({"attributes": {"cause": "push", "ref": "main"}}, {"cause": "push", "ref": "main"}),
        ({"cause": 3, "attributes": {"cause": 4}}, {"cause": "event"}),
    ],
)
def test_a_modeltrail_trigger_facet_gives_the_trigger(
    client: TestClient, facet: dict[str, Any], attributes: dict[str, Any]
) -> None:
    """What another modeltrail server's openlineage plugin sends; not configuration."""
    trigger = {
        "_producer": "https://modeltrail.dev/releases/0.1.0",
        "_schemaURL": "https://modeltrail.dev/spec/facets/1-0-0/ModeltrailTriggerRunFacet.json"
        "#/$defs/ModeltrailTriggerRunFacet",
        "id": str(uuid.uuid4()),
        "name": "on push",
        "kind": "event",
        **facet,
    }
    [event] = complete(
        [
            {
                "eventType": "START",
                "job": {"namespace": "vision", "name": "digits"},
                "run": {"facets": {"modeltrail_trigger": trigger}},
            }
        ]
    )
    post(client, event)
    run = get(client, "runs", run_of(event["run"]["runId"]))
    assert get(client, "artifacts", run["event"])["attributes"] == attributes
    assert "modeltrail_trigger" not in run["configuration"]


MODELTRAIL_JOB_TYPE = {
    "_producer": "https://modeltrail.dev/releases/0.1.0",
    "_schemaURL": "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    "processingType": "BATCH",
    "integration": "MODELTRAIL",
    "jobType": "PIPELINE",
}


def _kinded(name: str, kind: str, **facets: Any) -> dict[str, Any]:
    """A dataset as another modeltrail server's openlineage plugin sends it."""
    artifact = {
        "_producer": "https://modeltrail.dev/releases/0.1.0",
        "_schemaURL": "https://modeltrail.dev/spec/facets/1-0-0/ModeltrailArtifactDatasetFacet.json"
        "#/$defs/ModeltrailArtifactDatasetFacet",
        "id": str(uuid.uuid4()),
        "name": name,
        "version": "1",
        "kind": kind,
    }
    return {
        "namespace": f"modeltrail://{kind}",
        "name": name,
        "facets": {"modeltrail_artifact": artifact, **facets},
    }


def test_a_modeltrail_run_is_the_run_alone_and_its_steps_keep_their_kinds(
    client: TestClient, metadata: Metadata
) -> None:
    """Another modeltrail server's run events make the run, not an execution of it (nor an
    executable of its job); its steps' datasets keep the kinds they had there, where this
    store can file them under those kinds."""
    run_events = complete(
        [
            {"eventType": t, "job": {"namespace": "vision", "name": "digits"}}
            for t in ("START", "COMPLETE")
        ]
    )
    for e in run_events:
        e["job"]["facets"] = {"jobType": MODELTRAIL_JOB_TYPE}
    root = run_events[0]["run"]["runId"]
    parent = {
        "run": {"runId": root},
        "job": {"namespace": "vision", "name": "digits"},
        "root": {"run": {"runId": root}, "job": {"namespace": "vision", "name": "digits"}},
    }
    [step] = complete(
        [
            {
                "eventType": "COMPLETE",
                "job": {"namespace": "vision", "name": "train.py"},
                "run": {"facets": {"parent": parent}},
                "inputs": [_kinded("features", "dataset")],
                "outputs": [
                    _kinded("mlp", "model"),
                    _kinded("scores", "validation"),  # new here: registered open
                    # Attributes the kind refuses (hyperparameters are flat): filed as dataset.
                    _kinded("odd", "model", hyperParameters={"nested": {"x": 1}}),
                ],
            }
        ]
    )
    step["job"]["facets"] = {"jobType": {**MODELTRAIL_JOB_TYPE, "jobType": "train"}}
    for event in (*run_events, step):
        post(client, event)

    run = get(client, "runs", run_of(root))
    assert run["status"] == "SUCCESS"
    dag = client.get(f"{API}/runs/{run['id']}/dag").json()
    executions = [n for n in dag["nodes"] if n["type"] == "execution"]
    assert [(n["name"], n["kind"]) for n in executions] == [("train.py", "train")]
    executables = client.get(f"{API}/executables").json()["items"]
    assert [e["name"] for e in executables] == ["train.py"]
    assert get(client, "pipelines", run["pipeline"])["executables"] == [executables[0]["id"]]
    kinds = {n["name"]: n["kind"] for n in dag["nodes"] if n["type"] == "artifact"}
    assert kinds == {
        "features": "dataset",
        "mlp": "model",
        "scores": "validation",
        "odd": "dataset",
    }


def test_a_kind_this_store_does_not_know_is_a_dataset_when_it_is_strict(
    client: TestClient, metadata: Metadata
) -> None:
    metadata.strict_kinds = True
    try:
        [event] = complete(
            [
                {
                    "eventType": "COMPLETE",
                    "job": {"namespace": "vision", "name": "score.py"},
                    "outputs": [_kinded("scores", "validation")],
                }
            ]
        )
        answer = post(client, event)
    finally:
        metadata.strict_kinds = False
    assert get(client, "artifacts", answer["outputs"][0])["kind"] == "dataset"


def test_spark_outputs_carry_their_facets(client: TestClient) -> None:
    [hive] = complete(load("pysparkHiveCompleteEvent.json"))
    post(client, hive)
    table = dataset(client, "file", "/tmp/warehouse/test")
    assert table["uri"] == "file/tmp/warehouse/test"
    assert table["attributes"]["symlinks"]["identifiers"][0]["name"] == "default.test"
    assert table["attributes"]["catalog"]["framework"] == "hive"
    execution = get(client, "executions", execution_of(hive["run"]["runId"]))
    assert execution["outputArtifacts"] == [table["id"]] and execution["status"] == "SUCCESS"
    assert execution["configuration"]["processing_engine"]["name"] == "spark"

    [iceberg] = complete(load("columnLineageSingleInputComplete.json"))
    post(client, iceberg)
    out = dataset(client, "default", "test.second_ol_clients")
    assert out["attributes"]["columnLineage"]["fields"]["client_name"]["inputFields"] == [
        {"name": "test.ol_clients", "field": "client_name"}
    ]
    assert out["attributes"]["lifecycleStateChange"] == {"lifecycleStateChange": "OVERWRITE"}
    consumer = get(client, "executions", execution_of(iceberg["run"]["runId"]))
    assert consumer["inputArtifacts"] == [dataset(client, "default", "test.ol_clients")["id"]]


# ---------------------------------------------------------------- order and duplicates


def _empty(meta: Metadata) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with meta.db.engine.begin() as conn:
        for t in tables:
            conn.execute(text(f"DELETE FROM {t}"))
    meta.call(register_builtin_kinds)


VOLATILE = {"revision", "createTime"}


def _state(client: TestClient) -> dict[str, Any]:
    state = {}
    for plural in ("experiments", "pipelines", "executables", "runs", "executions", "artifacts"):
        items = client.get(f"{API}/{plural}", params={"limit": 1000, "sort": "id"}).json()["items"]
        # Runs start at their earliest event, so their createTime is part of the state.
        drop = {"revision"} if plural == "runs" else VOLATILE
        state[plural] = [{k: v for k, v in item.items() if k not in drop} for item in items]
    return state


def test_out_of_order_and_duplicated_events_give_the_same_state(
    client: TestClient, metadata: Metadata
) -> None:
    events = (
        complete(load("failed_run_ol_events.json"))
        + complete(load("result.json"))
        + complete(load("bash.json"))
        + [load("example_full_event.json")]
    )
    for event in events:
        post(client, event)
    expected = _state(client)
    assert len(expected["executions"]) == 8
    rng = random.Random(7)
    for order in (list(reversed(events)), rng.sample(events + events[:5], len(events) + 5)):
        _empty(metadata)
        for event in order:
            post(client, event)
        assert _state(client) == expected


def test_a_late_start_never_undoes_the_end(client: TestClient) -> None:
    start, done = complete(
        [
            {"eventType": "START", "job": {"namespace": "n", "name": "j"}, "run": {}},
            {"eventType": "COMPLETE", "job": {"namespace": "n", "name": "j"}, "run": {}},
        ]
    )
    post(client, done)
    post(client, start)
    post(client, start)
    run = get(client, "runs", run_of(done["run"]["runId"]))
    execution = get(client, "executions", execution_of(done["run"]["runId"]))
    assert run["status"] == execution["status"] == "SUCCESS"
    assert _time(execution["startTime"]) == _time(start["eventTime"])
    assert _time(execution["endTime"]) == _time(run["endTime"]) == _time(done["eventTime"])
    assert _time(run["createTime"]) == _time(start["eventTime"])


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


# ---------------------------------------------------------------- transport and problems


def test_gzip_bodies_and_batches(client: TestClient) -> None:
    event = load("serde_example_run_event.json")
    body = gzip.compress(json.dumps(event).encode())
    response = client.post(
        f"{API}/lineage",
        content=body,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    bad = client.post(
        f"{API}/lineage",
        content=b"not gzip",
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert bad.status_code == 400 and "gzip" in bad.json()["detail"]

    batch = complete(load("bash.json"))
    response = client.post(f"{API}/lineage/batch", json=batch)
    assert response.status_code == 200, response.text
    assert [i["eventType"] for i in response.json()["items"]] == [
        "START",
        "FAIL",
        "START",
        "COMPLETE",
    ]


def test_invalid_events_say_what_is_wrong(client: TestClient) -> None:
    event = load("serde_example_run_event.json")
    broken = {**event, "run": {"runId": "not-a-uuid"}, "job": {"namespace": "n"}}
    del broken["eventTime"]
    response = client.post(f"{API}/lineage", json=broken)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {"/eventTime", "/run/runId", "/job/name"}
    several = {k: v for k, v in event.items() if k not in ("producer", "schemaURL")}
    response = client.post(f"{API}/lineage", json=several)  # each missing field its own pointer
    assert {e["pointer"] for e in response.json()["errors"]} == {"/producer", "/schemaURL"}

    wrong_type = client.post(f"{API}/lineage", json={**event, "eventType": "FINISHED"})
    assert (
        wrong_type.status_code == 422 and wrong_type.json()["errors"][0]["pointer"] == "/eventType"
    )
    shapeless = client.post(f"{API}/lineage", json={"hello": "world"})
    assert shapeless.status_code == 422 and "run" in shapeless.json()["detail"]
    not_json = client.post(
        f"{API}/lineage", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400

    valid = complete(load("bash.json"))
    response = client.post(
        f"{API}/lineage/batch", json=[valid[0], {**valid[1], "eventType": "NOPE"}]
    )
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/1/eventType"]
    assert client.get(f"{API}/runs").json()["items"] == []  # nothing of a refused batch is stored


def test_bearer_key(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELTRAIL_OPENLINEAGE_API_KEY", "s3cret")
    event = load("serde_example_dataset_event.json")
    assert client.post(f"{API}/lineage", json=event).status_code == 401
    wrong = client.post(f"{API}/lineage", json=event, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["content-type"] == "application/problem+json"
    right = client.post(f"{API}/lineage", json=event, headers={"Authorization": "Bearer s3cret"})
    assert right.status_code == 200


# ---------------------------------------------------------------- what no store can keep


FACET = {"_producer": "https://example.com/p", "_schemaURL": "https://example.com/f.json"}


def _run_event(**changes: Any) -> dict[str, Any]:
    event = load("serde_example_run_event.json")
    event = {**event, "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "n", "name": "j"}}
    event.update(changes)
    return event


def _refused(client: TestClient, event: Any, path: str = "/lineage") -> list[str]:
    response = client.post(f"{API}{path}", json=event)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [e["pointer"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    "changes, pointer",
    [
        ({"job": {"namespace": "ns\u0000", "name": "j"}}, "/job/namespace"),
        (
            {
                "inputs": [{"namespace": "s3://b", "name": f"t{i}"} for i in range(3)]
                + [{"namespace": "s3://b", "name": "t\u0000"}]
            },
            "/inputs/3/name",
        ),
        (
            {"run": {"runId": str(uuid.uuid4()), "facets": {"x": {**FACET, "v": "a\u0000"}}}},
            "/run/facets/x/v",
        ),
        ({"eventTime": "9999-12-31T23:59:59-23:59"}, "/eventTime"),
        ({"eventTime": "0001-01-01T00:00:00+01:00"}, "/eventTime"),
        ({"eventTime": "yesterday"}, "/eventTime"),
        (
            {"run": {"runId": str(uuid.uuid4()), "facets": {"x": {**FACET, "v": 2**64 - 1}}}},
            "/run/facets/x/v",
        ),
        (
            {
                "outputs": [
                    {"namespace": "s3://b", "name": "t", "facets": {"x": {**FACET, "v": 2**64 - 1}}}
                ]
            },
            "/outputs/0/facets/x/v",
        ),
        (
            {
                "run": {
                    "runId": str(uuid.uuid4()),
                    "facets": {
                        "parent": {
                            **FACET,
                            "job": {"namespace": "n", "name": 5},
                            "run": {"runId": str(uuid.uuid4())},
                        }
                    },
                }
            },
            "/run/facets/parent/job/name",
        ),
        (
            {
                "run": {
                    "runId": str(uuid.uuid4()),
                    "facets": {
                        "parent": {**FACET, "job": {"namespace": "n", "name": "j"}, "run": "r"}
                    },
                }
            },
            "/run/facets/parent/run",
        ),
        # Refused by the stored models, not by a check of the event: still named in the event.
        (
            {"run": {"runId": str(uuid.uuid4()), "facets": {"k" * 300: FACET}}},
            f"/run/facets/{'k' * 300}",
        ),
    ],
)
def test_what_no_store_keeps_is_refused_where_it_is(
    client: TestClient, changes: dict[str, Any], pointer: str
) -> None:
    assert _refused(client, _run_event(**changes)) == [pointer]
    assert client.get(f"{API}/runs").json()["items"] == []
    batch = [_run_event(), _run_event(**changes)]
    assert _refused(client, batch, "/lineage/batch") == ["/1" + pointer]


def test_a_batch_says_how_many_events_it_stored_before_one_the_store_refused(
    client: TestClient,
) -> None:
    refused_late = _run_event(run={"runId": str(uuid.uuid4()), "facets": {"k" * 300: FACET}})
    response = client.post(f"{API}/lineage/batch", json=[_run_event(), refused_late, _run_event()])
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["stored"] == 1 and "1 event(s) before it were stored" in body["detail"]
    assert body["errors"][0]["pointer"].startswith("/1/run/facets")
    assert len(client.get(f"{API}/runs").json()["items"]) == 1


def test_too_many_datasets_are_refused_before_any_work(client: TestClient) -> None:
    many = [{"namespace": "s3://b", "name": f"t{i}"} for i in range(limits.MAX_LIST + 1)]
    assert _refused(client, _run_event(inputs=many)) == ["/inputs"]
    assert _refused(client, _run_event(outputs=many, inputs=many[:2])) == ["/outputs"]
    assert client.get(f"{API}/artifacts", params={"count": True}).json()["total"] == 0


def test_a_thousand_inputs_are_stored_in_one_go(client: TestClient) -> None:
    inputs = [{"namespace": "s3://b", "name": f"t{i}"} for i in range(1000)]
    inputs.append(inputs[0])  # listed twice: one artifact
    event = _run_event(inputs=inputs, outputs=[{"namespace": "s3://b", "name": "t1"}])
    answer = post(client, event)
    assert len(set(answer["inputs"])) == 1000
    execution = get(client, "executions", answer["execution"])
    assert len(execution["inputArtifacts"]) == 1000
    # t1 was read and written: what the run wrote is a version of its own.
    assert answer["outputs"] == [answer["inputs"][1]]
    assert execution["outputArtifacts"] != [answer["inputs"][1]]
    assert post(client, event) == answer  # again: the same entities


def test_long_job_names_are_kept_whole_beside_a_visibly_shortened_name(
    client: TestClient,
) -> None:
    name = "spark_application." + "x" * 1000
    answer = post(client, _run_event(job={"namespace": "n", "name": name}))
    executable = get(client, "executables", derived_id("executable", "n", name))
    shortened = name[: limits.MAX_NAME - 1] + "\u2026"
    assert executable["name"] == shortened
    assert executable["annotations"]["openlineage.job"] == name
    assert executable["uri"] == f"openlineage://n/{name}"
    for plural in ("runs", "executions"):
        entity = get(client, plural, answer[plural[:-1]])
        assert entity["name"] == shortened and entity["annotations"]["openlineage.job"] == name
    short = post(client, _run_event(job={"namespace": "n", "name": "short"}))
    assert "openlineage.job" not in get(client, "runs", short["run"])["annotations"]

    too_long = _run_event(job={"namespace": "n", "name": "x" * (limits.MAX_TEXT + 1)})
    assert _refused(client, too_long) == ["/job/name"]
