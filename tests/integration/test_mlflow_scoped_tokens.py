"""MLflow's own client with a token scoped to one experiment, against a real server on SQLite
and on PostgreSQL: it logs and searches its experiment, and another experiment is as missing
to it as one never made, by id, by name, through its runs and their files."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from conftest import ADMIN, ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning")]

SECRET = "secret-of-other"


@dataclass
class Store:
    url: str
    mine: str  # experiment ids
    other: str
    other_run: str

    def token(self, name: str, experiments: dict[str, str], role: str | None = None) -> str:
        body: dict[str, Any] = {"name": name, "experiments": experiments}
        if role is not None:
            body["role"] = role
        made = httpx.post(
            f"{self.url}/api/v1/tokens", json=body, headers={"Authorization": f"Bearer {ADMIN}"}
        )
        assert made.status_code == 201, made.text
        return str(made.json()["token"])

    def other_name(self) -> str:
        return str(
            httpx.get(
                f"{self.url}/api/2.0/mlflow/experiments/get",
                params={"experiment_id": self.other},
                headers={"Authorization": f"Bearer {ADMIN}"},
            ).json()["experiment"]["name"]
        )

    def other_run_as_admin(self) -> Any:
        return httpx.get(
            f"{self.url}/api/2.0/mlflow/runs/get",
            params={"run_id": self.other_run},
            headers={"Authorization": f"Bearer {ADMIN}"},
        ).json()


@pytest.fixture(scope="module")
def server_options() -> tuple[str, ...]:
    return ("--admin-token", ADMIN)


@pytest.fixture
def store(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Store]:
    """Two experiments made by the admin through MLflow's client: "mine" and another, whose
    run holds a param, a metric and a file."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", ADMIN)
    mlflow.set_tracking_uri(server.url)
    tag = uuid.uuid4().hex[:8]
    admin = MlflowClient(server.url)
    mine = admin.create_experiment(f"mine-{tag}")
    other = admin.create_experiment(f"{SECRET}-{tag}")
    run = admin.create_run(other, run_name=f"{SECRET}-run").info.run_id
    admin.log_param(run, "lr", "0.1")
    admin.log_metric(run, "loss", 0.5)
    (tmp_path / "other.txt").write_text(SECRET)
    admin.log_artifact(run, str(tmp_path / "other.txt"))
    yield Store(server.url, mine, other, run)
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


def _missing(call: Any) -> None:
    with pytest.raises(MlflowException) as refused:
        call()
    assert refused.value.error_code == "RESOURCE_DOES_NOT_EXIST", refused.value
    assert SECRET not in str(refused.value)


def _denied(call: Any) -> None:
    with pytest.raises(MlflowException) as refused:
        call()
    assert refused.value.error_code == "PERMISSION_DENIED", refused.value


def test_a_scoped_writer_logs_its_experiment_through_mlflow(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", store.token("trainer", {store.mine: "writer"}))
    client = MlflowClient(store.url)
    name = client.get_experiment(store.mine).name
    mlflow.set_experiment(name)
    (tmp_path / "mine.txt").write_text("mine")
    with mlflow.start_run(run_name="scoped") as run:
        mlflow.log_param("lr", "0.01")
        mlflow.log_metric("loss", 0.25, step=1)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8})
        mlflow.set_tag("team", "vision")
        mlflow.log_artifact(str(tmp_path / "mine.txt"))
    rid = run.info.run_id
    got = client.get_run(rid)
    assert got.data.params == {"lr": "0.01"}
    assert got.data.metrics == {"loss": 0.25, "acc": 0.9, "f1": 0.8}
    assert got.info.status == "FINISHED"
    assert [m.value for m in client.get_metric_history(rid, "loss")] == [0.25]
    assert [f.path for f in client.list_artifacts(rid)] == ["mine.txt"]
    downloaded = client.download_artifacts(rid, "mine.txt", str(tmp_path / "back"))
    assert Path(downloaded).read_text() == "mine"
    # Searches answer its experiment only, whatever they ask for.
    assert [e.experiment_id for e in client.search_experiments()] == [store.mine]
    both = client.search_runs([store.mine, store.other])
    assert [r.info.run_id for r in both] == [rid]
    assert client.search_runs([store.other]) == []
    assert [r.info.run_id for r in client.search_runs([store.mine], "params.lr = '0.01'")] == [rid]
    client.set_experiment_tag(store.mine, "owner", "vision")
    # A rename must keep names unique among experiments it cannot see: refused, whether the
    # name is free or taken, so it neither takes another's name nor learns that it exists.
    taken = store.other_name()
    _denied(lambda: client.rename_experiment(store.mine, taken))
    _denied(lambda: client.rename_experiment(store.mine, f"free-{uuid.uuid4().hex[:8]}"))
    assert client.get_experiment(store.mine).name == name
    client.delete_run(rid)
    client.restore_run(rid)
    # A new experiment would belong to no grant.
    _denied(lambda: client.create_experiment("new-one"))


def test_another_experiment_is_missing_to_a_scoped_token(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", store.token("trainer", {store.mine: "writer"}))
    client = MlflowClient(store.url)
    before = store.other_run_as_admin()
    other_name = store.other_name()
    # By name and by id, as one never made.
    assert client.get_experiment_by_name(other_name) is None
    assert client.get_experiment_by_name("never-made") is None
    _missing(lambda: client.get_experiment(store.other))
    _missing(lambda: client.get_run(store.other_run))
    _missing(lambda: client.get_metric_history(store.other_run, "loss"))
    _missing(lambda: client.list_artifacts(store.other_run))
    # No write reaches it, nothing of a batch is written.
    run = store.other_run
    _missing(
        lambda: client.log_batch(
            run,
            metrics=[Metric("loss", 9.0, 1, 0)],
            params=[Param("p", "1")],
            tags=[RunTag("t", "1")],
        )
    )
    _missing(lambda: client.log_param(run, "lr", "0.2"))
    _missing(lambda: client.log_metric(run, "loss", 9.0))
    _missing(lambda: client.set_tag(run, "t", "1"))
    _missing(lambda: client.delete_tag(run, "mlflow.runName"))
    _missing(lambda: client.set_terminated(run, "FAILED"))
    _missing(lambda: client.delete_run(run))
    _missing(lambda: client.create_run(store.other))
    _missing(lambda: client.set_experiment_tag(store.other, "k", "v"))
    _missing(lambda: client.rename_experiment(store.other, "mine-now"))
    _missing(lambda: client.delete_experiment(store.other))
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises((MlflowException, requests.HTTPError)) as refused:
        client.log_artifact(run, str(tmp_path / "x.txt"))
    assert "RESOURCE_DOES_NOT_EXIST" in str(refused.value) or (
        isinstance(refused.value, requests.HTTPError) and refused.value.response.status_code == 404
    )
    with pytest.raises((MlflowException, requests.HTTPError, OSError)):
        client.download_artifacts(run, "other.txt", str(tmp_path / "stolen"))
    assert not (tmp_path / "stolen" / "other.txt").exists()
    # set_experiment on its name tries to make it: refused, as any new experiment is.
    _denied(lambda: mlflow.set_experiment(other_name))
    assert store.other_run_as_admin() == before


def test_a_scoped_reader_reads_and_a_global_reader_writes_its_grant(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = MlflowClient(store.url)
    mine = admin.create_run(store.mine).info.run_id
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", store.token("viewer", {store.mine: "reader"}))
    reader = MlflowClient(store.url)
    assert reader.get_run(mine).info.run_id == mine
    _denied(lambda: reader.log_param(mine, "lr", "1"))
    _denied(lambda: reader.set_tag(mine, "t", "1"))
    _missing(lambda: reader.get_run(store.other_run))

    monkeypatch.setenv(
        "MLFLOW_TRACKING_TOKEN", store.token("mixed", {store.mine: "writer"}, role="reader")
    )
    mixed = MlflowClient(store.url)
    assert mixed.get_run(store.other_run).data.params == {"lr": "0.1"}
    assert {e.experiment_id for e in mixed.search_experiments()} >= {store.mine, store.other}
    mixed.log_param(mine, "lr", "1")
    assert mixed.get_run(mine).data.params == {"lr": "1"}
    # It reads every experiment, so it may rename its own, to a name no other holds.
    with pytest.raises(MlflowException) as taken:
        mixed.rename_experiment(store.mine, store.other_name())
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    renamed = f"renamed-{uuid.uuid4().hex[:8]}"
    mixed.rename_experiment(store.mine, renamed)
    assert mixed.get_experiment(store.mine).name == renamed
    before = store.other_run_as_admin()
    _denied(lambda: mixed.set_tag(store.other_run, "t", "1"))
    _denied(lambda: mixed.log_batch(store.other_run, metrics=[Metric("loss", 9.0, 1, 0)]))
    assert store.other_run_as_admin() == before


def test_a_scoped_token_reads_the_registry_versions_of_its_experiments(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = MlflowClient(store.url)
    tag = uuid.uuid4().hex[:8]
    shared, secret = f"shared-{tag}", f"hidden-{tag}"
    mine_run = admin.create_run(store.mine).info.run_id
    admin.create_registered_model(shared)
    admin.create_registered_model(secret)
    mine = admin.create_model_version(shared, f"s3://m/{tag}-mine", run_id=mine_run)
    other = admin.create_model_version(shared, f"s3://m/{tag}-other", run_id=store.other_run)
    admin.create_model_version(secret, f"s3://m/{tag}-secret", run_id=store.other_run)
    admin.set_registered_model_alias(shared, "ours", mine.version)
    admin.set_registered_model_alias(shared, "champion", other.version)
    assert (mine.version, other.version) == ("1", "2")

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", store.token("trainer", {store.mine: "writer"}))
    client = MlflowClient(store.url)
    # The versions of its experiment's runs, as the registry's own API shows them.
    model = client.get_registered_model(shared)
    assert model.aliases == {"ours": "1"}
    assert [v.version for v in model.latest_versions] == ["1"]
    assert [m.name for m in client.search_registered_models()] == [shared]
    found = client.search_model_versions(f"name = '{shared}'")
    assert [(v.version, v.run_id) for v in found] == [("1", mine_run)]
    assert [v.version for v in client.search_model_versions()] == ["1"]
    assert client.search_model_versions(f"run_id = '{store.other_run}'") == []
    assert client.get_model_version(shared, "1").source == f"s3://m/{tag}-mine"
    assert client.get_model_version_by_alias(shared, "ours").version == "1"
    assert client.get_model_version_download_uri(shared, "1") == f"s3://m/{tag}-mine"
    # Another experiment's versions, and a model with none of its own, are not there.
    _missing(lambda: client.get_model_version(shared, "2"))
    _missing(lambda: client.get_model_version_by_alias(shared, "champion"))
    _missing(lambda: client.get_model_version_download_uri(shared, "2"))
    _missing(lambda: client.get_registered_model(secret))
    _missing(lambda: client.get_registered_model(f"never-made-{tag}"))
    assert client.search_model_versions(f"name = '{secret}'") == []
    # An alias on another experiment's version stays where it is; the model itself is of no
    # experiment.
    with pytest.raises(MlflowException):
        client.set_registered_model_alias(shared, "champion", "1")
    _denied(lambda: client.delete_registered_model(shared))
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", ADMIN)
    assert admin.get_registered_model(shared).aliases == {"ours": "1", "champion": "2"}
    assert [m.name for m in admin.search_registered_models(f"name LIKE '%{tag}'")] == sorted(
        [shared, secret]
    )


def _log_a_model_as_a_writer(store: Store, monkeypatch: pytest.MonkeyPatch) -> Any:
    """As a token with a writer grant on "mine": a run there that logs a small fitted model
    with ``mlflow.sklearn.log_model``; the client, the run and the logged model."""
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", store.token("trainer", {store.mine: "writer"}))
    client = MlflowClient(store.url)
    mlflow.set_experiment(client.get_experiment(store.mine).name)
    fitted = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    with mlflow.start_run() as run:
        logged = mlflow.sklearn.log_model(fitted, name="model")
    return client, run, logged


def test_a_scoped_writer_logs_and_loads_a_model_of_its_experiment(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow.sklearn

    admin = MlflowClient(store.url)
    theirs = admin.create_logged_model(store.other, name="theirs", source_run_id=store.other_run)
    client, run, logged = _log_a_model_as_a_writer(store, monkeypatch)
    # Its own logged model: read, searched, changed, its files downloaded and loaded.
    assert client.get_logged_model(logged.model_id).source_run_id == run.info.run_id
    assert [m.model_id for m in client.search_logged_models([store.mine])] == [logged.model_id]
    assert [m.model_id for m in client.search_logged_models([store.mine, store.other])] == [
        logged.model_id
    ]
    client.set_logged_model_tags(logged.model_id, {"stage": "ready"})
    assert client.get_logged_model(logged.model_id).tags["stage"] == "ready"
    loaded = mlflow.sklearn.load_model(f"models:/{logged.model_id}")
    assert loaded.predict([[1.0]]).tolist() == [1]
    # Another experiment's logged model is as missing as one never made, its files too.
    _missing(lambda: client.get_logged_model(theirs.model_id))
    with pytest.raises(MlflowException, match="Failed to get logged model"):
        # The client asks for the model first, and says it could not find it in its own words.
        client.set_logged_model_tags(theirs.model_id, {"stage": "mine"})
    _missing(lambda: client.finalize_logged_model(theirs.model_id, "READY"))
    _missing(lambda: client.delete_logged_model(theirs.model_id))
    assert client.search_logged_models([store.other]) == []
    refused = httpx.get(
        f"{store.url}/api/2.0/mlflow-artifacts/artifacts/{store.other}/models/"
        f"{theirs.model_id}/artifacts/",
        headers={"Authorization": f"Bearer {store.token('t2', {store.mine: 'writer'})}"},
    )
    assert refused.status_code == 404, refused.text
    # It may not make a model in another experiment, nor from another experiment's run.
    _missing(lambda: client.create_logged_model(store.other, name="x"))
    _missing(
        lambda: client.create_logged_model(store.mine, name="x", source_run_id=store.other_run)
    )
    # A reader of its experiment reads the model but does not change it.
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", store.token("viewer", {store.mine: "reader"}))
    reader = MlflowClient(store.url)
    assert reader.get_logged_model(logged.model_id).tags["stage"] == "ready"
    _denied(lambda: reader.set_logged_model_tags(logged.model_id, {"stage": "gone"}))
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", ADMIN)
    assert admin.get_logged_model(theirs.model_id).tags == {}


def test_a_scoped_writer_registers_its_runs_models_through_mlflow(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token with a writer grant registers its runs' models with MLflow's own calls, moves
    aliases between its versions and changes them; another experiment's model and versions
    stay as they were, and the registered models themselves need a global role."""
    admin = MlflowClient(store.url)
    tag = uuid.uuid4().hex[:8]
    theirs, held = f"theirs-{tag}", f"held-{tag}"
    admin.create_registered_model(theirs)
    admin.create_model_version(theirs, f"s3://{SECRET}/{tag}", run_id=store.other_run)
    admin.set_registered_model_alias(theirs, "champion", "1")
    client, run, logged = _log_a_model_as_a_writer(store, monkeypatch)
    rid = run.info.run_id
    name = f"digits-{tag}"
    first = mlflow.register_model(f"models:/{logged.model_id}", name)
    assert (first.version, first.run_id) == ("1", rid)
    # The version is of the logged model itself (MLflow's client drops ``model_id``).
    native = httpx.get(
        f"{store.url}/api/v1/models/{name}/versions/1",
        headers={"Authorization": f"Bearer {ADMIN}"},
    ).json()
    assert "m-" + uuid.UUID(native["artifact"]["id"]).hex == logged.model_id
    # Files its run made, by their URI; a URI another experiment's model has is a new model
    # of its own run, not the other one.
    second = client.create_model_version(name, f"s3://mine/{tag}", run_id=rid)
    third = client.create_model_version(name, f"s3://{SECRET}/{tag}", run_id=rid)
    assert [(v.version, v.run_id) for v in (second, third)] == [("2", rid), ("3", rid)]
    client.set_registered_model_alias(name, "production", "2")
    client.set_registered_model_alias(name, "production", "1")
    client.update_model_version(name, "1", description="first")
    client.set_model_version_tag(name, "1", "checked", "yes")
    client.delete_model_version(name, "3")
    got = client.get_model_version_by_alias(name, "production")
    assert (got.version, got.description, got.tags) == ("1", "first", {"checked": "yes"})
    found = client.search_model_versions(f"name = '{name}'", order_by=["version_number"])
    assert [v.version for v in found] == ["1", "2"]
    # A version is of a run it may write, named or not at all.
    _denied(lambda: client.create_model_version(name, f"s3://mine/{tag}-no-run"))
    _missing(lambda: client.create_model_version(name, "s3://x", run_id=store.other_run))
    # A name is answered as made and made with its first version: nothing without one.
    assert client.create_registered_model(held).name == held
    _missing(lambda: client.get_registered_model(held))
    # The model itself (its description, tags, name, deletion) needs a global role.
    _denied(lambda: client.create_registered_model(f"described-{tag}", description="d"))
    _denied(lambda: client.update_registered_model(name, description="mine"))
    _denied(lambda: client.set_registered_model_tag(name, "k", "v"))
    _denied(lambda: client.rename_registered_model(name, f"renamed-{tag}"))
    _denied(lambda: client.delete_registered_model(name))
    # Another experiment's model: its name is taken, its versions and aliases are not there.
    with pytest.raises(MlflowException) as taken:
        client.create_registered_model(theirs)
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    _missing(lambda: client.get_model_version(theirs, "1"))
    _missing(lambda: client.update_model_version(theirs, "1", description="mine"))
    _missing(lambda: client.set_model_version_tag(theirs, "1", "k", "v"))
    _missing(lambda: client.delete_model_version(theirs, "1"))
    _missing(lambda: client.delete_registered_model_alias(theirs, "champion"))
    # A reader of the experiment reads what was registered and changes nothing.
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", store.token("viewer", {store.mine: "reader"}))
    reader = MlflowClient(store.url)
    assert reader.get_model_version_by_alias(name, "production").version == "1"
    _denied(lambda: reader.create_registered_model(f"read-{tag}"))
    _denied(lambda: reader.create_model_version(name, f"s3://mine/{tag}-r", run_id=rid))
    _denied(lambda: reader.set_registered_model_alias(name, "production", "2"))
    _denied(lambda: reader.update_model_version(name, "1", description="reader"))
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", ADMIN)
    assert admin.get_registered_model(name).aliases == {"production": "1"}
    found = admin.search_model_versions(f"name = '{name}'", order_by=["version_number"])
    assert [v.version for v in found] == ["1", "2"]
    assert admin.search_registered_models(f"name = '{held}'") == []
    [kept] = admin.search_model_versions(f"name = '{theirs}'")
    assert (kept.version, kept.run_id, kept.description) == ("1", store.other_run, "")
    assert admin.get_registered_model(theirs).aliases == {"champion": "1"}


def test_a_logged_model_made_outside_a_run_is_of_its_experiment(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A logged model made with an experiment and no run (``create_logged_model`` alone) is of
    that experiment for a token's grants, on MLflow's paths and on modeltrail's own: a token
    of another experiment neither reads, tags, finalizes nor registers it, and a token of its
    experiment does all of it and reads the version it registered."""
    admin = MlflowClient(store.url)
    theirs = admin.create_logged_model(store.other, name="theirs")
    their_model = f"their-model-{uuid.uuid4().hex[:8]}"
    admin.create_registered_model(their_model)
    admin.create_model_version(their_model, theirs.model_id, model_id=theirs.model_id)
    token = store.token("trainer", {store.mine: "writer"})
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    client = MlflowClient(store.url)
    _missing(lambda: client.get_logged_model(theirs.model_id))
    with pytest.raises(MlflowException, match="Failed to get logged model"):
        client.set_logged_model_tags(theirs.model_id, {"stage": "mine"})
    _missing(lambda: client.finalize_logged_model(theirs.model_id, "READY"))
    stolen = f"stolen-{uuid.uuid4().hex[:8]}"
    _missing(lambda: client.create_model_version(stolen, theirs.model_id, model_id=theirs.model_id))
    _missing(lambda: client.get_registered_model(their_model))
    assert client.search_model_versions(f"name = '{their_model}'") == []

    own = httpx.Client(base_url=store.url, headers={"Authorization": f"Bearer {token}"})
    artifact = str(uuid.UUID(theirs.model_id.removeprefix("m-")))
    # On modeltrail's own API another experiment's artifact is refused (403), as always there.
    assert own.get(f"/api/v1/artifacts/{artifact}").status_code == 403
    tagged = own.patch(f"/api/v1/artifacts/{artifact}", json={"annotations": {"stage": "mine"}})
    assert tagged.status_code == 403, tagged.text
    registered = own.post(
        f"/api/v1/models/{stolen}/versions",
        params={"createModel": "true"},
        json={"artifact": artifact},
    )
    assert registered.status_code in (403, 404), registered.text
    assert own.get(f"/api/v1/models/{their_model}/versions").status_code == 404

    # Its own experiment's logged model, made outside a run: read, tagged, finalized,
    # registered, and the version read back on both surfaces.
    mine = client.create_logged_model(store.mine, name="mine")
    client.set_logged_model_tags(mine.model_id, {"stage": "ready"})
    assert client.finalize_logged_model(mine.model_id, "READY").status == "READY"
    name = f"my-model-{uuid.uuid4().hex[:8]}"
    made = client.create_model_version(name, mine.model_id, model_id=mine.model_id)
    assert made.source == mine.artifact_location
    assert client.get_model_version(name, "1").source == mine.artifact_location
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == ["1"]
    mine_artifact = str(uuid.UUID(mine.model_id.removeprefix("m-")))
    assert own.get(f"/api/v1/artifacts/{mine_artifact}").status_code == 200
    versions = own.get(f"/api/v1/models/{name}/versions")
    assert versions.status_code == 200, versions.text
    assert [v["artifact"]["id"] for v in versions.json()["items"]] == [mine_artifact]
