"""The files of artifacts through the HTTP API, on SQLite and PostgreSQL, with the files in a
local directory and in a real S3-compatible server."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
from starlette.testclient import TestClient

from modeltrail.services.file_collection import collect_garbage
from modeltrail.services.metadata import Metadata
from modeltrail.store.files import catalog as files_catalog

API = "/api/v1"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_artifact(c: TestClient, name: str = "model") -> str:
    body = {"name": name, "version": "1", "kind": "model", "attributes": {}}
    response = c.post(f"{API}/artifacts", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def files_url(artifact: str, path: str = "") -> str:
    return f"{API}/artifacts/{artifact}/files" + (f"/{path}" if path else "")


def leftovers(meta: Metadata) -> list[str]:
    """Staged bytes and uploads the file store still holds."""
    return [handle for handle, _ in meta.files.blobs.uploads()]


def blobs(meta: Metadata) -> list[str]:
    return [b.sha256 for b in meta.files.blobs.blobs()]


def test_a_file_goes_in_and_comes_out_whole(file_client: TestClient) -> None:
    artifact = new_artifact(file_client)
    data = os.urandom(3 * 1024 * 1024 + 17)
    put = file_client.put(files_url(artifact, "weights/model.bin"), content=data)
    assert put.status_code == 201, put.text
    assert put.json()["sha256"] == sha(data)
    assert put.json()["size"] == len(data)
    assert put.headers["etag"] == f'"{sha(data)}"'

    got = file_client.get(files_url(artifact, "weights/model.bin"))
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-length"] == str(len(data))
    assert got.headers["accept-ranges"] == "bytes"
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"] == 'attachment; filename="model.bin"'

    head = file_client.head(files_url(artifact, "weights/model.bin"))
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(data))
    assert head.headers["x-content-sha256"] == sha(data)

    listed = file_client.get(files_url(artifact)).json()
    assert listed == {
        "items": [
            {
                "path": "weights/model.bin",
                "size": len(data),
                "sha256": sha(data),
                "createTime": put.json()["createTime"],
            }
        ],
        "totalSize": len(data),
    }


def test_the_same_content_is_stored_once(file_client: TestClient, file_metadata: Metadata) -> None:
    data = b"the same bytes, logged by many runs" * 1000
    for n in range(3):
        artifact = new_artifact(file_client, f"m{n}")
        assert file_client.put(files_url(artifact, "model.bin"), content=data).status_code == 201
        assert file_client.put(files_url(artifact, "copy.bin"), content=data).status_code == 201
    assert blobs(file_metadata) == [sha(data)]
    assert leftovers(file_metadata) == []


def test_a_file_is_replaced_and_removed(file_client: TestClient) -> None:
    artifact = new_artifact(file_client)
    file_client.put(files_url(artifact, "a.txt"), content=b"first")
    file_client.put(files_url(artifact, "a.txt"), content=b"second")
    assert file_client.get(files_url(artifact, "a.txt")).content == b"second"
    assert file_client.delete(files_url(artifact, "a.txt")).status_code == 204
    assert file_client.get(files_url(artifact, "a.txt")).status_code == 404
    assert file_client.delete(files_url(artifact, "a.txt")).status_code == 404
    assert file_client.get(files_url(artifact)).json() == {"items": [], "totalSize": 0}


def test_an_empty_file_and_a_folder_listing(file_client: TestClient) -> None:
    artifact = new_artifact(file_client)
    for path in ("a/x", "a/y/z", "ab", "b", "a0"):
        assert file_client.put(files_url(artifact, path), content=b"").status_code == 201
    listed = file_client.get(files_url(artifact), params={"prefix": "a"}).json()
    assert [f["path"] for f in listed["items"]] == ["a/x", "a/y/z"]
    assert file_client.get(files_url(artifact, "b")).content == b""


@pytest.mark.parametrize(
    ("header", "start", "end", "size"),
    [
        ("bytes=10-19", 10, 19, 1000),
        ("bytes=990-", 990, 999, 1000),
        ("bytes=-5", 995, 999, 1000),
        ("bytes=0-5000", 0, 999, 1000),
        ("bytes=999-999", 999, 999, 1000),
    ],
)
def test_ranges(file_client: TestClient, header: str, start: int, end: int, size: int) -> None:
    artifact = new_artifact(file_client)
    data = os.urandom(size)
    file_client.put(files_url(artifact, "f"), content=data)
    got = file_client.get(files_url(artifact, "f"), headers={"Range": header})
    assert got.status_code == 206
    assert got.content == data[start : end + 1]
    assert got.headers["content-range"] == f"bytes {start}-{end}/{size}"
    assert got.headers["content-length"] == str(end - start + 1)


def test_ranges_that_cannot_be_served(file_client: TestClient) -> None:
    artifact = new_artifact(file_client)
    data = os.urandom(100)
    file_client.put(files_url(artifact, "f"), content=data)
    past = file_client.get(files_url(artifact, "f"), headers={"Range": "bytes=100-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == "bytes */100"
    assert past.headers["content-type"] == "application/problem+json"
    # What is not one byte range is ignored: the whole file.
    for header in ("bytes=0-1,5-6", "lines=1-2", "bytes=9-3"):
        whole = file_client.get(files_url(artifact, "f"), headers={"Range": header})
        assert (whole.status_code, whole.content) == (200, data)
    # A client whose copy is of other content gets the whole file, not a piece of this one.
    other = file_client.get(
        files_url(artifact, "f"), headers={"Range": "bytes=0-9", "If-Range": '"0000"'}
    )
    assert (other.status_code, other.content) == (200, data)
    same = file_client.get(
        files_url(artifact, "f"), headers={"Range": "bytes=0-9", "If-Range": f'"{sha(data)}"'}
    )
    assert (same.status_code, same.content) == (206, data[:10])


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("%2E%2E/secret", "'..'"),
        ("a/%2E%2E/%2E%2E/b", "'..'"),
        ("a/%2E/b", "'.'"),
        ("a//b", "empty"),
        ("%2Fetc%2Fpasswd", "absolute"),
        ("C:%5Cwindows", "'\\'"),
        ("a%00b", "NUL"),
        ("a%0Ab", "control"),
        ("a%7Fb", "control"),
        ("a%C2%85b", "control"),  # NEL, a C1 control
        # A right-to-left override: "evil\u202egnp.exe" is listed as "evilexe.png".
        ("evil%E2%80%AEgnp.exe", "U+202E"),
        ("a%E2%81%A6b", "U+2066"),  # a left-to-right isolate
        ("a%E2%80%A8b", "U+2028"),  # a line separator
        ("x" * 1025, "1024"),
        # Bytes that are not UTF-8: read as U+FFFD, they would be stored under another name.
        ("model%FF.bin", "%FF"),
        ("a/%ED%A0%80", "%ED"),  # a surrogate, encoded
        ("%C0%AF", "%C0"),  # an overlong '/'
    ],
)
def test_bad_paths_are_refused_and_nothing_is_stored(
    file_client: TestClient, file_metadata: Metadata, path: str, reason: str
) -> None:
    artifact = new_artifact(file_client)
    response = file_client.put(f"{API}/artifacts/{artifact}/files/{path}", content=b"data")
    assert response.status_code == 422, response.text
    problem = response.json()
    assert reason in problem["detail"] or reason in str(problem.get("errors"))
    assert file_client.get(files_url(artifact)).json()["items"] == []
    assert blobs(file_metadata) == []
    assert leftovers(file_metadata) == []


def test_a_path_that_is_not_utf8_is_named_on_every_route(file_client: TestClient) -> None:
    artifact = new_artifact(file_client)
    assert file_client.put(files_url(artifact, "model\ufffd.bin"), content=b"x").status_code == 201
    for method, url in (
        ("PUT", files_url(artifact, "model%FF.bin")),
        ("GET", files_url(artifact, "model%FF.bin")),
        ("DELETE", files_url(artifact, "model%FF.bin")),
        ("GET", f"{API}/artifacts/{artifact}/links/model%FF.bin"),
        ("GET", files_url(artifact) + "?prefix=m%FF"),
    ):
        response = file_client.request(method, url, content=b"x" if method == "PUT" else None)
        assert response.status_code == 422, (method, url, response.text)
        error = response.json()["errors"][0]
        assert error["pointer"] in ("/path", "/prefix"), error
        assert "not UTF-8 (%FF)" in error["detail"], error
    # The file whose name holds U+FFFD itself is not the one refused.
    listed = file_client.get(files_url(artifact)).json()["items"]
    assert [f["path"] for f in listed] == ["model\ufffd.bin"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"path": "a\\ud800b"}', "surrogate"),
        (b'{"path": "a\\u0085b"}', "control"),
        (b'{"path": "a\\\\b"}', "'\\'"),
        (b'{"path": "/etc/passwd"}', "absolute"),
        (b'{"path": "a/../b"}', "'..'"),
    ],
)
def test_bad_paths_of_an_upload_are_refused(
    file_client: TestClient, file_metadata: Metadata, body: bytes, reason: str
) -> None:
    artifact = new_artifact(file_client)
    response = file_client.post(
        f"{API}/artifacts/{artifact}/uploads",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["pointer"] == "/path", problem
    assert reason in problem["detail"] + str(problem["errors"]), problem
    assert leftovers(file_metadata) == []


def test_the_file_service_refuses_a_path_that_is_not_unicode(
    file_client: TestClient, file_metadata: Metadata
) -> None:
    """The embedded store (no HTTP): a name read from a command line that is not UTF-8
    holds lone surrogates (Python's surrogateescape)."""
    from modeltrail.domain.errors import InvalidInput

    artifact = new_artifact(file_client)
    with pytest.raises(InvalidInput, match="surrogate"):
        file_metadata.files.put(file_metadata, uuid.UUID(artifact), "a\udcffb", [b"x"])
    assert blobs(file_metadata) == []


def test_a_path_of_1024_characters_is_accepted(file_client: TestClient) -> None:
    artifact = new_artifact(file_client)
    path = "/".join(["d" * 99] * 10) + "/" + "f" * 24
    assert len(path) == 1024
    assert file_client.put(files_url(artifact, path), content=b"x").status_code == 201
    assert file_client.get(files_url(artifact, path)).content == b"x"


def test_a_hash_that_does_not_match_is_refused_and_nothing_is_stored(
    file_client: TestClient, file_metadata: Metadata
) -> None:
    artifact = new_artifact(file_client)
    data = os.urandom(10 * 1024 * 1024)  # past one S3 part: staged as a multipart upload
    response = file_client.put(
        files_url(artifact, "model.bin"), content=data, params={"sha256": sha(b"other")}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/sha256"
    assert sha(data) in response.json()["errors"][0]["detail"]
    assert file_client.get(files_url(artifact, "model.bin")).status_code == 404
    assert blobs(file_metadata) == []
    assert leftovers(file_metadata) == []
    ok = file_client.put(
        files_url(artifact, "model.bin"), content=data, params={"sha256": sha(data).upper()}
    )
    assert ok.status_code == 201


def test_a_size_that_does_not_match_and_a_malformed_hash(
    file_client: TestClient, file_metadata: Metadata
) -> None:
    artifact = new_artifact(file_client)
    short = file_client.put(files_url(artifact, "f"), content=b"12345", params={"size": 4})
    assert short.status_code == 422
    assert short.json()["errors"][0]["pointer"] == "/size"
    long = file_client.put(files_url(artifact, "f"), content=b"123", params={"size": 4})
    assert long.status_code == 422
    bad = file_client.put(files_url(artifact, "f"), content=b"123", params={"sha256": "abc"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["pointer"] == "/sha256"
    assert blobs(file_metadata) == []
    assert leftovers(file_metadata) == []


def test_a_body_over_the_limit_is_413_and_leaves_nothing(
    file_client: TestClient, file_metadata: Metadata
) -> None:
    file_metadata.files.max_file_bytes = 1000
    artifact = new_artifact(file_client)
    announced = file_client.put(files_url(artifact, "f"), content=b"x" * 1001)
    assert announced.status_code == 413

    def chunks() -> Any:  # no Content-Length: counted as it streams
        for _ in range(20):
            yield b"y" * 100

    streamed = file_client.put(files_url(artifact, "f"), content=chunks())
    assert streamed.status_code == 413
    assert file_client.put(files_url(artifact, "f"), content=b"z" * 1000).status_code == 201
    assert blobs(file_metadata) == [sha(b"z" * 1000)]
    assert leftovers(file_metadata) == []


def test_a_size_declared_over_the_limit_is_named(
    file_client: TestClient, file_metadata: Metadata
) -> None:
    """A 413 for a declared size says where it was declared: the query's or the upload's
    ``size``, or the ``Content-Length`` header; nothing is stored."""
    file_metadata.files.max_file_bytes = 1000
    artifact = new_artifact(file_client)

    def named(response: httpx.Response) -> list[tuple[str, str | None]]:
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/problem+json"
        errors = response.json()["errors"]
        assert all("over 1000" in e["detail"] for e in errors), errors
        return [(e["pointer"], e.get("in")) for e in errors]

    declared = file_client.put(files_url(artifact, "f"), params={"size": 10**30}, content=b"x")
    assert named(declared) == [("/size", "query")]
    announced = file_client.put(files_url(artifact, "f"), content=b"x" * 1001)
    assert named(announced) == [("/Content-Length", "header")]
    upload = file_client.post(
        f"{API}/artifacts/{artifact}/uploads", json={"path": "f", "size": 10**30}
    )
    assert [p for p, _ in named(upload)] == ["/size"]
    started = file_client.post(f"{API}/artifacts/{artifact}/uploads", json={"path": "f"}).json()
    part = file_client.put(
        f"{API}/artifacts/{artifact}/uploads/{started['id']}/parts/1", content=b"x" * 1001
    )
    assert named(part) == [("/Content-Length", "header")]
    assert file_client.get(files_url(artifact)).json()["items"] == []
    assert blobs(file_metadata) == []


def test_a_compressed_file_body_is_refused_not_stored_compressed(
    file_client: TestClient, file_metadata: Metadata
) -> None:
    """A file is stored as the bytes sent: a gzip body would be stored compressed (and its
    declared sha256, of the content, would not match), so it is refused naming the header."""
    import gzip

    artifact = new_artifact(file_client)
    content = b"pixel,label\n0,1\n" * 100
    gzipped = {"Content-Encoding": "gzip"}
    for url in (
        files_url(artifact, "digits.csv"),
        f"{API}/artifacts/{artifact}/uploads/"
        + file_client.post(f"{API}/artifacts/{artifact}/uploads", json={"path": "f"}).json()["id"]
        + "/parts/1",
    ):
        r = file_client.put(url, content=gzip.compress(content), headers=gzipped)
        assert r.status_code == 415, r.text
        assert r.json()["errors"] == [
            {"pointer": "/Content-Encoding", "in": "header", "detail": ANY}
        ]
    assert file_client.get(files_url(artifact)).json()["items"] == []
    assert blobs(file_metadata) == []
    plain = file_client.put(
        files_url(artifact, "digits.csv"), content=content, headers={"Content-Encoding": "identity"}
    )
    assert plain.status_code == 201 and plain.json()["sha256"] == sha(content)


def test_a_file_needs_an_artifact(file_client: TestClient) -> None:
    missing = uuid.uuid4()
    assert file_client.put(files_url(str(missing), "f"), content=b"x").status_code == 404
    assert file_client.get(files_url(str(missing), "f")).status_code == 404
    assert file_client.get(files_url(str(missing))).status_code == 404
    assert file_client.get(f"{API}/artifacts/not-an-id/files").status_code == 422


def test_deleting_an_artifact_forgets_its_files_and_gc_removes_their_content(
    file_client: TestClient, file_metadata: Metadata
) -> None:
    kept_artifact = new_artifact(file_client, "kept")
    gone_artifact = new_artifact(file_client, "gone")
    shared, own = b"shared content", b"only the deleted artifact's"
    for artifact, data in ((kept_artifact, shared), (gone_artifact, shared), (gone_artifact, own)):
        file_client.put(files_url(artifact, sha(data)[:8]), content=data)
    assert file_client.delete(f"{API}/artifacts/{gone_artifact}").status_code == 204

    files = file_metadata.files
    young = collect_garbage(files, file_metadata, dry_run=True)
    assert young.blobs == []  # within the grace period: an upload may be recording it
    dry = collect_garbage(files, file_metadata, dry_run=True, grace=timedelta(0))
    assert dry.blobs == [(sha(own), len(own))]
    assert sorted(blobs(file_metadata)) == sorted([sha(shared), sha(own)])
    done = collect_garbage(files, file_metadata, dry_run=False, grace=timedelta(0))
    assert done.blobs == [(sha(own), len(own))]
    assert blobs(file_metadata) == [sha(shared)]
    assert file_client.get(files_url(kept_artifact, sha(shared)[:8])).content == shared
    assert collect_garbage(files, file_metadata, dry_run=False, grace=timedelta(0)).blobs == []


# ---------------------------------------------------------------- multipart uploads


def test_a_multipart_upload_resumes_and_completes(
    file_client: TestClient, file_metadata: Metadata
) -> None:
    artifact = new_artifact(file_client)
    part = 5 * 1024 * 1024  # the smallest part S3 takes but for the last
    data = os.urandom(2 * part + 1234)
    created = file_client.post(
        f"{API}/artifacts/{artifact}/uploads",
        json={"path": "big.bin", "sha256": sha(data), "size": len(data)},
    )
    assert created.status_code == 201, created.text
    upload = created.json()["id"]
    base = f"{API}/artifacts/{artifact}/uploads/{upload}"
    assert file_client.put(f"{base}/parts/3", content=data[2 * part :]).status_code == 200
    assert file_client.put(f"{base}/parts/1", content=b"garbage" * 1000).status_code == 200
    # Resuming: the client asks what arrived, and sends again what was wrong or missing.
    received = file_client.get(base).json()["parts"]
    assert [p["number"] for p in received] == [1, 3]
    assert file_client.put(f"{base}/parts/1", content=data[:part]).json() == {
        "number": 1,
        "size": part,
    }
    early = file_client.post(f"{base}/complete")
    assert early.status_code == 422  # part 2 is missing... from what the declared size needs
    assert file_client.put(f"{base}/parts/2", content=data[part : 2 * part]).status_code == 200
    done = file_client.post(f"{base}/complete")
    assert done.status_code == 201, done.text
    assert done.json()["sha256"] == sha(data)
    assert file_client.get(files_url(artifact, "big.bin")).content == data
    assert file_client.get(base).status_code == 404
    assert leftovers(file_metadata) == []


def test_a_multipart_upload_with_the_wrong_hash_is_refused_and_removed(
    file_client: TestClient, file_metadata: Metadata
) -> None:
    artifact = new_artifact(file_client)
    created = file_client.post(
        f"{API}/artifacts/{artifact}/uploads", json={"path": "f", "sha256": sha(b"else")}
    ).json()
    base = f"{API}/artifacts/{artifact}/uploads/{created['id']}"
    file_client.put(f"{base}/parts/1", content=b"these bytes")
    refused = file_client.post(f"{base}/complete")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == "/sha256"
    assert file_client.get(files_url(artifact)).json()["items"] == []
    assert file_client.get(base).status_code == 404
    assert blobs(file_metadata) == []
    assert leftovers(file_metadata) == []


def test_an_upload_is_aborted_and_bad_parts_refused(
    file_client: TestClient, file_metadata: Metadata
) -> None:
    artifact = new_artifact(file_client)
    created = file_client.post(f"{API}/artifacts/{artifact}/uploads", json={"path": "f"}).json()
    base = f"{API}/artifacts/{artifact}/uploads/{created['id']}"
    assert file_client.put(f"{base}/parts/0", content=b"x").status_code == 422
    assert file_client.put(f"{base}/parts/10001", content=b"x").status_code == 422
    assert file_client.post(f"{base}/complete").status_code == 422  # nothing received
    file_client.put(f"{base}/parts/1", content=b"x")
    assert file_client.delete(base).status_code == 204
    assert file_client.post(f"{base}/complete").status_code == 404
    other = new_artifact(file_client, "other")
    assert file_client.get(f"{API}/artifacts/{other}/uploads/{created['id']}").status_code == 404
    bad = file_client.post(f"{API}/artifacts/{artifact}/uploads", json={"path": "../f"})
    assert bad.status_code == 422
    assert leftovers(file_metadata) == []


def test_parts_named_twice_or_out_of_order_are_refused(
    file_client: TestClient, file_metadata: Metadata
) -> None:
    """A file is its parts once each, in order: ``[1, 1]`` is no way to make one (S3
    refuses it too), so it is refused on every store and the upload can still complete."""
    artifact = new_artifact(file_client)
    created = file_client.post(f"{API}/artifacts/{artifact}/uploads", json={"path": "f"}).json()
    base = f"{API}/artifacts/{artifact}/uploads/{created['id']}"
    file_client.put(f"{base}/parts/1", content=b"hello")
    file_client.put(f"{base}/parts/2", content=b"world")
    for parts in ([1, 1], [2, 1], [1, 2, 2]):
        refused = file_client.post(f"{base}/complete", json={"parts": parts})
        assert refused.status_code == 422, (parts, refused.text)
        assert refused.json()["errors"][0]["pointer"] == "/parts"
    assert file_client.get(files_url(artifact)).json()["items"] == []
    done = file_client.post(f"{base}/complete", json={"parts": [1]})
    assert done.status_code == 201, done.text
    assert file_client.get(files_url(artifact, "f")).content == b"hello"
    assert leftovers(file_metadata) == []


def test_presigned_urls_on_object_storage(
    file_client: TestClient, file_metadata: Metadata, blob_store: Any
) -> None:
    artifact = new_artifact(file_client)
    data = os.urandom(100_000)
    declared = {"path": "direct.bin", "sha256": sha(data), "size": len(data), "direct": True}
    created = file_client.post(f"{API}/artifacts/{artifact}/uploads", json=declared)
    if blob_store.kind == "local":
        assert created.status_code == 422
        assert "object storage" in created.json()["detail"]
        file_client.put(files_url(artifact, "direct.bin"), content=data)
        link = file_client.get(f"{API}/artifacts/{artifact}/links/direct.bin")
        assert link.status_code == 422
        return
    assert created.status_code == 201, created.text
    url = created.json()["url"]
    # The client sends the bytes to object storage itself: they never pass the server.
    assert httpx.put(url, content=data).status_code == 200
    done = file_client.post(f"{API}/artifacts/{artifact}/uploads/{created.json()['id']}/complete")
    assert done.status_code == 201, done.text
    assert done.json()["sha256"] == sha(data)
    link = file_client.get(f"{API}/artifacts/{artifact}/links/direct.bin").json()
    fetched = httpx.get(link["url"])
    assert fetched.status_code == 200
    assert fetched.content == data
    assert leftovers(file_metadata) == []

    # Bytes other than those declared, sent to the URL: refused when completed.
    lied = file_client.post(f"{API}/artifacts/{artifact}/uploads", json=declared).json()
    assert httpx.put(lied["url"], content=os.urandom(len(data))).status_code == 200
    refused = file_client.post(f"{API}/artifacts/{artifact}/uploads/{lied['id']}/complete")
    assert refused.status_code == 422
    assert leftovers(file_metadata) == []
    # A direct upload needs the declared hash and size.
    vague = file_client.post(
        f"{API}/artifacts/{artifact}/uploads", json={"path": "x", "direct": True}
    )
    assert vague.status_code == 422


def test_a_path_of_any_script_comes_back_with_its_name(file_client: TestClient) -> None:
    artifact = new_artifact(file_client)
    path = 'modèles/"best" 模型 𝔪.bin'
    put = file_client.put(files_url(artifact, path), content=b"x")
    assert put.status_code == 201, put.text
    assert put.json()["path"] == path
    got = file_client.get(files_url(artifact, path))
    assert got.content == b"x"
    assert got.headers["content-disposition"] == (
        "attachment; filename=\"_best_ __ _.bin\"; filename*=UTF-8''"
        "%22best%22%20%E6%A8%A1%E5%9E%8B%20%F0%9D%94%AA.bin"
    )


# ---------------------------------------------------------------- abandoned uploads, gc races


def test_gc_aborts_uploads_that_were_started_and_never_completed(
    file_client: TestClient, file_metadata: Metadata
) -> None:
    artifact = new_artifact(file_client)
    part = 5 * 1024 * 1024
    abandoned = file_client.post(f"{API}/artifacts/{artifact}/uploads", json={"path": "a"})
    base = f"{API}/artifacts/{artifact}/uploads/{abandoned.json()['id']}"
    assert file_client.put(f"{base}/parts/1", content=os.urandom(part)).status_code == 200
    # A file put whole and cut off past its first part (on S3, a multipart upload of the
    # staging object, started and never completed): a leftover, not an upload.
    staged = file_metadata.files.blobs.writer()
    staged.write(os.urandom(9 * 1024 * 1024))
    files = file_metadata.files

    young = collect_garbage(files, file_metadata, dry_run=False)
    assert young.abandoned == [] and young.leftovers == []  # it may still be under way
    assert file_client.get(base).status_code == 200
    dry = collect_garbage(files, file_metadata, dry_run=True, uploads_older_than=timedelta(0))
    assert dry.abandoned == [abandoned.json()["id"]]
    assert file_client.get(base).status_code == 200
    done = collect_garbage(files, file_metadata, dry_run=False, uploads_older_than=timedelta(0))
    assert done.abandoned == [abandoned.json()["id"]] and len(done.leftovers) == 1
    assert file_client.get(base).status_code == 404
    assert leftovers(file_metadata) == []
    assert file_client.put(f"{base}/parts/2", content=b"late").status_code == 404
    assert file_client.get(files_url(artifact)).json()["items"] == []


def test_gc_keeps_content_an_upload_found_in_place_before_recording_it(
    file_client: TestClient, file_metadata: Metadata, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race: gc lists old content that no artifact holds and asks the database; before
    it removes the content, an upload of the same bytes finds it in place (and so writes
    nothing) and records it. gc must look at the content's age again and keep it."""
    files = file_metadata.files
    data = b"the same weights, uploaded again later"
    gone = new_artifact(file_client, "gone")
    file_client.put(files_url(gone, "w"), content=data).raise_for_status()
    file_client.delete(f"{API}/artifacts/{gone}").raise_for_status()
    again = new_artifact(file_client, "again")
    referenced = files_catalog.referenced

    def upload_meanwhile(session: Any, *, sha256s: Any) -> set[str]:
        held = referenced(session, sha256s=sha256s)  # nothing holds it yet
        monkeypatch.setattr(files_catalog, "referenced", referenced)
        put = file_client.put(files_url(again, "w"), content=data)
        assert put.status_code == 201, put.text
        return held

    monkeypatch.setattr(files_catalog, "referenced", upload_meanwhile)
    # Content older than a grace of one second: the upload makes it young again.
    backdate(file_metadata, sha(data))
    found = collect_garbage(files, file_metadata, dry_run=False, grace=timedelta(seconds=1))
    assert found.blobs == []
    assert file_client.get(files_url(again, "w")).content == data


def backdate(meta: Metadata, sha256: str) -> None:
    """Make stored content look an hour old."""
    blobs = meta.files.blobs
    old = time.time() - 3600
    if hasattr(blobs, "path_of"):
        os.utime(blobs.path_of(sha256), (old, old))
    else:  # object storage dates an object by its last write: wait past the grace instead
        time.sleep(1.5)


# ---------------------------------------------------------------- concurrent completions


def test_an_upload_completed_by_several_requests_at_once_is_completed_once(
    file_client: TestClient, file_metadata: Metadata, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests that complete one upload at the same time (a client retrying, two workers):
    one wins and records the file; the others are told, with a 409, that it is being
    completed or no longer exists; nothing is left behind and no request fails with a 500."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    artifact = new_artifact(file_client)
    part = 5 * 1024 * 1024
    data = os.urandom(2 * part + 99)
    created = file_client.post(
        f"{API}/artifacts/{artifact}/uploads",
        json={"path": "big.bin", "sha256": sha(data), "size": len(data)},
    ).json()
    base = f"{API}/artifacts/{artifact}/uploads/{created['id']}"
    for number, start in enumerate(range(0, len(data), part), start=1):
        sent = file_client.put(f"{base}/parts/{number}", content=data[start : start + part])
        assert sent.status_code == 200, sent.text
    at_once = 4
    start_together = Barrier(at_once)
    # The parts are put together slowly enough for every request to arrive meanwhile.
    blobs_store = file_metadata.files.blobs
    put_together = blobs_store.complete_upload

    meanwhile: list[httpx.Response] = []

    def slowly(*args: Any) -> Any:
        meanwhile.append(file_client.delete(base))  # abandoning it now is refused too
        time.sleep(0.5)
        return put_together(*args)

    monkeypatch.setattr(blobs_store, "complete_upload", slowly)

    def complete(_: int) -> httpx.Response:
        start_together.wait()
        return file_client.post(f"{base}/complete")

    with ThreadPoolExecutor(at_once) as pool:
        answers = list(pool.map(complete, range(at_once)))
    codes = sorted(a.status_code for a in answers)
    assert codes[0] == 201 and codes[1:] == [409] * (at_once - 1), [a.text for a in answers]
    for lost in (a for a in answers if a.status_code == 409):
        problem = lost.json()
        assert created["id"] in problem["detail"], problem
        assert problem["errors"][0]["pointer"] == "/uploadId", problem
    assert [m.status_code for m in meanwhile] == [409]
    won = next(a for a in answers if a.status_code == 201).json()
    assert won["sha256"] == sha(data)
    assert file_client.get(files_url(artifact)).json()["items"] == [won]
    assert file_client.get(files_url(artifact, "big.bin")).content == data
    assert file_client.get(base).status_code == 404
    assert blobs(file_metadata) == [sha(data)]
    assert leftovers(file_metadata) == []


def test_an_upload_claimed_by_a_request_that_died_is_completed_later(
    file_client: TestClient, file_metadata: Metadata
) -> None:
    """A server stopped half way through a completion leaves the upload claimed: refused
    while the claim may still be alive, taken over once it is older than the lease."""
    from sqlalchemy import update

    from modeltrail.services.files import CLAIM_LEASE
    from modeltrail.store.tables import FileUploadRow

    artifact = new_artifact(file_client)
    created = file_client.post(f"{API}/artifacts/{artifact}/uploads", json={"path": "f"}).json()
    base = f"{API}/artifacts/{artifact}/uploads/{created['id']}"
    file_client.put(f"{base}/parts/1", content=b"hello")

    def claimed(ago: timedelta) -> None:
        when = datetime.now(UTC) - ago
        with file_metadata.db.engine.begin() as conn:
            conn.execute(update(FileUploadRow).values(claim_time=when))

    claimed(timedelta(minutes=1))
    assert file_client.post(f"{base}/complete").status_code == 409
    claimed(CLAIM_LEASE + timedelta(minutes=1))
    done = file_client.post(f"{base}/complete")
    assert done.status_code == 201, done.text
    assert file_client.get(files_url(artifact, "f")).content == b"hello"
