"""Never lose metadata: a server that goes away mid-pipeline costs nothing, duplicates nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import modeltrail as mt
from conftest import ServerProcess, cli_env, free_port, run_cli
from modeltrail.errors import ServerUnreachable
from modeltrail.sdk.spool import Entry, Outcome, Spool


class ServerOnPort(ServerProcess):
    """A server process on a port chosen by the test, so it can come back where it was."""

    def __init__(self, database_url: str, port: int, *, cwd: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = cwd / f"server-{port}.log"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "modeltrail",
                "server",
                "--port",
                str(port),
                "--database-url",
                database_url,
                "--log-level",
                "warning",
            ],
            cwd=cwd,
            env=cli_env(),
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
        )
        self.wait_ready()


def counts(url: str) -> dict[str, int]:
    with mt.connect(url, on_unreachable="raise") as trail:
        return {
            p: trail.conn.get(f"/api/v1/{p}", count=True, limit=1)["total"]
            for p in ("experiments", "pipelines", "executables", "runs", "executions", "artifacts")
        }


@pytest.fixture(autouse=True)
def _workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in (
        "MODELTRAIL_URL",
        "MODELTRAIL_RUN",
        "MODELTRAIL_SPOOL",
        "MODELTRAIL_ON_UNREACHABLE",
    ):
        monkeypatch.delenv(name, raising=False)


def test_server_stopped_mid_pipeline_and_started_again(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'store.db'}"
    port = free_port()
    server = ServerOnPort(database, port, cwd=tmp_path)
    spool = tmp_path / "spool.jsonl"
    trail = mt.connect(server.url, spool=spool, recheck_after=0, retries=0)
    try:
        with trail.run(experiment="handwriting", pipeline="digits") as run:
            with run.step("prepare") as prepare:
                clean = prepare.output(mt.dataset(np.arange(10), name="clean"))
            server.stop()
            with run.step("train", kind="train", config={"learning-rate": 0.01}) as train:
                train.input(clean)
                model = train.output(mt.model(name="mlp", uri="models/mlp.joblib"))
                train.log_metric("accuracy", 0.9, of=model)
                train.annotate(note="written while the server was away")
            kept = Spool(spool).pending(server.url)
            # The step's start and its end are a batch each.
            assert [e.path for e in kept].count("/api/v1/batch") == 2
            assert sum(len(e.body.get("operations", [e.body])) for e in kept) >= 6
            server = ServerOnPort(database, port, cwd=tmp_path)
            with run.step(
                "deploy", kind="deployment"
            ) as deploy:  # the next call sends the spool first
                deploy.input(model)
    finally:
        trail.close()
        server.stop()
    assert Spool(spool).pending() == []
    server = ServerOnPort(database, port, cwd=tmp_path)
    try:
        assert counts(server.url) == {
            "experiments": 1,
            "pipelines": 1,
            "executables": 3,
            "runs": 1,
            "executions": 3,
            "artifacts": 4,
        }
        with mt.connect(server.url) as check:
            stored = check.conn.get(f"/api/v1/runs/{run.id}")
            assert stored["status"] == "SUCCESS"
            executions = check.conn.get("/api/v1/executions", sort="startTime")["items"]
            assert [(e["name"], e["status"]) for e in executions] == [
                ("prepare", "SUCCESS"),
                ("train", "SUCCESS"),
                ("deploy", "SUCCESS"),
            ]
            assert executions[1]["inputArtifacts"] == [clean.id]
            assert executions[1]["annotations"]["note"] == "written while the server was away"
            assert executions[1]["successors"] == [executions[2]["id"]]
            assert executions[2]["inputArtifacts"] == [model.id]
            assert len(executions[1]["outputArtifacts"]) == 2
    finally:
        server.stop()


def test_sync_command_sends_what_a_finished_pipeline_left(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"  # nothing listens there yet
    script = tmp_path / "pipeline.py"
    script.write_text(
        "import modeltrail as mt\n"
        f"trail = mt.connect({url!r}, retries=0)\n"
        "daily = mt.Trigger.schedule('@daily')\n"
        "with trail.run(experiment='e', pipeline='p', trigger=daily) as run:\n"
        "    with run.step('prepare') as step:\n"
        "        step.output(mt.dataset('s3://bucket/clean.csv'))\n"
        "print('pipeline done')\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr  # the pipeline never fails for want of a server
    assert "pipeline done" in done.stdout
    spool = Spool(tmp_path / ".modeltrail" / "spool.jsonl")
    pending = spool.pending()
    assert len(pending) >= 8 and {e.target for e in pending} == {url}
    saved = tmp_path / "saved.jsonl"
    shutil.copyfile(spool.path, saved)

    waiting = run_cli("sync", cwd=tmp_path, check=False)
    assert waiting.returncode == 1 and "still waiting" in waiting.stdout

    server = ServerOnPort(f"sqlite:///{tmp_path / 'store.db'}", port, cwd=tmp_path)
    try:
        sent = run_cli("sync", "--json", cwd=tmp_path)
        assert '"remaining": 0' in sent.stdout and spool.pending() == []
        first = counts(url)
        assert first == {
            "experiments": 1,
            "pipelines": 1,
            "executables": 1,
            "runs": 1,
            "executions": 1,
            "artifacts": 2,
        }
        assert "nothing to send" in run_cli("sync", cwd=tmp_path).stdout
        shutil.copyfile(saved, spool.path)  # replay everything again: nothing is duplicated
        run_cli("sync", cwd=tmp_path)
        assert counts(url) == first
        with mt.connect(url) as check:
            (stored,) = check.conn.get("/api/v1/runs")["items"]
            assert stored["status"] == "SUCCESS"
            event = check.conn.get(f"/api/v1/artifacts/{stored['event']}")
            assert event["attributes"]["cause"] == "schedule"
    finally:
        server.stop()


def test_fail_instead_of_spooling_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with (
        pytest.raises(ServerUnreachable),
        mt.connect(url, on_unreachable="raise", retries=0).run(experiment="e"),
    ):
        pass
    monkeypatch.setenv("MODELTRAIL_ON_UNREACHABLE", "raise")
    with (
        pytest.raises(ServerUnreachable),
        mt.connect(url, retries=1, backoff=0.01).run(experiment="e"),
    ):
        pass
    assert Spool().pending() == []


def test_spool_keeps_order_other_targets_and_sets_refused_entries_aside(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.jsonl")
    for i in range(5):
        spool.append(Entry.new("a" if i != 2 else "b", "POST", f"/x/{i}", {"i": i}))
    seen = []

    def send(entry: Entry) -> str:
        seen.append(entry.body["i"])
        return {0: Outcome.SENT, 1: Outcome.REJECTED, 3: Outcome.STOPPED}.get(
            entry.body["i"], Outcome.SENT
        )

    result = spool.drain("a", send)
    assert seen == [0, 1, 3] and (result.sent, result.rejected, result.remaining) == (1, 1, 2)
    assert [e.body["i"] for e in spool.pending()] == [2, 3, 4]
    assert [e.body["i"] for e in Spool(tmp_path / "s.jsonl").pending("a")] == [3, 4]
    assert '"i":1' in spool.rejected_path.read_text()
    seen.clear()
    assert spool.drain("a", lambda e: seen.append(e.body["i"]) or Outcome.SENT).remaining == 0
    assert seen == [3, 4] and [e.target for e in spool.pending()] == ["b"]


def test_a_large_spool_is_checked_and_retried_without_reading_it_whole(tmp_path: Path) -> None:
    """Through a long outage the spool fills with batches of metric points; finding whether
    it holds writes for a server, and trying to send them while the server is still away,
    read it a line at a time and parse no body but the one tried."""
    import tracemalloc

    spool = Spool(tmp_path / "s.jsonl")
    batch = {"series": [{"key": "loss", "steps": list(range(20_000)), "values": [0.5] * 20_000}]}
    for _ in range(40):  # about 8 MB of text, several times that as Python lists
        spool.append(Entry.new("a", "POST", "/api/v1/runs/r/metrics", batch))
    other = 'sqlite:///a "quoted" \\ path.db'
    spool.append(Entry.new(other, "POST", "/api/v1/runs", {"name": "r"}))
    size = spool.path.stat().st_size
    tracemalloc.start()
    try:
        assert spool.has_pending("a") and spool.has_pending(other)
        assert not spool.has_pending("c")
        result = spool.drain("a", lambda entry: Outcome.STOPPED)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.sent, result.remaining) == (0, 40)
    assert peak < size / 2, f"peak {peak:,} bytes for a spool of {size:,}"
    assert spool.path.stat().st_size == size
    assert [e.target for e in spool.pending()] == ["a"] * 40 + [other]
