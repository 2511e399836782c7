"""MLflow's artifact proxy: files and models logged by MLflow's own client, unchanged, land in
modeltrail's file store, on SQLite and PostgreSQL, and come back through the same client."""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path
from urllib.parse import unquote

import httpx
import mlflow
import numpy as np
import pytest
import requests
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

with warnings.catch_warnings():
    # MLflow's own modules warn as they are imported: not ours to fix.
    warnings.simplefilter("ignore")
    import mlflow.pyfunc
    import mlflow.sklearn

from conftest import ServerProcess
from modeltrail.integrations.mlflow.artifacts import run_files_id
from modeltrail.integrations.mlflow.tracking import execution_of

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning")]

ADMIN = "mlflow-admin-token-0123456789abcdef"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"


def test_files_go_through_the_proxy_into_the_file_store(
    client: MlflowClient, server: ServerProcess, tmp_path: Path
) -> None:
    mlflow.set_experiment(f"files-{uuid.uuid4().hex[:8]}")
    (tmp_path / "notes.txt").write_text("hello")
    plots = tmp_path / "plots"
    (plots / "deep").mkdir(parents=True)
    (plots / "loss.csv").write_text("1,2\n")
    (plots / "deep" / "roc.bin").write_bytes(bytes(range(256)) * 4096)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / "notes.txt"))
        mlflow.log_artifacts(str(plots), artifact_path="plots")
        mlflow.log_text("a text", "texts/a.txt")
    rid = run.info.run_id
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")

    top = {(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(rid)}
    assert top == {("notes.txt", False, 5), ("plots", True, None), ("texts", True, None)}
    assert {f.path for f in client.list_artifacts(rid, "plots")} == {"plots/deep", "plots/loss.csv"}
    assert client.list_artifacts(rid, "notes.txt") == []

    out = Path(client.download_artifacts(rid, "plots", str(tmp_path / "down")))
    assert (out / "deep" / "roc.bin").read_bytes() == bytes(range(256)) * 4096
    assert (out / "loss.csv").read_text() == "1,2\n"
    one = mlflow.artifacts.download_artifacts(run_id=rid, artifact_path="notes.txt")
    assert Path(one).read_text() == "hello"

    # The tracking server's own list answers the same, from the run's root.
    listed = httpx.get(
        f"{server.url}/api/2.0/mlflow/artifacts/list", params={"run_id": rid, "path": "plots"}
    ).json()
    assert listed["root_uri"] == run.info.artifact_uri
    assert {f["path"] for f in listed["files"]} == {"plots/deep", "plots/loss.csv"}

    # The files are those of one artifact the run wrote, in modeltrail's own API.
    execution = execution_of(uuid.UUID(rid))
    outputs = httpx.get(f"{server.url}/api/v1/executions/{execution}").json()["outputArtifacts"]
    assert outputs == [str(run_files_id(uuid.UUID(rid)))]
    files = httpx.get(f"{server.url}/api/v1/artifacts/{outputs[0]}/files").json()
    assert {f["path"] for f in files["items"]} == {
        "notes.txt",
        "plots/loss.csv",
        "plots/deep/roc.bin",
        "texts/a.txt",
    }


def test_a_logged_model_is_a_model_artifact_with_its_files(client: MlflowClient) -> None:
    mlflow.set_experiment(f"models-{uuid.uuid4().hex[:8]}")
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    fitted = LogisticRegression().fit(x, y)
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(fitted, name="model")
    loaded = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    assert list(loaded.predict(x)) == [0, 0, 1, 1]
    pyfunc = mlflow.pyfunc.load_model(info.model_uri)
    assert list(pyfunc.predict(x)) == [0, 0, 1, 1]
    model = client.get_logged_model(info.model_id)
    assert model.artifact_location.startswith("mlflow-artifacts:/")
    names = {f.path for f in client.list_logged_model_artifacts(info.model_id)}
    assert "MLmodel" in names


@pytest.mark.parametrize(
    "path",
    [
        "0/{rid}/artifacts/%2E%2E/%2E%2E/x",
        "0/{rid}/artifacts/a%00b",
        "%2Fetc/passwd",
        "0/{rid}/artifacts/a\\b",
    ],
)
def test_hostile_paths_are_refused_in_mlflows_shape(
    client: MlflowClient, server: ServerProcess, path: str
) -> None:
    run = client.create_run(client.create_experiment(f"bad-{uuid.uuid4().hex[:8]}"))
    shown = path.format(rid=run.info.run_id)
    put = httpx.put(f"{server.url}{PROXY}/{shown}", content=b"x")
    assert put.status_code == 400, put.text
    assert put.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    listed = httpx.get(f"{server.url}{PROXY}", params={"path": unquote(shown)})
    assert listed.status_code == 400
    assert listed.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_unknown_runs_and_files_are_missing(client: MlflowClient, server: ServerProcess) -> None:
    run = client.create_run(client.create_experiment(f"none-{uuid.uuid4().hex[:8]}"))
    rid = run.info.run_id
    assert client.list_artifacts(rid) == []
    got = httpx.get(f"{server.url}{PROXY}/0/{rid}/artifacts/nothing.txt")
    assert got.status_code == 404
    assert got.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    other = httpx.put(f"{server.url}{PROXY}/0/{uuid.uuid4().hex}/artifacts/a.txt", content=b"x")
    assert other.status_code == 404
    assert other.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    root = httpx.put(f"{server.url}{PROXY}/0/not-a-root", content=b"x")
    assert root.status_code == 404


def test_a_reader_token_may_download_but_not_upload(
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
        mlflow.set_tracking_uri(proc.url)
        (tmp_path / "a.txt").write_text("a")
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token("writer"))
        writer = MlflowClient(proc.url)
        rid = writer.create_run(writer.create_experiment("guarded")).info.run_id
        writer.log_artifact(rid, str(tmp_path / "a.txt"))

        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token("reader"))
        reader = MlflowClient(proc.url)
        assert [f.path for f in reader.list_artifacts(rid)] == ["a.txt"]
        with pytest.raises(requests.HTTPError) as refused:
            reader.log_artifact(rid, str(tmp_path / "a.txt"), "again")
        assert refused.value.response.status_code == 403
        assert refused.value.response.json()["error_code"] == "PERMISSION_DENIED"
        assert [f.path for f in reader.list_artifacts(rid)] == ["a.txt"]
    finally:
        mlflow.set_tracking_uri(None)
        proc.stop()


def test_delete_artifacts_through_mlflows_repository(client: MlflowClient) -> None:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    mlflow.set_experiment(f"deletes-{uuid.uuid4().hex[:8]}")
    with mlflow.start_run() as run:
        mlflow.log_text("a", "notes/a.txt")
        mlflow.log_text("b", "notes/deeper/b.txt")
        mlflow.log_text("c", "keep.txt")
        mlflow.log_text("d", "notes.txt")  # beside the folder, not in it
    rid = run.info.run_id
    repo = get_artifact_repository(run.info.artifact_uri)

    def paths() -> list[str]:
        return sorted(f.path for f in client.list_artifacts(rid))

    repo.delete_artifacts("notes")
    assert paths() == ["keep.txt", "notes.txt"]
    repo.delete_artifacts("keep.txt")
    assert paths() == ["notes.txt"]
    repo.delete_artifacts("never-logged")  # nothing there is no error, as in MLflow's stores
    assert paths() == ["notes.txt"]
    answer = httpx.delete(
        f"{mlflow.get_tracking_uri()}{PROXY}/{run.info.experiment_id}/{rid}/artifacts/%2E%2E/x"
    )
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
