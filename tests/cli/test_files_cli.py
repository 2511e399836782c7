"""``modeltrail artifacts files list|put|get`` against a real server and on an SQLite file
in-process: files and folders go up and come back whole, ``--json`` is one document."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from conftest import ServerProcess, cli_env, run_cli


def _artifact(url: str, name: str = "digits") -> str:
    body = {"name": name, "kind": "dataset", "attributes": {}}
    if url.startswith("http"):
        answer = httpx.post(f"{url}/api/v1/artifacts", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])
    from modeltrail.sdk.connection import Connection

    with Connection(url, create=True) as conn:
        return str(conn.post("/api/v1/artifacts", body)["id"])


def _folder(root: Path) -> Path:
    data = root / "data"
    (data / "images").mkdir(parents=True)
    (data / "train.csv").write_text("pixel,label\n0,1\n")
    (data / "images" / "0.png").write_bytes(os.urandom(1000))
    return data


def _round_trip(url: str, root: Path) -> None:
    artifact = _artifact(url)
    data = _folder(root)
    put = json.loads(
        run_cli("artifacts", "files", "put", "digits", str(data), "v1", "--json", url=url).stdout
    )
    assert put["artifact"] == artifact
    assert sorted(f["path"] for f in put["items"]) == ["v1/images/0.png", "v1/train.csv"]
    one = run_cli("artifacts", "files", "put", artifact, str(data / "train.csv"), url=url)
    assert "uploaded train.csv (16 bytes, sha256 " in one.stdout

    listed = json.loads(run_cli("artifacts", "files", "list", "digits", "--json", url=url).stdout)
    assert [f["path"] for f in listed["items"]] == ["train.csv", "v1/images/0.png", "v1/train.csv"]
    assert listed["totalSize"] == 16 + 1000 + 16
    folder = json.loads(
        run_cli("artifacts", "files", "list", "digits", "v1/images", "--json", url=url).stdout
    )
    assert [f["path"] for f in folder["items"]] == ["v1/images/0.png"]
    table = run_cli("artifacts", "files", "list", "digits", url=url).stdout
    assert "3 files, 1,032 bytes" in table and "v1/images/0.png" in table

    out = root / "out"
    got = json.loads(
        run_cli("artifacts", "files", "get", "digits", "-o", str(out), "--json", url=url).stdout
    )
    assert len(got["items"]) == 3
    assert (out / "v1" / "images" / "0.png").read_bytes() == (
        data / "images" / "0.png"
    ).read_bytes()
    assert (out / "train.csv").read_text() == "pixel,label\n0,1\n"
    missing = run_cli("artifacts", "files", "get", "digits", "nope.bin", url=url, check=False)
    assert missing.returncode == 1 and "has no file 'nope.bin'" in missing.stderr


def test_files_go_up_and_come_back_through_a_server(server: ServerProcess, tmp_path: Path) -> None:
    _round_trip(server.url, tmp_path)


def test_files_go_up_and_come_back_in_process(tmp_path: Path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)


def test_a_large_transfer_shows_progress_on_stderr_only(
    server: ServerProcess, tmp_path: Path
) -> None:
    """On a terminal (forced here), a large file's transfer draws a progress bar on stderr;
    stdout stays the one JSON document."""
    artifact = _artifact(server.url, "weights")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(12 << 20))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        env = cli_env(MODELTRAIL_URL=server.url, FORCE_COLOR="1", COLUMNS="120")
        done = subprocess.run(
            [sys.executable, "-m", "modeltrail", "artifacts", "files", *args, "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done

    up = cli("put", artifact, str(big), "weights/big.bin")
    assert "uploading 1 file" in up.stderr and "12.6 MB" in up.stderr
    assert (
        json.loads(up.stdout)["items"][0]["sha256"] == hashlib.sha256(big.read_bytes()).hexdigest()
    )
    down = cli("get", artifact, "weights/big.bin", "-o", str(tmp_path / "out"))
    assert "downloading 1 file" in down.stderr
    assert json.loads(down.stdout)["items"][0]["path"] == "weights/big.bin"
    assert (tmp_path / "out" / "weights" / "big.bin").read_bytes() == big.read_bytes()
