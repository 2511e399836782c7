"""Defects a browser review found on a store of 1,000 runs, each checked in a real headless
Chromium at 1280x800 and 1920x1080, light and dark."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from conftest import ServerProcess
from ui.conftest import shot

pytestmark = pytest.mark.slow

SIZES = [(1280, 800), (1920, 1080)]
LONG = "very/deep/nested/path/with/a/rather/long/file-name-that-goes-on-and-on-forever.txt"


def scheme(page: Any) -> str:
    dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    return "dark" if dark else "light"


INSIDE = """card => {
  const box = card.getBoundingClientRect();
  const out = [...card.querySelectorAll('th, td')].filter(
    (c) => c.getBoundingClientRect().right > box.right + 0.5);
  return { out: out.length, page: document.documentElement.scrollWidth
           > document.documentElement.clientWidth };
}"""


@pytest.fixture(scope="module")
def with_files(ui_server: ServerProcess) -> str:
    with httpx.Client(base_url=ui_server.url, timeout=30) as client:
        artifact = client.post(
            "/api/v1/artifacts", json={"name": "clf", "kind": "model", "uri": "s3://m/1"}
        ).json()["id"]
        for name, data in {
            "README.md": b"# clf\n",
            LONG: b"hello\n",
            "m.bin": b"\0" * 4096,
        }.items():
            put = client.put(f"/api/v1/artifacts/{artifact}/files/{name}", content=data)
            assert put.status_code == 201, put.text
    return artifact


@pytest.mark.parametrize("page", ["light", "dark"], indirect=True)
def test_the_files_table_stays_inside_its_card(page: Any, with_files: str) -> None:
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"/artifacts/{with_files}")
        card = page.locator(".files-card")
        row = card.locator(f"tr[data-path='{LONG}']")
        expect(row.get_by_role("link", name="download")).to_be_visible()
        assert card.evaluate(INSIDE) == {"out": 0, "page": False}
        # the cut path is whole in its tooltip
        assert row.locator("td.path").get_attribute("title") == LONG
        shot(page, f"review-files-{width}-{scheme(page)}")
