"""Files through a real server process: an upload cut off half-way, access of scoped tokens,
``modeltrail gc``, and a PostgreSQL store with its files in an S3-compatible server."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import uuid
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from conftest import S3Server, ServerProcess, cli_env, run_cli
from modeltrail.server.app import create_app
from modeltrail.server.auth import AuthSettings
from modeltrail.services.metadata import Metadata

API = "/api/v1"
ADMIN = "admin-" + uuid.uuid4().hex


def _artifact(url: str, headers: dict[str, str] | None = None) -> str:
    body = {"name": "m", "version": "1", "kind": "model", "attributes": {}}
    response = httpx.post(f"{url}{API}/artifacts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_an_upload_cut_off_half_way_leaves_nothing(tmp_path: Path) -> None:
    server = ServerProcess(f"sqlite:///{tmp_path / 'store.db'}", cwd=tmp_path)
    try:
        artifact = _artifact(server.url)
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(
                f"PUT {API}/artifacts/{artifact}/files/model.bin HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{server.port}\r\nContent-Length: {50 << 20}\r\n\r\n".encode()
            )
            for _ in range(8):
                s.sendall(os.urandom(1 << 20))
            time.sleep(0.5)  # the server has received and staged some of it
        root = tmp_path / "store-artifacts"
        deadline = time.monotonic() + 10
        while any((root / "tmp").iterdir()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list((root / "tmp").iterdir()) == []
        assert list((root / "blobs").iterdir()) == []
        listed = httpx.get(f"{server.url}{API}/artifacts/{artifact}/files").json()
        assert listed["items"] == []
        # The server carries on.
        ok = httpx.put(f"{server.url}{API}/artifacts/{artifact}/files/model.bin", content=b"x")
        assert ok.status_code == 201
    finally:
        server.stop()


@pytest.fixture
def secured(metadata: Metadata, tmp_path: Path) -> TestClient:
    from modeltrail.services.files import FileService
    from modeltrail.store.files import LocalBlobStore

    metadata._files[0] = FileService(LocalBlobStore(tmp_path / "files"))
    app = create_app(metadata, auth_settings=AuthSettings(enabled=True, admin_token=ADMIN))
    return TestClient(app, base_url="http://testserver")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _token(c: TestClient, **body: object) -> dict[str, str]:
    made = c.post(f"{API}/tokens", json={"name": "t", **body}, headers=_bearer(ADMIN))
    assert made.status_code == 201, made.text
    return _bearer(made.json()["token"])


def _output_of(c: TestClient, experiment: str) -> str:
    """An artifact written by a step of a run of ``experiment``."""
    admin = _bearer(ADMIN)
    run = c.post(f"{API}/runs", json={"experiment": experiment, "name": "r"}, headers=admin)
    exe = c.post(f"{API}/executables", json={"name": f"e{uuid.uuid4().hex}"}, headers=admin)
    art = c.post(
        f"{API}/artifacts",
        json={"name": "m", "version": "1", "kind": "model", "attributes": {}},
        headers=admin,
    ).json()
    step = c.post(
        f"{API}/executions",
        json={
            "run": run.json()["id"],
            "executable": exe.json()["id"],
            "name": "s",
            "kind": "train",
            "outputArtifacts": [art["id"]],
        },
        headers=admin,
    )
    assert step.status_code == 201, step.text
    return str(art["id"])


def test_files_are_written_by_those_who_may_write_the_artifact(secured: TestClient) -> None:
    admin = _bearer(ADMIN)
    mine = secured.post(f"{API}/experiments", json={"name": "mine"}, headers=admin).json()["id"]
    other = secured.post(f"{API}/experiments", json={"name": "other"}, headers=admin).json()["id"]
    my_model, their_model = _output_of(secured, mine), _output_of(secured, other)
    writer = _token(secured, experiments={mine: "writer"})
    reader = _token(secured, experiments={mine: "reader"})
    global_reader = _token(secured, role="reader")

    def url(artifact: str) -> str:
        return f"{API}/artifacts/{artifact}/files/model.bin"

    assert secured.put(url(my_model), content=b"mine", headers=writer).status_code == 201
    refused = secured.put(url(their_model), content=b"theirs", headers=writer)
    assert refused.status_code == 403
    assert secured.get(f"{API}/artifacts/{their_model}/files", headers=admin).json()["items"] == []
    assert secured.put(url(my_model), content=b"x", headers=reader).status_code == 403
    assert secured.put(url(my_model), content=b"x", headers=global_reader).status_code == 403
    assert secured.delete(url(my_model), headers=reader).status_code == 403
    created = secured.post(
        f"{API}/artifacts/{their_model}/uploads", json={"path": "f"}, headers=writer
    )
    assert created.status_code == 403
    for token in (writer, reader, global_reader):
        assert secured.get(url(my_model), headers=token).content == b"mine"
    assert secured.get(url(their_model), headers=reader).status_code == 403
    assert secured.get(f"{API}/artifacts/{their_model}/files", headers=reader).status_code == 403
    assert secured.put(url(my_model), content=b"x").status_code == 401
    assert secured.delete(url(my_model), headers=writer).status_code == 204


def test_gc_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    meta = Metadata.open(url)
    c = TestClient(create_app(meta), base_url="http://testserver")
    kept = _client_artifact(c)
    gone = _client_artifact(c)
    c.put(f"{API}/artifacts/{kept}/files/a", content=b"kept")
    c.put(f"{API}/artifacts/{gone}/files/a", content=b"gone")
    c.delete(f"{API}/artifacts/{gone}")
    meta.close()

    dry = run_cli("gc", "--database-url", url, "--older-than", "0", cwd=tmp_path)
    assert "would remove 1 file (4 bytes)" in dry.stdout
    assert "--delete" in dry.stdout
    found = json.loads(
        run_cli("gc", "--database-url", url, "--older-than", "0", "--json", cwd=tmp_path).stdout
    )
    assert found["blobs"] == [{"sha256": hashlib.sha256(b"gone").hexdigest(), "size": 4}]
    assert found["dryRun"] is True
    assert found["abandonedUploads"] == []
    done = run_cli("gc", "--database-url", url, "--older-than", "0", "--delete", cwd=tmp_path)
    assert "removed 1 file (4 bytes)" in done.stdout
    blobs = sorted(
        p.name for p in (tmp_path / "store-artifacts" / "blobs").rglob("*") if p.is_file()
    )
    assert blobs == [hashlib.sha256(b"kept").hexdigest()]
    young = run_cli("gc", "--database-url", url, cwd=tmp_path)
    assert "would remove 0 files" in young.stdout
    assert "0 abandoned uploads" in young.stdout
    missing = run_cli("gc", "--database-url", f"sqlite:///{tmp_path / 'no.db'}", check=False)
    assert missing.returncode == 2
    assert "no store here" in missing.stderr
    assert not (tmp_path / "no-artifacts").exists()


def _client_artifact(c: TestClient) -> str:
    body = {"name": "m", "version": "1", "kind": "model", "attributes": {}}
    return str(c.post(f"{API}/artifacts", json=body).json()["id"])


def test_a_postgresql_store_with_its_files_in_s3(
    postgres_url: str, s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3_server.bucket()
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    server = ServerProcess(postgres_url, "--artifacts-root", f"s3://{bucket}/team", cwd=tmp_path)
    try:
        assert f"s3://{bucket}/team" in server.log.read_text()
        artifact = _artifact(server.url)
        data = os.urandom(20 << 20)
        put = httpx.put(
            f"{server.url}{API}/artifacts/{artifact}/files/model.bin", content=data, timeout=60
        )
        assert put.status_code == 201, put.text
        got = httpx.get(f"{server.url}{API}/artifacts/{artifact}/files/model.bin", timeout=60)
        assert got.content == data
        keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]]  # type: ignore[attr-defined]
        assert keys == [f"team/blobs/{hashlib.sha256(data).hexdigest()}"]
    finally:
        server.stop()


def test_a_postgresql_store_without_a_file_store_says_so(postgres_url: str, tmp_path: Path) -> None:
    env = cli_env()
    env.pop("MODELTRAIL_ARTIFACTS_ROOT", None)
    server = ServerProcess(postgres_url, cwd=tmp_path)
    try:
        artifact = _artifact(server.url)
        answer = httpx.put(f"{server.url}{API}/artifacts/{artifact}/files/f", content=b"x")
        assert answer.status_code == 409
        assert "--artifacts-root" in answer.json()["detail"]
    finally:
        server.stop()


def test_the_servers_memory_stays_flat_while_a_large_file_goes_through(tmp_path: Path) -> None:
    import psutil

    server = ServerProcess(f"sqlite:///{tmp_path / 'store.db'}", cwd=tmp_path)
    try:
        artifact = _artifact(server.url)
        url = f"{server.url}{API}/artifacts/{artifact}/files/big.bin"
        size = 256 << 20
        block = os.urandom(1 << 20)
        process = psutil.Process(server.proc.pid)
        before = process.memory_info().rss
        peak = before

        def body():  # type: ignore[no-untyped-def]
            nonlocal peak
            for _ in range(size >> 20):
                peak = max(peak, process.memory_info().rss)
                yield block

        put = httpx.put(url, content=body(), headers={"Content-Length": str(size)}, timeout=300)
        assert put.status_code == 201, put.text
        received = 0
        with httpx.stream("GET", url, timeout=300) as r:
            for chunk in r.iter_bytes(1 << 20):
                received += len(chunk)
                peak = max(peak, process.memory_info().rss)
        assert received == size
        assert (peak - before) < 100 << 20, f"the server grew by {(peak - before) >> 20} MiB"
    finally:
        server.stop()
