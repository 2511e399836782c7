"""Answers are gzip-compressed when the client accepts it; files, ranges and ETags are not
changed by it; the UI's bundle is served from its precompressed copies."""

from __future__ import annotations

import gzip
import hashlib
import json
import re

from starlette.testclient import TestClient

from modeltrail.server import transport, ui

API = "/api/v1"
GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


def raw(c: TestClient, path: str, headers: dict[str, str], method: str = "GET") -> bytes:
    """The bytes as sent, not decoded by the client."""
    with c.stream(method, path, headers=headers) as response:
        return b"".join(response.iter_raw())


def test_a_large_answer_is_gzip_when_asked_and_plain_otherwise(client: TestClient) -> None:
    notes = {f"note-{i}": "a long annotation " * 8 for i in range(40)}
    for n in range(5):
        body = {"name": f"e{n}", "annotations": notes}
        assert client.post(f"{API}/experiments", json=body).status_code == 201
    zipped = client.get(f"{API}/experiments", headers=GZIP)
    assert zipped.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in zipped.headers["vary"].lower()
    sent = raw(client, f"{API}/experiments", GZIP)
    assert int(zipped.headers["content-length"]) == len(sent) < len(zipped.content) / 4
    assert json.loads(gzip.decompress(sent)) == zipped.json()

    plain = client.get(f"{API}/experiments", headers=IDENTITY)
    assert "content-encoding" not in plain.headers
    assert plain.json() == zipped.json()
    refused = client.get(f"{API}/experiments", headers={"Accept-Encoding": "gzip;q=0, br"})
    assert "content-encoding" not in refused.headers

    small = client.get(f"{API}/kinds/dataset", headers=GZIP)
    assert small.status_code == 200 and len(small.content) < transport.COMPRESS_MIN_BYTES
    assert "content-encoding" not in small.headers


def test_etags_and_if_match_work_on_compressed_answers(client: TestClient) -> None:
    notes = {f"k{i}": "x" * 100 for i in range(30)}
    created = client.post(f"{API}/experiments", json={"name": "tagged", "annotations": notes})
    url = f"{API}/experiments/{created.json()['id']}"
    zipped = client.get(url, headers=GZIP)
    plain = client.get(url, headers=IDENTITY)
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["etag"] == plain.headers["etag"] == created.headers["etag"]
    head = client.head(url, headers=GZIP)
    assert head.headers["content-encoding"] == "gzip"
    assert head.headers["content-length"] == zipped.headers["content-length"]
    patched = client.patch(
        url, json={"annotations": {"a": "1"}}, headers={**GZIP, "If-Match": zipped.headers["etag"]}
    )
    assert patched.status_code == 200, patched.text
    stale = client.patch(
        url, json={"annotations": {"a": "2"}}, headers={**GZIP, "If-Match": zipped.headers["etag"]}
    )
    assert stale.status_code == 412


def test_a_gzip_request_gets_a_gzip_answer(client: TestClient) -> None:
    operations = [
        {"op": "create", "entity": "experiment", "body": {"name": f"zipped-{n}"}} for n in range(60)
    ]
    body = gzip.compress(json.dumps({"operations": operations}).encode())
    headers = {**GZIP, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    answer = client.post(f"{API}/batch", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-encoding"] == "gzip"
    assert len(answer.json()["results"]) == 60


def test_files_and_their_ranges_go_as_stored(file_client: TestClient) -> None:
    created = file_client.post(
        f"{API}/artifacts", json={"name": "m", "version": "1", "kind": "model", "attributes": {}}
    )
    url = f"{API}/artifacts/{created.json()['id']}/files/notes.txt"
    data = b"highly compressible text\n" * 20_000
    assert file_client.put(url, content=data).status_code == 201
    whole = file_client.get(url, headers=GZIP)
    assert "content-encoding" not in whole.headers
    assert whole.headers["content-length"] == str(len(data))
    assert whole.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert raw(file_client, url, GZIP) == data
    part = file_client.get(url, headers={**GZIP, "Range": "bytes=100-199"})
    assert part.status_code == 206 and "content-encoding" not in part.headers
    assert part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"


def test_the_bundle_is_served_from_its_gzip_copies(client: TestClient) -> None:
    index = client.get("/", headers=GZIP).text
    assert re.search(r'"\./assets/[^"]+\.js"', index), "index.html names its bundle"
    # Every chunk, those of the views that are fetched when first shown too.
    copies = sorted((ui.UI_DIR / "assets").glob("*.js.gz"))
    assert len(copies) > 3, "the bundle is split by view"
    for copy in copies:
        path = "/assets/" + copy.name.removesuffix(".gz")
        plain = client.get(path, headers=IDENTITY)
        assert plain.status_code == 200 and "content-encoding" not in plain.headers
        assert plain.headers["vary"].lower() == "accept-encoding"
        packed = raw(client, path, GZIP)
        assert len(packed) < len(plain.content)
        assert gzip.decompress(packed) == plain.content
        # The copy the build made, not one compressed on the way out.
        assert packed == copy.read_bytes()
        zipped = client.get(path, headers=GZIP)
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.headers["content-type"].startswith("text/javascript")
        assert zipped.headers["vary"] == "Accept-Encoding"
        assert "immutable" in zipped.headers["cache-control"]
        refused = client.get(path, headers={"Accept-Encoding": "gzip;q=0, identity"})
        assert "content-encoding" not in refused.headers
        assert refused.content == plain.content


def test_accept_encoding_is_read_with_its_weights() -> None:
    assert transport.accepts_gzip("gzip, deflate, br")
    assert transport.accepts_gzip("br;q=1.0, gzip;q=0.8")
    assert transport.accepts_gzip("*")
    assert not transport.accepts_gzip("gzip;q=0")
    assert not transport.accepts_gzip("identity")
    assert not transport.accepts_gzip("")
    assert not transport.accepts_gzip("gzip;q=nonsense")
