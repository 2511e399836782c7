"""A real server loaded with the case study, and a real headless Chromium driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import casestudy
from conftest import ROOT, ServerProcess

CHROMIUM = os.environ.get("MODELTRAIL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "test-results" / "ui"


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("ui-server")
    proc = ServerProcess(f"sqlite:///{tmp / 'ui.db'}", cwd=tmp)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def case(ui_server: ServerProcess) -> casestudy.CaseStudy:
    return casestudy.build(ui_server.url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, ui_server: ServerProcess, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh 1280x800 tab on the server; console errors fail the test."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        base_url=ui_server.url,
        color_scheme=getattr(request, "param", "light"),
    )
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.set_default_timeout(15_000)
    yield tab
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


class HeldRequests:
    """Requests of a tab whose answers are held back until released, and every request made."""

    def __init__(self, page: Any, *patterns: str) -> None:
        self.page = page
        self.held: list[Any] = []
        self.seen: list[str] = []
        page.on("request", lambda r: self.seen.append(r.url))
        self.patterns = patterns
        for pattern in patterns:
            page.route(pattern, lambda route: self.held.append(route))

    def wait_for(self, *parts: str) -> None:
        """Wait (a while) until a request whose address contains each part was made."""
        for _ in range(200):
            if all(any(part in url for url in self.seen) for part in parts):
                return
            self.page.wait_for_timeout(50)
        missing = [p for p in parts if not any(p in url for url in self.seen)]
        raise AssertionError(f"never asked while the others were held: {missing}")

    def count(self, path: str) -> int:
        """How many API requests for path (without the query) were made."""
        return sum(1 for url in self.seen if url.split("?")[0].endswith(f"/api/v1{path}"))

    def release(self) -> None:
        for route in self.held:
            route.continue_()
        self.held.clear()

    def stop(self) -> None:
        """Release what is held and hold nothing more."""
        self.release()
        for pattern in self.patterns:
            self.page.unroute(pattern)
