"""Metric points sent by a thread of their own, against a real server process: a full queue
holds the logging loop back rather than grow, an error reaches the user at the flush (not
swallowed, not at every log call), and a forked child does not send its parent's points."""

from __future__ import annotations

import contextlib
import contextvars
import gc
import os
import signal
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import modeltrail as mt
from conftest import ServerProcess, cli_env
from modeltrail.errors import ServerUnreachable

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerProcess]:
    monkeypatch.chdir(tmp_path)  # the spool, if any, lives here
    for name in ("MODELTRAIL_URL", "MODELTRAIL_RUN", "MODELTRAIL_ON_UNREACHABLE"):
        monkeypatch.delenv(name, raising=False)
    proc = ServerProcess(f"sqlite:///{tmp_path / 'server.db'}", cwd=tmp_path)
    yield proc
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.proc.pid, signal.SIGCONT)
    proc.stop()


def _count(server: ServerProcess, run: str, key: str) -> int:
    answer = httpx.get(f"{server.url}/api/v1/runs/{run}/metrics/{key}", timeout=30)
    return 0 if answer.status_code == 404 else int(answer.json()["count"])


def test_a_full_queue_holds_the_loop_back_until_the_server_answers(server: ServerProcess) -> None:
    trail = mt.connect(
        server.url, on_unreachable="raise", metrics_buffer=100, metrics_queue=2, timeout=120
    )
    logged = 0
    with trail.run(experiment="sender") as run:
        os.kill(server.proc.pid, signal.SIGSTOP)  # it takes requests and answers none

        def loop() -> None:
            nonlocal logged
            for i in range(1000):
                run.log_metric("loss", 1 / (i + 1), step=i)
                logged += 1

        training = threading.Thread(target=loop)
        training.start()
        training.join(3)
        try:
            # One batch in the request the server does not answer, two waiting, and the
            # loop held back at the hand-over of the fourth: nothing more is kept.
            assert training.is_alive()
            assert logged == 399
            assert len(trail.metrics.sender._waiting) == 2
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
        training.join(60)
        assert not training.is_alive() and logged == 1000
    trail.close()
    assert _count(server, run.id, "loss") == 1000


def test_a_server_killed_mid_run_fails_the_flush_not_the_loop(server: ServerProcess) -> None:
    trail = mt.connect(
        server.url, on_unreachable="raise", metrics_buffer=1000, retries=1, backoff=0.01
    )
    with pytest.raises(ServerUnreachable) as raised, trail.run(experiment="sender") as run:
        for i in range(3000):
            run.log_metric("loss", 1.0, step=i)
        trail.metrics.flush()
        assert _count(server, run.id, "loss") == 3000
        server.proc.kill()
        server.proc.wait()
        for i in range(3000, 8000):
            run.log_metric("loss", 1.0, step=i)  # handed over; the sends fail in the thread
        trail.metrics.flush()
    assert "modeltrail: 5,000 metric point(s) were not sent" in raised.value.__notes__
    trail.metrics.flush()  # the error was told once; the sender takes points again
    with contextlib.suppress(ServerUnreachable):  # the run's end cannot be sent either
        trail.close()


def test_closing_the_client_raises_what_its_sender_could_not_send(server: ServerProcess) -> None:
    trail = mt.connect(server.url, on_unreachable="raise", retries=0, metrics_buffer=10)

    def never_ended() -> None:  # in a context of its own: the run stays current there only
        run = trail.run(experiment="sender").__enter__()
        for i in range(25):
            run.log_metric("loss", 1.0, step=i)
        trail.metrics.sender.wait()  # two batches sent, five points kept
        server.proc.kill()
        server.proc.wait()
        with pytest.raises(ServerUnreachable) as raised:
            trail.close()
        assert "modeltrail: 5 metric point(s) were not sent" in raised.value.__notes__

    contextvars.copy_context().run(never_ended)


def test_a_sent_batch_is_let_go_without_waiting_for_the_garbage_collector(
    server: ServerProcess,
) -> None:
    trail = mt.connect(server.url, on_unreachable="raise")
    with trail.run(experiment="sender") as run:
        n = 50_000
        body = {"series": [{"key": "k", "steps": list(range(n)), "values": [0.5] * n}]}
        trail.send_pending()  # the run is stored
        trail.send_metrics(run.id, body)  # connections and caches made
        gc.collect()
        gc.disable()  # as in a program whose full collections are rare
        try:
            tracemalloc.start()
            for _ in range(20):  # about 0.6 MB of JSON each
                trail.send_metrics(run.id, body)
            held, _ = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        finally:
            gc.enable()
    trail.close()
    assert held < 2 * 2**20, f"{held / 2**20:.1f} MB still held after 20 requests"


EXITS_WITHOUT_CLOSING = """
import sys
import modeltrail as mt
trail = mt.connect(sys.argv[1], on_unreachable="raise", metrics_buffer=10)
run = trail.run(experiment="sender").__enter__()
for i in range(25):
    run.log_metric("loss", 1.0, step=i)
print(run.id)
"""


def test_a_program_that_never_closes_its_client_sends_its_points_at_exit(
    server: ServerProcess, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", EXITS_WITHOUT_CLOSING, server.url],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert _count(server, done.stdout.strip(), "loss") == 25


def test_a_forked_child_leaves_its_parents_points_to_the_parent(server: ServerProcess) -> None:
    trail = mt.connect(server.url, on_unreachable="raise", metrics_buffer=10)
    with trail.run(experiment="sender") as run:
        for i in range(25):  # two batches handed over, five points kept
            run.log_metric("loss", 1.0, step=i)
        pid = os.fork()
        if pid == 0:  # the child: nothing kept, no thread, and it may log again
            ok = not trail.metrics._kept and trail.metrics.sender._thread is None
            run.log_metric("loss", 2.0, step=99)
            os._exit(0 if ok and trail.metrics._size == 1 else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    trail.close()
    assert _count(server, run.id, "loss") == 25


def test_points_stay_bounded_and_arrive_in_the_order_logged(server: ServerProcess) -> None:
    trail = mt.connect(server.url, on_unreachable="raise", metrics_buffer=500, metrics_queue=4)
    with trail.run(experiment="sender") as run:
        for i in range(20_000):
            # Ten steps of 2,000 points each: a step's points read in the order they came.
            run.log_metrics({"a": i, "b": -i}, step=i // 2000)
            assert trail.metrics._size <= 500
    trail.close()
    answer = httpx.get(f"{server.url}/api/v1/runs/{run.id}/metrics/a", timeout=30).json()
    assert answer["values"] == list(range(20_000))
    thread = trail.metrics.sender._thread
    assert thread is not None and not thread.is_alive()  # close() ended it
