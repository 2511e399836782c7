"""The API's interactive docs render in a real Chromium with no request to another origin."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import ServerProcess
from ui.conftest import shot

pytestmark = pytest.mark.slow


def test_docs_render_offline_under_their_policy(page: Any, ui_server: ServerProcess) -> None:
    requested: list[str] = []
    elsewhere: list[str] = []
    refused: list[str] = []

    def only_this_server(route: Any) -> None:
        url = route.request.url
        requested.append(url)
        if url.startswith(ui_server.url + "/"):
            route.continue_()
        else:  # what an offline machine would do
            elsewhere.append(url)
            route.abort()

    page.route("**/*", only_this_server)
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto("/docs")
    page.locator(".swagger-ui .info .title").filter(has_text="modeltrail").wait_for()
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 20
    page.locator(".opblock-summary", has_text="/healthz").first.click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    page.locator(".responses-wrapper .live-responses-table").filter(has_text="200").wait_for()
    shot(page, "api-docs")
    assert not elsewhere, f"the docs asked another origin: {elsewhere}"
    assert not refused, f"the page broke its own policy: {refused}"
    assert any(u.endswith("/docs/swagger-ui-bundle.js") for u in requested), requested
