"""The UI served under a path prefix (``modeltrail server --root-path /trail``), in a real
Chromium: the page is asked for at ``/trail/...`` as a proxy that keeps the prefix passes it
on; every request it makes stays under the prefix, views fetched when first shown too, and a
deep address reloads. (A proxy that strips the prefix sends the app the same requests without
it: ``tests/server/test_root_path.py``.)"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from benchmarks.nginx_proxy import nginx_binary, start_nginx

import casestudy
from conftest import ROOT, ServerProcess, free_port
from ui.conftest import shot

pytestmark = pytest.mark.slow

PREFIX = "/trail"


def documented_location() -> str:
    """The nginx ``location`` block of docs/operations.md's section on path prefixes."""
    doc = (ROOT / "docs" / "operations.md").read_text()
    section = doc.split("## Serving under a path prefix", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```text\n(location /trail/ \{.*?\n\})\n```", section, re.DOTALL)
    assert block, "the section shows an nginx location block"
    return block.group(1)


@dataclass
class Served:
    url: str  # where the browser asks for /trail/...


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("ui-root-path")
    proc = ServerProcess(f"sqlite:///{tmp / 'ui.db'}", "--root-path", PREFIX, cwd=tmp)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def case(server: ServerProcess) -> casestudy.CaseStudy:
    # Written to the server at its root: a request whose prefix a proxy stripped.
    return casestudy.build(server.url)


@pytest.fixture(scope="module", params=["direct", "nginx-stripping", "nginx-keeping"])
def ui_server(
    request: pytest.FixtureRequest,
    server: ServerProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    """Where the browser finds the UI under /trail/: the server itself, or nginx in front of it
    with the documented block, which strips the prefix, and with the prefix kept."""
    if request.param == "direct":
        yield Served(server.url)
        return
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (apt-get install -y nginx)")
    location = documented_location().replace("127.0.0.1:8080", f"127.0.0.1:{server.port}")
    if request.param == "nginx-keeping":
        location = location.replace(f"{server.port}/;", f"{server.port};")
    port = free_port()
    proc = start_nginx(tmp_path_factory.mktemp("nginx"), port=port, server=location)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}{PREFIX}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
        yield Served(url)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def watched(page: Any) -> Iterator[tuple[Any, list[str], list[str]]]:
    """The page, the paths of every request it makes, and the errors in its console."""
    paths: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: paths.append(urlsplit(r.url).path))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    yield page, paths, errors
    assert not errors, f"errors in the page: {errors}"


def test_the_ui_works_under_the_prefix(
    watched: tuple[Any, list[str], list[str]], case: casestudy.CaseStudy
) -> None:
    page, paths, _ = watched
    page.goto(f"{PREFIX}/experiments")
    page.wait_for_selector("table.data:not(.stale) tbody tr")
    assert page.locator("table.data tbody tr td:first-child").all_inner_texts() == [
        casestudy.EXPERIMENT
    ]
    assert page.locator("a.api-link").evaluate("a => new URL(a.href).pathname") == "/trail/docs"

    page.get_by_role("link", name=casestudy.EXPERIMENT).click()
    page.wait_for_url(re.compile(rf"{PREFIX}/experiments/{case.experiment['id']}/runs$"))
    page.wait_for_selector("table.data.grid:not(.stale) tbody td.name")
    page.get_by_role("link", name=casestudy.RUN_NAMES[1]).click()
    run = case.runs[1]["id"]
    page.wait_for_url(re.compile(rf"{PREFIX}/runs/{run}$"))
    page.get_by_test_id("run-facts").get_by_text(casestudy.CAUSES[1]).wait_for()

    # The graph library is a chunk of its own, fetched from under the prefix when first shown.
    page.get_by_role("link", name="DAG", exact=True).click()
    page.wait_for_url(re.compile(rf"{PREFIX}/runs/{run}/dag$"))
    page.wait_for_selector(".react-flow__node")
    nodes = page.locator(".react-flow__node").count()
    assert nodes > 0

    # A deep address loads the bundle from /trail/assets/, not /trail/runs/ID/assets/.
    page.reload()
    page.wait_for_selector(".react-flow__node")
    assert page.locator(".react-flow__node").count() == nodes
    shot(page, "60-dag-under-a-prefix")
    page.go_back()
    page.wait_for_url(re.compile(rf"{PREFIX}/runs/{run}$"))
    page.get_by_test_id("run-facts").get_by_text(casestudy.CAUSES[1]).wait_for()

    outside = sorted({p for p in paths if p != PREFIX and not p.startswith(PREFIX + "/")})
    assert not outside, f"requests outside the prefix: {outside}"
    api = [p for p in paths if p.startswith(f"{PREFIX}/api/v1/")]
    assert f"{PREFIX}/api/v1/whoami" in api and f"{PREFIX}/api/v1/runs/{run}" in api
    assert any(p.startswith(f"{PREFIX}/assets/RunDag-") for p in paths), paths
    assert not any(p.startswith(f"{PREFIX}/runs/{run}/assets") for p in paths), paths
