"""Downloading an artifact's files from a server that asks for a token, in a real headless
Chromium: a link cannot carry the token, so the page fetches the file itself; a large file
goes to object storage by a presigned link instead of through a copy in the browser's
memory. The files live in a real S3-compatible server (moto)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import S3Server, ServerProcess

pytestmark = pytest.mark.slow

ADMIN = "an-admin-token-of-forty-characters-0123456"
LARGE = 16 * 1024 * 1024  # the UI's LARGE_DOWNLOAD


@pytest.fixture(scope="module")
def guarded_s3(
    tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server
) -> Iterator[tuple[ServerProcess, str, dict[str, bytes], str]]:
    tmp: Path = tmp_path_factory.mktemp("guarded-files")
    bucket = s3_server.bucket()
    before = {k: os.environ.get(k) for k in s3_server.env}
    os.environ.update(s3_server.env)
    try:
        proc = ServerProcess(
            f"sqlite:///{tmp / 'files.db'}",
            "--admin-token",
            ADMIN,
            "--artifacts-root",
            f"s3://{bucket}/ui",
            cwd=tmp,
        )
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with httpx.Client(base_url=proc.url, headers=admin, timeout=120) as c:
        artifact = c.post(
            "/api/v1/artifacts", json={"name": "weights", "kind": "model", "version": "1"}
        ).json()["id"]
        files = {"small.bin": bytes(range(256)) * 16, "large.bin": os.urandom(LARGE + 1)}
        for name, data in files.items():
            put = c.put(f"/api/v1/artifacts/{artifact}/files/{name}", content=data)
            assert put.status_code == 201, put.text
    yield proc, artifact, files, s3_server.endpoint
    proc.stop()


def test_a_large_file_downloads_by_a_presigned_link(
    browser: Any, guarded_s3: tuple[ServerProcess, str, dict[str, bytes], str]
) -> None:
    server, artifact, files, endpoint = guarded_s3
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.url)
    context.add_init_script(f"sessionStorage.setItem('modeltrail.token', {ADMIN!r})")
    page = context.new_page()
    page.set_default_timeout(30_000)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(f"/artifacts/{artifact}")
    card = page.locator(".files-card")
    card.locator("tr[data-path='large.bin']").wait_for()

    with page.expect_download() as download:
        card.locator("tr[data-path='large.bin']").get_by_role("link", name="download").click()
    # straight from the object store, not a blob: URL built from a copy in memory
    assert download.value.url.startswith(endpoint + "/")
    assert download.value.suggested_filename == "large.bin"
    data = Path(download.value.path()).read_bytes()
    assert hashlib.sha256(data).digest() == hashlib.sha256(files["large.bin"]).digest()
    assert any("/links/large.bin" in u for u in asked)
    assert not any(u.endswith("/files/large.bin") for u in asked)

    # a small file still comes through the server with the token
    with page.expect_download() as download:
        card.locator("tr[data-path='small.bin']").get_by_role("link", name="download").click()
    assert download.value.url.startswith("blob:")
    assert Path(download.value.path()).read_bytes() == files["small.bin"]
    assert not any("/links/small.bin" in u for u in asked)
    context.close()
