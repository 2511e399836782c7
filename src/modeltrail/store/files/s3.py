"""Blobs in an S3 bucket (AWS, or an S3-compatible store: MinIO, Ceph, R2, GCS's XML API),
through boto3: ``PREFIX/blobs/<sha256>``, staged under ``PREFIX/tmp/``, uploads under
``PREFIX/uploads/``.

boto3 is AWS's own maintained client: request signing, retries, presigned URLs and the managed
copy of objects past 5 GiB are its work, and it reads the usual configuration (the
``AWS_*`` variables, ``~/.aws``; ``AWS_ENDPOINT_URL_S3`` for an S3-compatible store).

S3 has no rename: a blob is staged as an object of its own (a multipart upload once it passes
one part) and copied to its sha256's key once whole, so that no key under ``blobs/`` ever
holds less than its whole content. A blob that fits in one part is kept in memory and put
under its final key in one request.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from modeltrail.domain.errors import InvalidInput, NotFound, Unavailable
from modeltrail.store.files.blobs import CHUNK, BlobInfo, Hasher, slices

PART = 8 << 20
# Parts of a part sent through the server are spooled to a local file beyond this.
SPOOL_IN_MEMORY = 8 << 20


def _client(endpoint_url: str | None = None) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise InvalidInput(
            "files in object storage need boto3: pip install 'modeltrail[s3]'"
        ) from None

    config = Config(signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"})
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)


class S3Staged:
    """A blob being written: in memory up to one part, then a multipart upload of a staging
    object, copied under its sha256 at commit."""

    def __init__(self, store: S3BlobStore, *, key: str | None = None) -> None:
        self._store = store
        self._hasher = Hasher()
        self._buffer = bytearray()
        self._key = key or store.key("tmp", _dated_name())
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._whole = key is not None  # an object already staged (a direct upload)

    @property
    def sha256(self) -> str:
        return self._hasher.sha256

    @property
    def size(self) -> int:
        return self._hasher.size

    def write(self, data: bytes) -> None:
        for piece in slices(data):
            self._hasher.update(piece)
            self._buffer += piece
        while len(self._buffer) >= PART:
            self._flush(bytes(self._buffer[:PART]))
            del self._buffer[:PART]

    def _flush(self, part: bytes) -> None:
        s3, bucket = self._store.s3, self._store.bucket
        if self._upload_id is None:
            started = s3.create_multipart_upload(Bucket=bucket, Key=self._key)
            self._upload_id = started["UploadId"]
        number = len(self._parts) + 1
        answer = s3.upload_part(
            Bucket=bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=part
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def commit(self) -> None:
        s3, bucket = self._store.s3, self._store.bucket
        target = self._store.key("blobs", self.sha256)
        if self._upload_id is None and not self._whole:
            if not self._store.found_again(self.sha256):
                s3.put_object(Bucket=bucket, Key=target, Body=bytes(self._buffer))
            self._buffer.clear()
            return
        if self._upload_id is not None:
            if self._buffer:
                self._flush(bytes(self._buffer))
                self._buffer.clear()
            s3.complete_multipart_upload(
                Bucket=bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
            self._upload_id = None
        try:
            if not self._store.found_again(self.sha256):
                # The managed copy: one request, or a multipart copy past 5 GiB.
                s3.copy({"Bucket": bucket, "Key": self._key}, bucket, target)
        finally:
            s3.delete_object(Bucket=bucket, Key=self._key)

    def abort(self) -> None:
        s3, bucket = self._store.s3, self._store.bucket
        self._buffer.clear()
        if self._upload_id is not None:
            with contextlib.suppress(Exception):
                s3.abort_multipart_upload(Bucket=bucket, Key=self._key, UploadId=self._upload_id)
        if self._whole:
            with contextlib.suppress(Exception):
                s3.delete_object(Bucket=bucket, Key=self._key)


class S3Part:
    """One part sent through the server: spooled (S3 needs a part's length before it is
    sent; memory stays bounded), then uploaded at commit."""

    def __init__(self, store: S3BlobStore, key: str, upload_id: str, number: int) -> None:
        self._store, self._key, self._upload_id, self._number = store, key, upload_id, number
        self._spool: Any = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        self.size = 0

    def write(self, data: bytes) -> None:
        self._spool.write(data)
        self.size += len(data)

    def commit(self) -> None:
        s3 = self._store.s3
        self._spool.seek(0)
        try:
            s3.upload_part(
                Bucket=self._store.bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=self._number,
                Body=self._spool,
                ContentLength=self.size,
            )
        except s3.exceptions.NoSuchUpload:
            raise NotFound("this upload is no longer in the file store") from None
        finally:
            self._spool.close()

    def abort(self) -> None:
        self._spool.close()


class S3BlobStore:
    kind = "s3"
    presigns = True
    part_size = 64 << 20

    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.s3 = client or _client()
        try:
            self.s3.head_bucket(Bucket=bucket)
        except Exception as exc:
            raise Unavailable(f"the bucket s3://{bucket} cannot be reached: {exc}") from None

    @classmethod
    def from_url(cls, url: str) -> S3BlobStore:
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise InvalidInput("an S3 file store is s3://BUCKET or s3://BUCKET/PREFIX")
        return cls(bucket, prefix)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def writer(self) -> S3Staged:
        return S3Staged(self)

    def exists(self, sha256: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=self.key("blobs", sha256))
        except self.s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def read(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        extra = {"Range": f"bytes={start}-{'' if end is None else end}"} if start or end else {}
        try:
            answer = self.s3.get_object(Bucket=self.bucket, Key=self.key("blobs", sha256), **extra)
        except self.s3.exceptions.NoSuchKey:
            raise NotFound(f"the content {sha256} is missing from the file store") from None
        return _stream(answer["Body"])

    def delete(self, sha256: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=self.key("blobs", sha256))
        self.s3.delete_object(Bucket=self.bucket, Key=self.key("found", sha256))

    # S3 cannot make an object younger without writing it again whole: an upload that finds
    # its content stored already says so with an empty object under ``found/``, and a blob's
    # age for ``gc`` is that of the younger of the two.

    def found_again(self, sha256: str) -> bool:
        """Whether the blob is stored; if it is, marked as just found (see ``modified``)."""
        if not self.exists(sha256):
            return False
        self.s3.put_object(Bucket=self.bucket, Key=self.key("found", sha256), Body=b"")
        return self.exists(sha256)

    def _last_modified(self, key: str) -> datetime | None:
        try:
            answer = self.s3.head_object(Bucket=self.bucket, Key=key)
        except self.s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return answer["LastModified"]  # type: ignore[no-any-return]

    def modified(self, sha256: str) -> datetime | None:
        stored = self._last_modified(self.key("blobs", sha256))
        if stored is None:
            return None
        found = self._last_modified(self.key("found", sha256))
        return stored if found is None else max(stored, found)

    def _objects(self, folder: str) -> Iterator[dict[str, Any]]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.key(folder) + "/"
        )
        for page in pages:
            yield from page.get("Contents", [])

    def blobs(self) -> Iterator[BlobInfo]:
        for item in self._objects("blobs"):
            yield BlobInfo(item["Key"].rsplit("/", 1)[-1], item["Size"], item["LastModified"])

    def presign_get(self, sha256: str, *, expires_in: int, filename: str) -> str:
        safe = filename.replace('"', "")
        return str(
            self.s3.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self.key("blobs", sha256),
                    "ResponseContentDisposition": f'attachment; filename="{safe}"',
                },
                ExpiresIn=expires_in,
            )
        )

    # ---------------------------------------------------------------- multipart uploads
    # A handle is "m-<name>-<S3 upload id>" for parts sent through the server, "d-<name>"
    # for a direct upload of the whole file to a presigned URL.

    def _split(self, handle: str) -> tuple[str, str, str | None]:
        mode, _, rest = handle.partition("-")
        name, _, upload_id = rest.partition("-")
        if mode not in ("m", "d") or not name.isalnum():
            raise NotFound(f"there is no upload {handle!r} in the file store")
        return mode, self.key("uploads", name), upload_id or None

    def start_upload(self) -> str:
        name = _dated_name()
        started = self.s3.create_multipart_upload(Bucket=self.bucket, Key=self.key("uploads", name))
        return f"m-{name}-{started['UploadId']}"

    def start_direct_upload(self) -> str:
        return f"d-{_dated_name()}"

    def part_writer(self, handle: str, number: int) -> S3Part:
        mode, key, upload_id = self._split(handle)
        if mode != "m" or upload_id is None:
            raise InvalidInput("a direct upload is sent to its presigned URL, not in parts")
        return S3Part(self, key, upload_id, number)

    def _listed_parts(self, handle: str) -> list[dict[str, Any]]:
        mode, key, upload_id = self._split(handle)
        if mode == "d":
            return []
        parts: list[dict[str, Any]] = []
        try:
            for page in self.s3.get_paginator("list_parts").paginate(
                Bucket=self.bucket, Key=key, UploadId=upload_id
            ):
                parts += page.get("Parts", [])
        except self.s3.exceptions.NoSuchUpload:
            raise NotFound(f"there is no upload {handle!r} in the file store") from None
        return parts

    def parts(self, handle: str) -> dict[int, int]:
        return {p["PartNumber"]: p["Size"] for p in self._listed_parts(handle)}

    def complete_upload(self, handle: str, numbers: list[int]) -> S3Staged:
        mode, key, upload_id = self._split(handle)
        if mode == "m":
            etags = {p["PartNumber"]: p["ETag"] for p in self._listed_parts(handle)}
            try:
                self.s3.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={
                        "Parts": [{"PartNumber": n, "ETag": etags[n]} for n in numbers]
                    },
                )
            except self.s3.exceptions.ClientError as exc:
                error = exc.response.get("Error", {})
                raise InvalidInput(
                    f"the parts cannot be put together: {error.get('Message', exc)} (every "
                    f"part but the last must be at least 5 MiB)",
                    errors=[{"pointer": "/parts", "detail": str(error.get("Code", "refused"))}],
                ) from None
        staged = S3Staged(self, key=key)
        # S3 cannot say an object's sha256: it is read back and hashed here.
        try:
            for chunk in self._read_key(key):
                staged._hasher.update(chunk)
        except NotFound:
            raise InvalidInput(
                "nothing was uploaded to this upload's URL yet",
                errors=[{"pointer": "/", "detail": "no content uploaded"}],
            ) from None
        return staged

    def _read_key(self, key: str) -> Iterator[bytes]:
        try:
            answer = self.s3.get_object(Bucket=self.bucket, Key=key)
        except self.s3.exceptions.NoSuchKey:
            raise NotFound(f"there is no object {key}") from None
        return _stream(answer["Body"])

    def abort_upload(self, handle: str) -> None:
        mode, key, upload_id = self._split(handle)
        with contextlib.suppress(Exception):
            if mode == "m":
                self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        with contextlib.suppress(Exception):
            self.s3.delete_object(Bucket=self.bucket, Key=key)

    def presign_put(self, handle: str, *, expires_in: int, sha256: str, size: int) -> str:
        mode, key, _ = self._split(handle)
        if mode != "d":
            raise InvalidInput("only a direct upload has a presigned URL")
        return str(
            self.s3.generate_presigned_url(
                "put_object",
                Params={"Bucket": self.bucket, "Key": key, "ContentLength": size},
                ExpiresIn=expires_in,
            )
        )

    def uploads(self) -> Iterator[tuple[str, datetime]]:
        """Uploads and staged objects, each with when it started: read from its name, which
        carries the time it was made (the ``Initiated`` of a multipart upload is not what
        every S3-compatible store says it is, and an object made by one is dated by when
        the upload started, not when it ended)."""
        pages = self.s3.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self.key() + "/" if self.prefix else ""
        )
        for page in pages:
            for up in page.get("Uploads", []):
                folder, _, name = up["Key"].rpartition("/")
                started = _started(name, up["Initiated"])
                if folder.endswith("uploads"):
                    yield f"m-{name}-{up['UploadId']}", started
                else:
                    yield f"t|{up['Key']}|{up['UploadId']}", started
        for item in self._objects("uploads"):
            name = item["Key"].rsplit("/", 1)[-1]
            yield f"d-{name}", _started(name, item["LastModified"])
        for item in self._objects("tmp"):
            yield f"o|{item['Key']}", _started(item["Key"].rsplit("/", 1)[-1], item["LastModified"])

    def remove_leftover(self, handle: str) -> None:
        if handle.startswith("t|"):
            _, key, upload_id = handle.split("|", 2)
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        elif handle.startswith("o|"):
            self.s3.delete_object(Bucket=self.bucket, Key=handle[2:])
        else:
            self.abort_upload(handle)


def _dated_name() -> str:
    """A new staging or upload object's name: the time it is made (seconds since the epoch,
    8 hex digits) and a random part."""
    return f"{int(time.time()):08x}{uuid.uuid4().hex}"


def _started(name: str, listed: datetime) -> datetime:
    """When the object or upload named ``name`` was started: from its name when it carries
    the time, else what the store listed."""
    if len(name) == 40:
        with contextlib.suppress(ValueError):
            return datetime.fromtimestamp(int(name[:8], 16), UTC)
    return listed


def _stream(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()
