"""The app served under a path prefix (``modeltrail server --root-path /trail``): behind a
proxy that strips the prefix, one that keeps it, or mounted in another ASGI app. The UI's
page names the prefix in its ``<base href>``, the API's ``Location`` headers hold it, and a
prefix that cannot be served is refused with what is wrong with it.

The UI's side in a real browser is ``tests/ui/test_root_path.py``."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from conftest import run_cli
from modeltrail.server import ui
from modeltrail.server.app import create_app
from modeltrail.server.prefix import parse_root_path
from modeltrail.server.transport import HttpSettings
from modeltrail.services.metadata import Metadata

MISSING = "00000000-0000-0000-0000-000000000000"
Check = Callable[[httpx.AsyncClient, str], Awaitable[None]]


@pytest.mark.parametrize(
    ("given", "prefix"),
    [
        (None, ""),
        ("", ""),
        ("/", ""),
        ("/trail", "/trail"),
        ("/trail/", "/trail"),
        ("/ml/trail-2.x_~", "/ml/trail-2.x_~"),
    ],
)
def test_a_prefix_is_read_without_its_trailing_slash(given: str | None, prefix: str) -> None:
    assert parse_root_path(given) == prefix


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("trail", "'trail' must start with '/', as in /trail"),
        ("https://host/trail", "must start with '/'"),
        ("/a//b", "'/a//b' has an empty segment ('//')"),
        ("/trail//", "has an empty segment"),
        ("/a/../b", "has a '..' segment"),
        ("/./a", "has a '.' segment"),
        ("/a b", "holds ' ': a prefix is made of letters, digits"),
        ("/a\tb", "holds '\\t'"),
        ("/a\x00", "holds '\\x00'"),
        ("/tr%41il", "holds '%'"),
        ("/a?b", "holds '?'"),
        ("/a#b", "holds '#'"),
        ('/a"><script>', "holds '\"'"),
        ("/é", "holds 'é'"),
        ("/" + "a" * 300, "is longer than 200 characters"),
    ],
)
def test_a_prefix_that_cannot_be_served_is_refused(given: str, said: str) -> None:
    with pytest.raises(ValueError, match="--root-path") as refused:
        parse_root_path(given)
    assert said in str(refused.value)


@pytest.mark.parametrize(
    "prefix",
    ["/api", "/v1/x", "/docs", "/healthz", "/assets", "/favicon.ico", "/runs", "/models/x"],
)
def test_a_prefix_the_app_answers_itself_is_refused(metadata: Metadata, prefix: str) -> None:
    with pytest.raises(ValueError, match=f"starts with /{prefix.split('/')[1]}, a path the"):
        create_app(metadata, http_settings=HttpSettings(root_path=prefix))


@pytest.fixture(params=["kept", "stripped", "mount"])
def under_trail(request: pytest.FixtureRequest, metadata: Metadata) -> Callable[[Check], None]:
    """Run a check with a client of the app served under ``/trail`` and the prefix that the
    client puts before each path: as a proxy that keeps the prefix, or one that strips it,
    passes requests on (``--root-path``), or as another ASGI app mounts it."""
    if request.param == "mount":
        app = Starlette(routes=[Mount("/trail", app=create_app(metadata))])
    else:
        app = create_app(metadata, http_settings=HttpSettings(root_path="/trail"))
    sent = "" if request.param == "stripped" else "/trail"

    def run(check: Check) -> None:
        async def with_client() -> None:
            transport = httpx.ASGITransport(app)
            # A mount answers /trail with a redirect to /trail/.
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver", follow_redirects=True
            ) as c:
                await check(c, sent)

        asyncio.run(with_client())

    return run


def test_the_page_names_the_prefix_at_any_depth(under_trail: Callable[[Check], None]) -> None:
    async def check(c: httpx.AsyncClient, sent: str) -> None:
        etags = set()
        for path in ("", "/", "/experiments", f"/runs/{MISSING}/dag", "/index.html"):
            page = await c.get(sent + path)
            assert page.status_code == 200, (path, page.text)
            assert page.headers["content-type"].startswith("text/html")
            assert page.headers["cache-control"] == "no-cache"
            assert re.findall(r"<base[^>]*>", page.text) == ['<base href="/trail/" />'], path
            etags.add(page.headers["etag"])
        assert len(etags) == 1
        again = await c.get(sent + "/runs", headers={"if-none-match": etags.pop()})
        assert again.status_code == 304 and not again.content
        page = (await c.get(sent + "/")).text
        for asset in re.findall(r'(?:src|href)="\./([^"]+)"', page):
            answer = await c.get(f"{sent}/{asset}")
            assert answer.status_code == 200 and "<html" not in answer.text[:100], asset
        # A chunk looked for where there is none is not the page.
        missing = await c.get(sent + "/assets/nothing-here.js")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"

    under_trail(check)


def test_the_api_answers_under_the_prefix(under_trail: Callable[[Check], None]) -> None:
    async def check(c: httpx.AsyncClient, sent: str) -> None:
        made = await c.post(f"{sent}/api/v1/experiments", json={"name": "prefixed"})
        assert made.status_code == 201, made.text
        location = made.headers["location"]
        assert location == f"/trail/api/v1/experiments/{made.json()['id']}"
        # The client reaches it where the proxy publishes it.
        followed = await c.get(sent + location.removeprefix("/trail"))
        assert followed.json()["name"] == "prefixed"
        model = await c.post(f"{sent}/api/v1/models", json={"name": "a b"})
        assert model.headers["location"] == "/trail/api/v1/models/a%20b", model.text
        listed = await c.get(f"{sent}/api/v1/experiments")
        assert [e["name"] for e in listed.json()["items"]] == ["prefixed"]
        nowhere = await c.get(f"{sent}/api/v1/nothing")
        assert nowhere.status_code == 404
        assert nowhere.headers["content-type"] == "application/problem+json"
        docs = await c.get(f"{sent}/docs")
        assert 'src="/trail/docs/swagger-ui-bundle.js"' in docs.text
        assert 'data-openapi-url="/trail/openapi.json"' in docs.text
        assert (await c.get(f"{sent}/openapi.json")).json()["info"]["title"] == "modeltrail"
        assert (await c.get(f"{sent}/readyz")).status_code == 200

    under_trail(check)


def test_at_the_root_the_page_names_the_root(metadata: Metadata) -> None:
    async def check() -> None:
        transport = httpx.ASGITransport(create_app(metadata))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            page = await c.get(f"/runs/{MISSING}/dag")
            assert re.findall(r"<base[^>]*>", page.text) == ['<base href="/" />']
            made = await c.post("/api/v1/experiments", json={"name": "at-root"})
            assert made.headers["location"] == f"/api/v1/experiments/{made.json()['id']}"

    asyncio.run(check())


def test_the_server_refuses_a_prefix_in_one_line(tmp_path: Path) -> None:
    for given, said in [
        ("trail", "error: --root-path (MODELTRAIL_ROOT_PATH) 'trail' must start with '/'"),
        ("/a/[b]", "holds '['"),
        ("/docs", "starts with /docs, a path the server answers itself"),
    ]:
        done = run_cli("server", "--port", "1", "--root-path", given, cwd=tmp_path, check=False)
        assert done.returncode == 2, (given, done.stdout, done.stderr)
        assert done.stderr.count("\n") == 1 and said in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        # Refused before the store is opened: no database file is left behind.
        assert list(tmp_path.iterdir()) == [], (given, list(tmp_path.iterdir()))


def test_a_page_without_a_base_element_gets_one(tmp_path: Path, metadata: Metadata) -> None:
    (tmp_path / "index.html").write_text(
        '<!doctype html><html><head lang="en"><title>t</title></head><body></body></html>'
    )
    app = create_app(metadata, http_settings=HttpSettings(root_path="/trail"))
    ui.install(app, root=tmp_path)

    async def check() -> None:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            page = await c.get("/trail/runs")
            assert page.text.startswith(
                '<!doctype html><html><head lang="en"><base href="/trail/" /><title>'
            ), page.text

    asyncio.run(check())


def test_every_view_of_the_ui_is_a_prefix_refused() -> None:
    """The UI's route table names the first segments of its addresses; each is in ``VIEWS``."""
    web = Path(__file__).resolve().parents[2] / "web" / "src"
    routes = (web / "main.tsx").read_text()
    browsed = re.search(r"BROWSED = \[([^\]]*)\]", (web / "api" / "entities.ts").read_text())
    assert browsed is not None
    named = set(re.findall(r'"(\w+)"', browsed.group(1)))
    # `^/runs/${ID}$` and /^\/compare\/?$/: a route's first segment, written either way.
    named |= set(re.findall(r"\^\\?/(\w+)", routes))
    assert named >= {"experiments", "runs", "models", "compare"}, named
    assert named == ui.VIEWS
