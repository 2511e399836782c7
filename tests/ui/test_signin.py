"""Signing in to a server with access control, in a real Chromium against a real server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ServerProcess
from ui.conftest import shot

pytestmark = pytest.mark.slow

ADMIN = "an-admin-token-of-forty-characters-0123456"


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp: Path = tmp_path_factory.mktemp("guarded")
    proc = ServerProcess(f"sqlite:///{tmp / 'guarded.db'}", "--admin-token", ADMIN, cwd=tmp)
    yield proc
    proc.stop()


def _post(server: ServerProcess, path: str, body: dict[str, Any], token: str) -> Any:
    response = httpx.post(
        server.url + path, json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def reader_token(guarded_server: ServerProcess) -> str:
    _post(guarded_server, "/api/v1/experiments", {"name": "guarded-experiment"}, ADMIN)
    created = _post(guarded_server, "/api/v1/tokens", {"name": "ana", "role": "reader"}, ADMIN)
    return str(created["token"])


@pytest.fixture
def guarded_page(browser: Any, guarded_server: ServerProcess) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, base_url=guarded_server.url
    )
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.set_default_timeout(15_000)
    yield tab
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def test_sign_in_with_a_token_then_sign_out(guarded_page: Any, reader_token: str) -> None:
    page = guarded_page
    page.goto("/experiments")
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.locator("table.data").count() == 0, "no data before signing in"

    page.get_by_label("API token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").filter(has_text="unknown or revoked").wait_for()
    assert page.evaluate("sessionStorage.getItem('modeltrail.token')") is None

    page.get_by_label("API token").fill(reader_token)
    page.get_by_role("button", name="Sign in").click()
    page.locator("table.data tbody tr td", has_text="guarded-experiment").wait_for()
    page.locator(".who", has_text="ana").wait_for()
    shot(page, "signed-in")
    # Kept for this tab only: never in local storage, still there after a reload.
    assert page.evaluate("localStorage.length") == 0
    page.reload()
    page.locator("table.data tbody tr td", has_text="guarded-experiment").wait_for()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.evaluate("sessionStorage.getItem('modeltrail.token')") is None
    page.goto("/runs")
    page.get_by_role("heading", name="Sign in").wait_for()


def test_a_revoked_token_returns_to_the_sign_in(
    guarded_page: Any, guarded_server: ServerProcess
) -> None:
    created = _post(guarded_server, "/api/v1/tokens", {"name": "bo", "role": "reader"}, ADMIN)
    page = guarded_page
    page.goto("/experiments")
    page.get_by_label("API token").fill(created["token"])
    page.get_by_role("button", name="Sign in").click()
    page.locator(".who", has_text="bo").wait_for()
    revoked = httpx.delete(
        f"{guarded_server.url}/api/v1/tokens/{created['id']}",
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert revoked.status_code == 204
    page.goto("/artifacts")
    page.get_by_role("heading", name="Sign in").wait_for()


def test_an_open_server_shows_no_sign_in(page: Any, ui_server: ServerProcess) -> None:
    page.goto("/experiments")
    page.locator("table.data").wait_for()
    assert page.get_by_role("button", name="Sign out").count() == 0
    assert not re.search("Sign in", page.locator("main").inner_text())
