"""Moving artifacts' files: serialising a model, uploading files, downloading, loading.

Uploads stream from disk and downloads stream to disk: no file is ever held whole in memory.
A file is sent with its sha256 (computed while it was described, and cached), so that the
server refuses bytes damaged on the way; a download is checked against the sha256 the server
lists and lands under its name only when whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from modeltrail.errors import Conflict, InvalidInput, ModeltrailError, NotFound, ServerUnreachable
from modeltrail.sdk.collect import files as hashing
from modeltrail.sdk.connection import Connection, parsed
from modeltrail.sdk.progress import Advance

API = "/api/v1"
# Told the number of bytes each time some have been sent or received (a progress bar).
Progress = Advance
CHUNK = 1 << 20
# Files larger than this go in parts of a multipart upload: a part that fails is sent again,
# not the whole file.
MULTIPART_FROM = 256 << 20
# Parts in flight at once: one part's transfer overlaps another's write and flush on the
# server, and each sender reads only its own slice from disk, a chunk at a time, so the memory
# held stays a few chunks whatever the file's size. More senders than this share the same
# disk and link and gain little.
PARTS_AT_ONCE = 4
RETRIES = 3
# A completion answered 409 was sent again (after an answer lost on the way) while the first
# is still putting the parts together: its file is looked for every ``COMPLETION_POLL``
# seconds (growing to ``COMPLETION_POLL_MAX``) for as long as the upload is still there, held
# by that completion; the server reads the whole file back to hash it (from the bucket, on
# S3), so the wait is bounded by the file's size read at ``COMPLETION_RATE`` bytes a second,
# and at least ``COMPLETION_WAIT`` seconds. Once the upload is gone the first completion has
# ended: its file is there, or it never will be.
COMPLETION_WAIT = 10.0
COMPLETION_RATE = 10 << 20
COMPLETION_POLL = 0.5
COMPLETION_POLL_MAX = 5.0


def serialise(obj: Any, folder: Path) -> tuple[str, Path]:
    """Save a model into ``folder``: ``(format, file)``. scikit-learn (and anything else
    joblib pickles) with joblib, a PyTorch module with ``torch.save``."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.nn.Module):
        target = folder / "model.pt"
        torch.save(obj, target)
        return "torch", target
    import joblib

    target = folder / "model.joblib"
    joblib.dump(obj, target)
    return "joblib", target


def files_of(source: str | os.PathLike[str]) -> dict[str, Path]:
    """The files to upload for a path: ``{name: file}`` for a file, ``{relative path: file}``
    for each file of a directory."""
    path = Path(source)
    if path.is_file():
        return {path.name: path}
    if path.is_dir():
        return {f.relative_to(path).as_posix(): f for f in sorted(path.rglob("*")) if f.is_file()}
    raise FileNotFoundError(f"{path.resolve()}: no such file or directory to upload")


def _url(artifact_id: str, path: str = "") -> str:
    return f"{API}/artifacts/{artifact_id}/files" + (f"/{quote(path)}" if path else "")


def _raise_for(response: Any) -> None:
    if response.status_code >= 400:
        from modeltrail.errors import from_problem

        response.read()
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text}
        raise from_problem(response.status_code, body)


def _read(
    file: Path, start: int = 0, length: int | None = None, progress: Progress | None = None
) -> Iterator[bytes]:
    with open(file, "rb") as f:
        f.seek(start)
        left = length
        while left is None or left > 0:
            chunk = f.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk
            if progress is not None:
                progress(len(chunk))


def upload(
    conn: Connection, artifact_id: str, path: str, file: Path, *, progress: Progress | None = None
) -> dict[str, Any]:
    """Upload ``file`` as the artifact's ``path``; the server's record of it. ``progress`` is
    told of the bytes as they go (again for a part sent again)."""
    size = file.stat().st_size
    digest = hashing.hash_file(file)
    if conn.embedded:
        meta = conn._metadata
        assert meta is not None
        stored = meta.files.put(
            meta,
            uuid.UUID(artifact_id),
            path,
            _read(file, progress=progress),
            sha256=digest,
            size=size,
        )
        answer: dict[str, Any] = stored.model_dump(mode="json", by_alias=True)
        return answer
    if size > MULTIPART_FROM:
        return _upload_in_parts(conn, artifact_id, path, file, size, digest, progress)
    params: dict[str, str | int] = {"sha256": digest, "size": size}
    sent: dict[str, Any] = _retried(
        lambda: conn.http.put(
            _url(artifact_id, path),
            content=_read(file, progress=progress),
            params=params,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            timeout=None,
        )
    )
    return sent


def _retried(send: Any) -> Any:
    """Send, again after a transport error or a 502/503/504; the server's answer."""
    import httpx

    for attempt in range(RETRIES + 1):
        try:
            response = send()
        except httpx.TransportError as exc:
            if attempt == RETRIES:
                raise ServerUnreachable(f"the upload did not reach the server: {exc}") from exc
            continue
        if response.status_code in (502, 503, 504) and attempt < RETRIES:
            continue
        _raise_for(response)
        return parsed(response)
    raise AssertionError("unreachable")


def _upload_in_parts(
    conn: Connection,
    artifact_id: str,
    path: str,
    file: Path,
    size: int,
    digest: str,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Send the file in the parts the server asks for, ``PARTS_AT_ONCE`` at a time (a part
    that fails is sent again), then complete it naming every part in order. An error stops the
    parts not yet sent, waits for those on the way and abandons the upload (any error: a
    ``KeyboardInterrupt`` leaves it to ``modeltrail gc``, which aborts uploads left unfinished),
    unless another request is completing it: then its file is waited for, a while."""
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    base = f"{API}/artifacts/{artifact_id}/uploads"
    upload = conn.post(base, {"path": path, "sha256": digest, "size": size})
    part_size = int(upload["partSize"])
    where = f"{base}/{upload['id']}"
    parts = list(enumerate(range(0, size, part_size), start=1))

    def send(number: int, start: int) -> None:
        length = min(part_size, size - start)
        _retried(
            lambda: conn.http.put(
                f"{where}/parts/{number}",
                content=_read(file, start, length, progress),
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(length),
                },
                timeout=None,
            )
        )

    pool = ThreadPoolExecutor(max_workers=PARTS_AT_ONCE, thread_name_prefix="modeltrail-part")
    completing_elsewhere = False
    try:
        sending = [pool.submit(send, number, start) for number, start in parts]
        wait(sending, return_when=FIRST_EXCEPTION)
        # Nothing more is sent after a failure; the parts on the way end before the upload
        # is abandoned, so that none lands in it afterwards.
        for future in sending:
            future.cancel()
        pool.shutdown(wait=True)
        failed = [f for f in sending if not f.cancelled() and f.exception() is not None]
        if failed:
            raise failed[0].exception()  # type: ignore[misc]
        # The server hashes the whole file again (on S3, read back from the bucket) before it
        # answers: no timeout, as for the parts. One sent again (after a proxy's 504 or a
        # dropped connection) finds the first under way: 409.
        try:
            done = conn.request(
                "POST",
                f"{where}/complete",
                json={"parts": [number for number, _ in parts]},
                timeout=None,
            )
        except Conflict as exc:
            # Another request holds the completion: this one sent again after its first
            # answer was lost (a proxy's 504, a dropped connection). That request's outcome
            # is the upload's; the upload is never abandoned under it.
            completing_elsewhere = True
            return _completed_elsewhere(
                conn, artifact_id, upload["id"], path, digest, size=size, refused=exc
            )
        except NotFound:
            # Sent again after the first completion had finished: the upload is gone and its
            # file is in place. Without that file the upload really is missing.
            completing_elsewhere = True
            if (stored := _file_at(conn, artifact_id, path, digest)) is not None:
                return stored
            raise
        return parsed(done)  # type: ignore[no-any-return]
    except Exception:
        # Whatever stopped it, the server's refusal or the client's own error (a file that
        # could not be read), the upload is abandoned rather than left holding its parts. A
        # completion that found the bytes wrong has removed it already; an abandon that fails
        # leaves the error that stopped the upload to be raised.
        if not completing_elsewhere:
            with contextlib.suppress(ModeltrailError):
                conn.request("DELETE", where, retry=False)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _completed_elsewhere(
    conn: Connection,
    artifact_id: str,
    upload_id: str,
    path: str,
    digest: str,
    *,
    size: int,
    refused: Conflict,
) -> dict[str, Any]:
    """The file another request completing the upload records at ``path`` with ``digest``,
    waited for while the upload is still there (that request holds it), for at most
    ``size / COMPLETION_RATE`` seconds (``COMPLETION_WAIT`` at least). A ``Conflict`` naming
    the upload if the bound passes first, or if the upload is gone without its file (that
    request ended without recording it)."""
    bound = max(COMPLETION_WAIT, size / COMPLETION_RATE)
    deadline = time.monotonic() + bound
    pause = COMPLETION_POLL
    while True:
        if (stored := _file_at(conn, artifact_id, path, digest)) is not None:
            return stored
        if not _upload_exists(conn, artifact_id, upload_id):
            # Ended between the two looks, with the file, or without it for good.
            if (stored := _file_at(conn, artifact_id, path, digest)) is not None:
                return stored
            raise Conflict(
                f"upload {upload_id!r} was being completed by another request (this one was "
                f"sent again after an answer was lost), which ended without recording its "
                f"file {path!r} with sha256 {digest}: send the file again"
            ) from refused
        if time.monotonic() >= deadline:
            raise Conflict(
                f"upload {upload_id!r} is being completed by another request (this one was "
                f"sent again after an answer was lost) and its file {path!r} with sha256 "
                f"{digest} did not appear within {bound:g} s; the upload was left to that "
                f"request: look for the file later (GET files/{path})"
            ) from refused
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, COMPLETION_POLL_MAX)


def _upload_exists(conn: Connection, artifact_id: str, upload_id: str) -> bool:
    """Whether the upload is still there (being completed: its parts not yet a file). An
    answer that does not tell (the server busy or unreachable a moment) counts as there: the
    wait's bound still holds."""
    try:
        conn.request("GET", f"{API}/artifacts/{artifact_id}/uploads/{upload_id}")
    except NotFound:
        return False
    except ModeltrailError:
        return True
    return True


def _file_at(conn: Connection, artifact_id: str, path: str, digest: str) -> dict[str, Any] | None:
    """The artifact's file at ``path`` if it holds the content ``digest``, else None."""
    folder = path.rpartition("/")[0] or None
    listed: list[dict[str, Any]] = list_files(conn, artifact_id, prefix=folder)["items"]
    for item in listed:
        if item["path"] == path and item["sha256"] == digest:
            return item
    return None


def list_files(
    conn: Connection, artifact_id: str, *, prefix: str | None = None, verify: bool = False
) -> dict[str, Any]:
    """The artifact's files (those in the folder ``prefix``, all of them for None) as the
    server lists them: ``items``, ``totalSize`` and, with ``verify``, the paths whose content
    is ``missing`` from the file store."""
    params = {"prefix": prefix, "verify": "true" if verify else None}
    return conn.get(_url(artifact_id), **params)  # type: ignore[no-any-return]


def download(
    conn: Connection,
    artifact_id: str,
    dest: str | os.PathLike[str],
    *,
    path: str | None = None,
    progress: Progress | None = None,
) -> Path:
    """Download the artifact's files (or the one at ``path``) into the directory ``dest``,
    keeping their relative paths; the directory, or the one file downloaded. ``progress`` is
    told of the bytes as they arrive (all of a file's at once when it is here already)."""
    listed = list_files(conn, artifact_id)["items"]
    if path is not None:
        listed = [f for f in listed if f["path"] == path]
        if not listed:
            raise NotFound(f"artifact {artifact_id} has no file {path!r}")
    if not listed:
        raise NotFound(f"artifact {artifact_id} has no files")
    root = Path(dest)
    last = root
    for item in listed:
        last = _download_one(conn, artifact_id, item, root, progress)
    return last if path is not None else root


def _download_one(
    conn: Connection,
    artifact_id: str,
    item: dict[str, Any],
    root: Path,
    progress: Progress | None = None,
) -> Path:
    target: Path = root / str(item["path"])
    # The server refuses such paths; a path it listed is checked again before it is written.
    if Path(item["path"]).is_absolute() or ".." in Path(item["path"]).parts:
        raise InvalidInput(f"the server listed a file path outside the artifact: {item['path']!r}")
    if (
        target.is_file()
        and target.stat().st_size == item["size"]
        and hashing.hash_file(target) == item["sha256"]
    ):
        if progress is not None:
            progress(int(item["size"]))
        return target  # already here
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    digest = hashlib.sha256()
    try:
        with open(partial, "wb") as out:
            if conn.embedded:
                meta = conn._metadata
                assert meta is not None
                opened = meta.files.open(meta, uuid.UUID(artifact_id), item["path"])
                try:
                    for chunk in opened.chunks:
                        digest.update(chunk)
                        out.write(chunk)
                        if progress is not None:
                            progress(len(chunk))
                finally:
                    opened.close()
            else:
                with conn.http.stream("GET", _url(artifact_id, item["path"]), timeout=None) as r:
                    _raise_for(r)
                    # As the bytes arrive: gathering them into chunks of a set size first
                    # costs the client more CPU than the download itself.
                    for chunk in r.iter_bytes():
                        digest.update(chunk)
                        out.write(chunk)
                        if progress is not None:
                            progress(len(chunk))
        if digest.hexdigest() != item["sha256"]:
            raise InvalidInput(
                f"{item['path']} arrived with sha256 {digest.hexdigest()}, not the "
                f"{item['sha256']} the server lists"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def cache_root() -> Path:
    return Path(
        os.environ.get("MODELTRAIL_CACHE") or Path.home() / ".cache" / "modeltrail" / "artifacts"
    )


def load(folder: Path, attributes: dict[str, Any]) -> Any:
    """The model saved in ``folder``: by its recorded ``format`` (joblib, torch), else the
    folder itself (or its one file) for the caller to open. Loading unpickles: load models
    from a store you trust."""
    form = attributes.get("format")
    if form == "joblib" and (folder / "model.joblib").is_file():
        import joblib

        return joblib.load(folder / "model.joblib")
    if form == "torch" and (folder / "model.pt").is_file():
        import torch

        return torch.load(folder / "model.pt", weights_only=False)
    files = [f for f in folder.rglob("*") if f.is_file() and not f.name.endswith(".part")]
    return files[0] if len(files) == 1 else folder


def temporary_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="modeltrail-"))


def remove_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
