"""What MLflow's own client sees after it deletes, against a real ``modeltrail server`` on
SQLite and PostgreSQL: a run and an experiment deleted and restored, and a registered model,
a version and an alias deleted, each as MLflow's own server answers them."""

from __future__ import annotations

import uuid

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import LoggedModelOutput, ViewType
from mlflow.exceptions import MlflowException

# MLflow's own code warns of what its dependencies will deprecate: not ours to fix.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning:mlflow.*")]


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _code(call: object, *args: object) -> str:
    with pytest.raises(MlflowException) as refused:
        call(*args)  # type: ignore[operator]
    return str(refused.value.error_code)


def test_a_deleted_run_and_experiment_as_mlflows_client_sees_them(client: MlflowClient) -> None:
    eid = client.create_experiment(_name("deletions"))
    kept, gone = (client.create_run(eid, run_name=n).info.run_id for n in ("kept", "gone"))

    def listed(view: int) -> set[str]:
        return {r.info.run_id for r in client.search_runs([eid], run_view_type=view)}

    client.delete_run(gone)
    assert client.get_run(gone).info.lifecycle_stage == "deleted"
    assert listed(ViewType.ACTIVE_ONLY) == {kept}
    assert listed(ViewType.DELETED_ONLY) == {gone}
    assert listed(ViewType.ALL) == {kept, gone}
    client.restore_run(gone)
    assert client.get_run(gone).info.lifecycle_stage == "active"
    assert listed(ViewType.ACTIVE_ONLY) == {kept, gone}

    name = client.get_experiment(eid).name
    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "deleted"
    found = client.get_experiment_by_name(name)
    assert found is not None and found.lifecycle_stage == "deleted"
    active = client.search_experiments(filter_string=f"name = '{name}'")
    assert active == []
    deleted = client.search_experiments(
        view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{name}'"
    )
    assert [e.experiment_id for e in deleted] == [eid]
    # Nothing is logged to a deleted experiment, as MLflow's server refuses it.
    assert _code(client.create_run, eid) == "INVALID_PARAMETER_VALUE"
    client.restore_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "active"
    assert client.create_run(eid).info.experiment_id == eid


def test_registry_deletions_as_mlflows_client_sees_them(client: MlflowClient) -> None:
    mlflow.set_experiment(_name("registry-deletions"))
    with mlflow.start_run() as run:
        models = [
            client.create_logged_model(
                run.info.experiment_id, name=f"clf-{i}", source_run_id=run.info.run_id
            )
            for i in range(3)
        ]
        client.log_outputs(run.info.run_id, [LoggedModelOutput(m.model_id, 0) for m in models])
    name, other = _name("digits"), _name("letters")
    for m in models[:2]:
        mlflow.register_model(f"models:/{m.model_id}", name)
    mlflow.register_model(f"models:/{models[2].model_id}", other)
    client.set_registered_model_alias(name, "champion", "2")
    client.set_registered_model_alias(name, "backup", "1")

    client.delete_registered_model_alias(name, "backup")
    assert client.get_registered_model(name).aliases == {"champion": "2"}
    assert _code(client.get_model_version_by_alias, name, "backup") == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_model_version_by_alias(name, "champion").version == "2"

    client.delete_model_version(name, "1")
    assert _code(client.get_model_version, name, "1") == "RESOURCE_DOES_NOT_EXIST"
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == ["2"]
    latest = client.get_registered_model(name).latest_versions
    assert [v.version for v in latest] == ["2"]

    client.delete_registered_model(name)
    assert _code(client.get_registered_model, name) == "RESOURCE_DOES_NOT_EXIST"
    assert _code(client.get_model_version, name, "2") == "RESOURCE_DOES_NOT_EXIST"
    assert _code(client.get_model_version_by_alias, name, "champion") == "RESOURCE_DOES_NOT_EXIST"
    assert client.search_model_versions(f"name = '{name}'") == []
    found = client.search_registered_models(filter_string=f"name IN ('{name}', '{other}')")
    assert [m.name for m in found] == [other]
    # The name is free again, its numbers from 1, as in MLflow.
    client.create_registered_model(name)
    again = mlflow.register_model(f"models:/{models[0].model_id}", name)
    assert again.version == "1"
    # A second delete finds nothing to delete.
    client.delete_registered_model(other)
    assert _code(client.delete_registered_model, other) == "RESOURCE_DOES_NOT_EXIST"
    assert _code(client.delete_model_version, name, "9") == "RESOURCE_DOES_NOT_EXIST"
