"""A large file sent in parts by the SDK to a real server, several parts at once: it arrives
whole on SQLite and PostgreSQL, a part refused once is sent again, and an error abandons the
upload only once the parts on the way have ended."""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import modeltrail as mt
from conftest import ServerProcess, fresh_postgres_database
from modeltrail.errors import ModeltrailError
from modeltrail.sdk import files as transfer

PART = 1 << 20
# The real server, with parts of 1 MiB rather than tens: a file of a few parts stays small.
SMALL_PARTS = (
    "-c",
    "from modeltrail.store.files.local import LocalBlobStore; "
    f"LocalBlobStore.part_size = {PART}; "
    "from modeltrail.cli import main; main()",
)


@pytest.fixture(params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServerProcess]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MODELTRAIL_ARTIFACTS_ROOT", str(tmp_path / "server-files"))
    if request.param == "sqlite":
        proc = ServerProcess(
            f"sqlite:///{tmp_path / 'server.db'}", cwd=tmp_path, launcher=SMALL_PARTS
        )
        yield proc
        proc.stop()
        return
    with fresh_postgres_database("parts") as url:
        proc = ServerProcess(url, cwd=tmp_path, launcher=SMALL_PARTS)
        yield proc
        proc.stop()


class Watched(httpx.BaseTransport):
    """The client's own transport, watched: which part requests were on the way at once, and a
    part answered 503 (as a proxy in front of the server would) the first time it is sent."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        refuse_once: int | None = None,
        on_first_part: Callable[[], None] | None = None,
    ) -> None:
        self.inner = inner
        self.refuse_once = refuse_once
        self.on_first_part = on_first_part
        self.sent: list[str] = []
        self.on_the_way = 0
        self.most_at_once = 0
        self.first = True
        self.changed = threading.Condition()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        name = f"{request.method} {request.url.path.rsplit('/uploads/', 1)[-1]}"
        with self.changed:
            self.sent.append(name)
            if self.refuse_once is not None and name.endswith(f"/parts/{self.refuse_once}"):
                self.refuse_once = None
                request.read()
                return httpx.Response(503, json={"detail": "try again"})
        if "/parts/" not in name:
            return self.inner.handle_request(request)
        with self.changed:
            if self.on_first_part is not None:
                self.on_first_part()
                self.on_first_part = None
            self.on_the_way += 1
            self.most_at_once = max(self.most_at_once, self.on_the_way)
            self.changed.notify_all()
            # The first part waits a while for a second one: sent one after another, none comes.
            if self.first:
                self.first = False
                self.changed.wait_for(lambda: self.on_the_way > 1, timeout=10)
        try:
            response = self.inner.handle_request(request)
            response.read()
            return response
        finally:
            with self.changed:
                self.on_the_way -= 1
                self.sent.append(f"{name} answered")


def _client(server: ServerProcess, **watch: Any) -> tuple[mt.Trail, Watched, str]:
    trail = mt.connect(server.url, on_unreachable="raise")
    watched = Watched(trail.conn.http._transport, **watch)
    trail.conn.http._transport = watched
    artifact = trail.conn.post(
        "/api/v1/artifacts", {"name": "big", "kind": "model", "attributes": {}}
    )["id"]
    return trail, watched, artifact


def test_parts_go_several_at_once_and_arrive_whole(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transfer, "MULTIPART_FROM", PART)
    data = os.urandom(7 * PART + 12_345)
    source = tmp_path / "weights.bin"
    source.write_bytes(data)
    trail, watched, artifact = _client(server, refuse_once=2)
    try:
        sent = transfer.upload(trail.conn, artifact, "weights.bin", source)
        assert sent["sha256"] == hashlib.sha256(data).hexdigest()
        assert sent["size"] == len(data)
        assert watched.most_at_once > 1
        upload = _id(watched)
        puts = [s for s in watched.sent if s.startswith("PUT") and not s.endswith("answered")]
        again = [f"PUT {upload}/parts/2"]  # refused the first time
        assert sorted(puts) == sorted([f"PUT {upload}/parts/{n}" for n in range(1, 9)] + again)
        assert watched.sent[-1] == f"POST {upload}/complete"
        back = transfer.download(trail.conn, artifact, tmp_path / "back", path="weights.bin")
        assert back.read_bytes() == data
    finally:
        trail.close()


def _id(watched: Watched) -> str:
    [name] = {s.split()[1].split("/")[0] for s in watched.sent if "/parts/" in s}
    return name


def test_a_refused_part_abandons_the_upload_after_the_parts_on_the_way(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transfer, "MULTIPART_FROM", PART)
    monkeypatch.setattr(transfer, "RETRIES", 0)
    source = tmp_path / "weights.bin"
    source.write_bytes(os.urandom(12 * PART))
    trail, watched, artifact = _client(server, refuse_once=3)
    try:
        with pytest.raises(ModeltrailError, match="try again"):
            transfer.upload(trail.conn, artifact, "weights.bin", source)
        upload = _id(watched)
        deleted = watched.sent.index(f"DELETE {upload}")
        # Every part sent was answered before the upload was abandoned, and none went after.
        assert not any("/parts/" in s for s in watched.sent[deleted:])
        started = [s for s in watched.sent if "/parts/" in s and not s.endswith("answered")]
        assert len(started) < 12  # the parts not yet on the way were not sent
        with pytest.raises(ModeltrailError, match="no upload"):
            trail.conn.get(f"/api/v1/artifacts/{artifact}/uploads/{upload}")
        assert trail.conn.get(f"/api/v1/artifacts/{artifact}/files")["items"] == []
    finally:
        trail.close()


def test_a_file_that_cannot_be_read_any_more_abandons_the_upload(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only the server's refusals: an error of the client's own, here the file gone from
    the disk while its parts are sent, abandons the upload too and is raised as it was."""
    monkeypatch.setattr(transfer, "MULTIPART_FROM", PART)
    source = tmp_path / "weights.bin"
    source.write_bytes(os.urandom(12 * PART))
    trail, watched, artifact = _client(server, on_first_part=source.unlink)
    try:
        with pytest.raises(FileNotFoundError):
            transfer.upload(trail.conn, artifact, "weights.bin", source)
        upload = _id(watched)
        deleted = watched.sent.index(f"DELETE {upload}")
        assert not any("/parts/" in s for s in watched.sent[deleted:])
        with pytest.raises(ModeltrailError, match="no upload"):
            trail.conn.get(f"/api/v1/artifacts/{artifact}/uploads/{upload}")
        assert trail.conn.get(f"/api/v1/artifacts/{artifact}/files")["items"] == []
    finally:
        trail.close()


class SlowToComplete(httpx.BaseTransport):
    """A server that takes longer to put the parts together than the client's timeout allows
    (on S3 it reads the whole file back to hash it): a completion sent with a read timeout
    times out, as it would."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.completions = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/complete"):
            self.completions += 1
            if request.extensions.get("timeout", {}).get("read") is not None:
                raise httpx.ReadTimeout("the server is still putting the parts together")
        return self.inner.handle_request(request)


def test_the_completion_waits_for_the_server_however_long_the_file(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sent again after a timeout, a completion finds the first one under way and the upload
    was abandoned under it; it is sent once and waited for, as the parts are."""
    monkeypatch.setattr(transfer, "MULTIPART_FROM", PART)
    data = os.urandom(2 * PART + 7)
    source = tmp_path / "weights.bin"
    source.write_bytes(data)
    trail = mt.connect(server.url, on_unreachable="raise")
    slow = SlowToComplete(trail.conn.http._transport)
    trail.conn.http._transport = slow
    try:
        artifact = trail.conn.post(
            "/api/v1/artifacts", {"name": "big", "kind": "model", "attributes": {}}
        )["id"]
        sent = transfer.upload(trail.conn, artifact, "weights.bin", source)
        assert sent["sha256"] == hashlib.sha256(data).hexdigest()
        assert slow.completions == 1
    finally:
        trail.close()


def _slow_server(tmp_path: Path, seconds: float) -> ServerProcess:
    """The real server, with parts of 1 MiB, that takes ``seconds`` to put them together."""
    launcher = (
        "-c",
        "import time; "
        "from modeltrail.store.files.local import LocalBlobStore; "
        f"LocalBlobStore.part_size = {PART}; "
        "together = LocalBlobStore.complete_upload; "
        "LocalBlobStore.complete_upload = "
        f"lambda self, *a, **k: (time.sleep({seconds}), together(self, *a, **k))[1]; "
        "from modeltrail.cli import main; main()",
    )
    return ServerProcess(f"sqlite:///{tmp_path / 'server.db'}", cwd=tmp_path, launcher=launcher)


class AnswerLost(httpx.BaseTransport):
    """A proxy that gives up on the first completion (504) while the server, which got it,
    goes on putting the parts together: the client sends it again, as after any lost answer."""

    def __init__(self, inner: httpx.BaseTransport, *, after_it_ends: bool = False) -> None:
        """``after_it_ends``: the 504 comes once the server has answered the first (the one
        sent again then finds the upload gone), not while it is still working on it."""
        self.inner = inner
        self.after_it_ends = after_it_ends
        self.sent: list[str] = []
        self.first: threading.Thread | None = None
        self.first_answer: list[int] = []
        # The first part's first byte changed on the way: the first completion finds the
        # bytes are not what the upload promised, and ends without a file.
        self.corrupt_first_part = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path.rsplit('/', 1)[-1]}")
        if self.corrupt_first_part and request.url.path.endswith("/parts/1"):
            body = bytearray(request.read())
            body[0] ^= 0xFF
            request = httpx.Request(
                request.method, request.url, headers=request.headers, content=bytes(body)
            )
        if request.url.path.endswith("/complete") and self.first is None:
            request.read()
            self.first = threading.Thread(
                target=lambda: self.first_answer.append(
                    self.inner.handle_request(request).status_code
                )
            )
            self.first.start()
            if self.after_it_ends:
                self.first.join(timeout=30)
            else:
                time.sleep(0.3)  # the server has it, and is working on it
            return httpx.Response(504, json={"detail": "the server took too long to answer"})
        return self.inner.handle_request(request)


@contextlib.contextmanager
def _lost_answer_upload(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    server_seconds: float,
    *,
    after_it_ends: bool = False,
) -> Iterator[tuple[mt.Trail, AnswerLost, str, Path, bytes]]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MODELTRAIL_ARTIFACTS_ROOT", str(tmp_path / "server-files"))
    monkeypatch.setattr(transfer, "MULTIPART_FROM", PART)
    server = _slow_server(tmp_path, server_seconds)
    data = os.urandom(2 * PART + 7)
    source = tmp_path / "weights.bin"
    source.write_bytes(data)
    trail = mt.connect(server.url, on_unreachable="raise")
    lost = AnswerLost(trail.conn.http._transport, after_it_ends=after_it_ends)
    trail.conn.http._transport = lost
    try:
        artifact = trail.conn.post(
            "/api/v1/artifacts", {"name": "big", "kind": "model", "attributes": {}}
        )["id"]
        yield trail, lost, artifact, source, data
    finally:
        if lost.first is not None:
            lost.first.join(timeout=30)
        trail.close()
        server.stop()


def test_a_completion_sent_again_after_a_lost_answer_returns_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The completion sent again finds the first under way (409): the SDK waits for the file
    the first records and returns it, and does not try to abandon the upload."""
    with _lost_answer_upload(tmp_path, monkeypatch, 1.5) as (trail, lost, artifact, source, data):
        sent = transfer.upload(trail.conn, artifact, "weights.bin", source)
        assert sent["sha256"] == hashlib.sha256(data).hexdigest()
        assert sent["size"] == len(data)
        assert sent["path"] == "weights.bin"
        assert [s for s in lost.sent if "complete" in s] == ["POST complete"] * 2
        assert not any(s.startswith("DELETE") for s in lost.sent)
        assert lost.first is not None
        lost.first.join(timeout=30)
        assert lost.first_answer == [201]


def test_a_completion_sent_again_after_the_first_ended_returns_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer is lost after the server finished: the completion sent again finds the
    upload gone (404), and the SDK returns the file the first recorded, abandoning nothing."""
    with _lost_answer_upload(tmp_path, monkeypatch, 0.2, after_it_ends=True) as (
        trail,
        lost,
        artifact,
        source,
        data,
    ):
        sent = transfer.upload(trail.conn, artifact, "weights.bin", source)
        assert sent["sha256"] == hashlib.sha256(data).hexdigest()
        assert (sent["path"], sent["size"]) == ("weights.bin", len(data))
        assert lost.first_answer == [201]
        assert [s for s in lost.sent if "complete" in s] == ["POST complete"] * 2
        assert not any(s.startswith("DELETE") for s in lost.sent)


def test_a_completion_sent_again_waits_while_the_upload_is_held_past_the_short_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first completion takes longer than ``COMPLETION_WAIT`` (a large file read back
    from S3 to be hashed): the upload is still there, so the SDK goes on waiting, within the
    bound the file's size gives, and returns the file."""
    monkeypatch.setattr(transfer, "COMPLETION_WAIT", 0.5)
    monkeypatch.setattr(transfer, "COMPLETION_RATE", 1 << 18)  # 2 MiB: 8 s at most
    with _lost_answer_upload(tmp_path, monkeypatch, 3.0) as (trail, lost, artifact, source, data):
        sent = transfer.upload(trail.conn, artifact, "weights.bin", source)
        assert sent["sha256"] == hashlib.sha256(data).hexdigest()
        # It asked after the upload, which was still there, rather than giving up.
        assert any(s.startswith("GET ") and s != "GET files" for s in lost.sent), lost.sent
        assert not any(s.startswith("DELETE") for s in lost.sent)
        assert lost.first is not None
        lost.first.join(timeout=30)
        assert lost.first_answer == [201]


def test_a_completion_sent_again_stops_waiting_when_the_upload_ends_without_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first completion ends without recording the file (its upload gone, no file): the
    SDK says so at once rather than waiting out the bound."""
    monkeypatch.setattr(transfer, "COMPLETION_WAIT", 60.0)
    with _lost_answer_upload(tmp_path, monkeypatch, 1.0) as (trail, lost, artifact, source, data):
        lost.corrupt_first_part = True
        started = time.monotonic()
        with pytest.raises(ModeltrailError, match=r"ended without recording") as info:
            transfer.upload(trail.conn, artifact, "weights.bin", source)
        assert info.value.status == 409
        assert time.monotonic() - started < 30
        assert not any(s.startswith("DELETE") for s in lost.sent)


def test_a_completion_that_another_request_holds_too_long_names_the_upload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the file does not appear within the bound, the error names the upload and its
    path; the upload is left to the request completing it, which records the file."""
    monkeypatch.setattr(transfer, "COMPLETION_WAIT", 0.5)
    with _lost_answer_upload(tmp_path, monkeypatch, 3.0) as (trail, lost, artifact, source, data):
        with pytest.raises(ModeltrailError, match=r"upload '[0-9a-f-]+'.*'weights\.bin'") as info:
            transfer.upload(trail.conn, artifact, "weights.bin", source)
        assert info.value.status == 409
        assert not any(s.startswith("DELETE") for s in lost.sent)
        assert lost.first is not None
        lost.first.join(timeout=30)
        assert lost.first_answer == [201]
        [stored] = trail.conn.get(f"/api/v1/artifacts/{artifact}/files")["items"]
        assert stored["sha256"] == hashlib.sha256(data).hexdigest()
