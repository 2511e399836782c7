"""MLflow's artifact proxy: files and models logged by MLflow's own client, unchanged, land in
modeltrail's file store, on SQLite and PostgreSQL, and come back through the same client."""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path
from typing import Any
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
API = "/api/2.0/mlflow"


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


def _big_file_with_parts_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[int], bytes]:
    """``big.bin`` of three parts and a bit (at a 100,000-byte part size), and the list of
    the part numbers MLflow's client will upload."""
    from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository

    sent: list[int] = []
    part = HttpArtifactRepository._upload_part

    def counted(credential: Any, local_file: str, size: int, start_byte: int) -> Any:
        sent.append(credential.part_number)
        return part(credential, local_file, size, start_byte)

    monkeypatch.setattr(HttpArtifactRepository, "_upload_part", staticmethod(counted))
    data = bytes(range(256)) * 1000 + b"tail"
    (tmp_path / "big.bin").write_bytes(data)
    return sent, data


def test_a_file_larger_than_a_part_goes_up_in_parts(
    client: MlflowClient, server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1000")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(100_000))
    sent, data = _big_file_with_parts_counted(tmp_path, monkeypatch)
    mlflow.set_experiment(f"parts-{uuid.uuid4().hex[:8]}")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / "big.bin"), artifact_path="weights")
        mlflow.log_text("small", "small.txt")  # below the size for parts: one PUT
    assert sorted(sent) == [1, 2, 3]
    rid = run.info.run_id
    assert {(f.path, f.file_size) for f in client.list_artifacts(rid, "weights")} == {
        ("weights/big.bin", len(data))
    }
    out = Path(client.download_artifacts(rid, "weights/big.bin", str(tmp_path / "down")))
    assert out.read_bytes() == data
    # No upload is left under way.
    files = httpx.get(f"{server.url}/api/v1/artifacts/{run_files_id(uuid.UUID(rid))}/files").json()
    assert {f["path"] for f in files["items"]} == {"weights/big.bin", "small.txt"}


def test_the_client_learns_from_the_server_to_send_large_files_in_parts(
    client: MlflowClient, server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD: MLflow 3's client asks the server
    (``/api/3.0/mlflow/server-info``) whether its proxy takes a large file in parts."""
    from mlflow.utils.rest_utils import MlflowHostCreds
    from mlflow.utils.server_info import _clear_server_info_cache, fetch_server_info

    _clear_server_info_cache()
    monkeypatch.delenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", raising=False)
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1000")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(100_000))
    info = fetch_server_info(MlflowHostCreds(server.url))
    assert info.status_code == 200 and info.data is not None
    assert info.data["multipart_uploads_enabled"] is True
    assert info.data["multipart_downloads_enabled"] is False  # no presigned downloads here
    assert info.data["workspaces_enabled"] is False
    sent, data = _big_file_with_parts_counted(tmp_path, monkeypatch)
    mlflow.set_experiment(f"told-{uuid.uuid4().hex[:8]}")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / "big.bin"))
    assert sorted(sent) == [1, 2, 3]
    out = Path(client.download_artifacts(run.info.run_id, "big.bin", str(tmp_path / "down")))
    assert out.read_bytes() == data


def test_a_workspace_is_refused_as_unsupported(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client asks the server before it uses a workspace; told there are none, it says
    so, instead of that it could not find out."""
    from mlflow.exceptions import MlflowException
    from mlflow.utils.server_info import _clear_server_info_cache

    _clear_server_info_cache()
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_WORKSPACE", "team-a")
    with pytest.raises(MlflowException) as refused:
        MlflowClient(server.url).create_experiment(f"ws-{uuid.uuid4().hex[:8]}")
    assert refused.value.error_code == "FEATURE_DISABLED"
    assert "does not support workspaces" in refused.value.message


def test_multipart_refusals_in_mlflows_shape(client: MlflowClient, server: ServerProcess) -> None:
    run = client.create_run(client.create_experiment(f"mpu-{uuid.uuid4().hex[:8]}"))
    folder = f"{run.info.experiment_id}/{run.info.run_id}/artifacts"
    mpu = f"{server.url}/api/2.0/mlflow-artifacts/mpu"

    def refused(answer: httpx.Response, status: int, code: str) -> None:
        assert answer.status_code == status, answer.text
        assert answer.json()["error_code"] == code, answer.text

    made = httpx.post(f"{mpu}/create/{folder}", json={"path": "/tmp/w.bin", "num_parts": 2})
    assert made.status_code == 200, made.text
    upload = made.json()["upload_id"]
    urls = [c["url"] for c in made.json()["credentials"]]
    assert [c["part_number"] for c in made.json()["credentials"]] == [1, 2]
    assert httpx.put(urls[0], content=b"a" * 10).status_code == 200
    # Part 2 never came: the upload cannot be completed, and nothing is recorded.
    body = {"path": "w.bin", "upload_id": upload, "parts": [{"part_number": 1}, {"part_number": 2}]}
    refused(httpx.post(f"{mpu}/complete/{folder}", json=body), 400, "INVALID_PARAMETER_VALUE")
    assert client.list_artifacts(run.info.run_id) == []
    # Another file's name, or an id nobody started, is no upload under way.
    other = {**body, "path": "other.bin"}
    refused(httpx.post(f"{mpu}/complete/{folder}", json=other), 404, "RESOURCE_DOES_NOT_EXIST")
    unknown = {**body, "upload_id": "f" * 32}
    refused(httpx.post(f"{mpu}/abort/{folder}", json=unknown), 404, "RESOURCE_DOES_NOT_EXIST")
    part = httpx.put(f"{mpu}/part/{folder}/w.bin?upload_id=nope&part_number=1", content=b"x")
    refused(part, 404, "RESOURCE_DOES_NOT_EXIST")
    for bad in (
        {"path": "..", "num_parts": 1},
        {"num_parts": 1},
        {"path": "a.bin", "num_parts": 0},
        {"path": "a.bin", "num_parts": 10_001},
        {"path": "a.bin", "num_parts": "many"},
    ):
        refused(httpx.post(f"{mpu}/create/{folder}", json=bad), 400, "INVALID_PARAMETER_VALUE")
    refused(
        httpx.post(f"{mpu}/create/{folder}/%2E%2E", json={"path": "a.bin"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    refused(
        httpx.post(f"{mpu}/create/0/{uuid.uuid4().hex}/artifacts", json={"path": "a.bin"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    no_parts = {"path": "w.bin", "upload_id": upload}
    refused(httpx.post(f"{mpu}/complete/{folder}", json=no_parts), 400, "INVALID_PARAMETER_VALUE")
    bad_part = {**body, "parts": [{"part_number": "x"}]}
    refused(httpx.post(f"{mpu}/complete/{folder}", json=bad_part), 400, "INVALID_PARAMETER_VALUE")
    # Aborted, the upload is gone.
    assert httpx.post(f"{mpu}/abort/{folder}", json=body).status_code == 200
    refused(httpx.put(urls[1], content=b"b"), 404, "RESOURCE_DOES_NOT_EXIST")
    assert client.list_artifacts(run.info.run_id) == []


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


def test_a_registered_version_keeps_the_logged_model_it_came_from(
    client: MlflowClient, server: ServerProcess, tmp_path: Path
) -> None:
    mlflow.set_experiment(f"registered-{uuid.uuid4().hex[:8]}")
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    fitted = LogisticRegression().fit(x, np.array([0, 0, 1, 1]))
    name = f"digits-{uuid.uuid4().hex[:8]}"
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(fitted, name="model", registered_model_name=name)
    # MLflow's client reads no model_id from its server's answer (its ModelVersion.from_proto
    # leaves it out); MLflow's server sends it, and so does modeltrail.
    assert client.get_model_version(name, "1").run_id == run.info.run_id

    def model_ids(path: str, **query: str) -> list[str | None]:
        answer = httpx.get(f"{server.url}{API}/model-versions/{path}", params=query).json()
        versions = (
            answer["model_versions"] if "model_versions" in answer else [answer["model_version"]]
        )
        return [v.get("model_id") for v in versions]

    assert model_ids("get", name=name, version="1") == [info.model_id]
    assert model_ids("search", filter=f"name = '{name}'") == [info.model_id]
    for path, query in (("get", {"name": name}), ("search", {"filter": f"name = '{name}'"})):
        answer = httpx.get(f"{server.url}{API}/registered-models/{path}", params=query).json()
        model = answer.get("registered_model") or answer["registered_models"][0]
        assert [v.get("model_id") for v in model["latest_versions"]] == [info.model_id]
    assert list(mlflow.sklearn.load_model(f"models:/{name}/1").predict(x)) == [0, 0, 1, 1]
    # In modeltrail the version points at the logged model's artifact: its lineage is the
    # run's that logged it.
    own = httpx.get(f"{server.url}/api/v1/models/{name}/versions/1").json()
    assert own["artifact"]["id"] == str(uuid.UUID(info.model_id.removeprefix("m-")))
    assert own["run"]["id"] == str(uuid.UUID(run.info.run_id))

    # A version registered from a run's files, not from a logged model, has no model_id,
    # as on MLflow's server.
    mlflow.sklearn.save_model(fitted, tmp_path / "plain")
    with mlflow.start_run() as plain:
        mlflow.log_artifacts(str(tmp_path / "plain"), "plain")
    second = mlflow.register_model(f"runs:/{plain.info.run_id}/plain", name)
    assert second.version == "2"
    assert model_ids("get", name=name, version="2") == [None]
    assert set(model_ids("search", filter=f"name = '{name}'")) == {info.model_id, None}
    assert list(mlflow.sklearn.load_model(f"models:/{name}/2").predict(x)) == [0, 0, 1, 1]


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
        # In parts, the part URLs carry the writer's token.
        monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
        monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1")
        monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", "4")
        (tmp_path / "b.txt").write_text("in three parts")
        writer.log_artifact(rid, str(tmp_path / "b.txt"))
        assert writer.download_artifacts(rid, "b.txt", str(tmp_path / "b")).endswith("b.txt")

        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token("reader"))
        reader = MlflowClient(proc.url)
        assert [f.path for f in reader.list_artifacts(rid)] == ["a.txt", "b.txt"]
        with pytest.raises(requests.HTTPError) as refused:
            reader.log_artifact(rid, str(tmp_path / "a.txt"), "again")
        assert refused.value.response.status_code == 403
        assert refused.value.response.json()["error_code"] == "PERMISSION_DENIED"
        monkeypatch.delenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD")
        with pytest.raises(requests.HTTPError) as refused:
            reader.log_artifact(rid, str(tmp_path / "a.txt"), "again")
        assert refused.value.response.status_code == 403
        assert [f.path for f in reader.list_artifacts(rid)] == ["a.txt", "b.txt"]
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
