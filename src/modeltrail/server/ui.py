"""The web UI: the built single-page app in ``modeltrail/ui`` served at ``/``.

The UI never shadows the API: it answers only requests that no route answered (a 404 from
routing), and only GET/HEAD for paths outside the API, the thesis API, the docs and the probes.
Those get a static file when one exists, otherwise ``index.html`` so that client-side URLs
(``/runs/ID``, ``/artifacts/ID/lineage``) can be bookmarked and reloaded.

The build writes a gzip copy beside each large file of the bundle (``name.js.gz``); a browser
that accepts gzip gets that copy as is (``Content-Encoding: gzip``), so the bundle is
compressed once at build time at the highest level rather than on every request.

The bundle's URLs are relative, and ``index.html`` resolves them against its ``<base href>``,
which is written here for the path prefix the app is served under (``root_path``, see
``modeltrail.server.prefix``): the same bundle works at ``/`` and at ``/trail/``, at any depth
of a client-side URL. The page is rendered once per prefix and file version.
"""

from __future__ import annotations

import hashlib
import html
import inspect
import mimetypes
import os
import re
from email.utils import parsedate_to_datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException as StarletteHTTPException

from modeltrail.server import problems, transport

UI_DIR = Path(__file__).resolve().parent.parent / "ui"
RESERVED = ("/api", "/v1", "/docs", "/openapi.json", "/healthz", "/readyz")
# The first segments of the UI's own addresses (the route table of web/src/main.tsx): a path
# prefix may not be one of them, since behind a proxy that strips it /runs/ID could not be told
# from /runs (the prefix) + /ID.
VIEWS = frozenset({"experiments", "runs", "executions", "artifacts", "compare", "models"})
# The element the build leaves in index.html's head (web/index.html): <base href="/" />.
BASE_TAG = re.compile(rb'<base href="[^"]*"\s*/?>')


def bundle_entries(root: Path = UI_DIR) -> set[str]:
    """The names at the top of the bundle (``assets``, ``favicon.ico``, ...) and of the UI's
    views (``runs``, ``models``, ...)."""
    return ({p.name for p in root.iterdir()} if root.is_dir() else set()) | VIEWS


@lru_cache(maxsize=32)
def _render_index(index: Path, version: tuple[int, int], root_path: str) -> tuple[bytes, str]:
    """index.html with its ``<base href>`` at ``root_path``, and the page's ETag. ``version``
    (modification time and size) makes a rebuilt bundle render anew."""
    page = index.read_bytes()
    href = html.escape(quote(root_path.rstrip("/"), safe="/") + "/", quote=True)
    tag = f'<base href="{href}" />'.encode()
    page, found = BASE_TAG.subn(lambda _: tag, page, count=1)
    if not found:
        page = re.sub(rb"<head[^>]*>", lambda m: m.group(0) + tag, page, count=1)
    return page, f'"{hashlib.sha256(page).hexdigest()[:32]}"'


def _index(index: Path, request: Request) -> Response:
    stat = index.stat()
    root_path = request.scope.get("root_path", "")
    page, etag = _render_index(index, (stat.st_mtime_ns, stat.st_size), root_path)
    headers = {"Cache-Control": "no-cache", "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(page, media_type="text/html; charset=utf-8", headers=headers)


def _reserved(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in RESERVED)


def _file(path: str, root: Path) -> Path | None:
    """The file under root that path names, never a file outside it."""
    candidate = (root / path.lstrip("/")).resolve()
    if candidate.is_file() and candidate.is_relative_to(root.resolve()):
        return candidate
    return None


# What a 304 repeats of the answer it stands for (RFC 9110, 15.4.5).
_NOT_MODIFIED_KEEPS = ("cache-control", "content-location", "date", "etag", "expires", "vary")


def _unchanged(answer: Response, request: Request) -> bool:
    """Whether the conditional request's copy is still ``answer``'s: If-None-Match names its
    ETag (a weak comparison), or, without it, If-Modified-Since is not before its date."""
    etag = answer.headers.get("etag", "")
    if (wanted := request.headers.get("if-none-match")) is not None:
        tags = {t.strip().removeprefix("W/") for t in wanted.split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    since, modified = request.headers.get("if-modified-since"), answer.headers.get("last-modified")
    if since is None or modified is None:
        return False
    try:
        return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


def file_answer(
    path: Path, request: Request, *, headers: dict[str, str], media_type: str | None = None
) -> Response:
    """A file with its validators (ETag, Last-Modified), or a bodiless 304 when the request's
    copy is still current: a file that must be revalidated on every use (no-cache: the favicon,
    the docs' assets) costs a round trip but no transfer."""
    answer = FileResponse(path, media_type=media_type, headers=headers, stat_result=os.stat(path))
    if request.method in ("GET", "HEAD") and _unchanged(answer, request):
        kept = {k: v for k, v in answer.headers.items() if k in _NOT_MODIFIED_KEEPS}
        return Response(status_code=304, headers=kept)
    return answer


def _asset(asset: Path, request: Request) -> Response:
    # Hashed bundle names change with their content, so they may be cached for good; the other
    # files (favicon.ico) keep their names, so a browser asks again and gets a 304.
    immutable = asset.parent.name == "assets"
    headers = {"Cache-Control": "public, max-age=31536000, immutable" if immutable else "no-cache"}
    packed = asset.with_name(asset.name + ".gz")
    if not packed.is_file() or not transport.accepts_gzip(
        request.headers.get("accept-encoding", "")
    ):
        # The compression middleware says that this answer varies with Accept-Encoding.
        return file_answer(asset, request, headers=headers)
    media = mimetypes.guess_type(asset.name)[0] or "application/octet-stream"
    headers.update({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    # The packed copy is a file of its own, with an ETag of its own.
    return file_answer(packed, request, headers=headers, media_type=media)


def install(app: FastAPI, root: Path = UI_DIR) -> None:
    """Serve the UI from root for every GET that no route of the app answers."""
    index = root / "index.html"
    http_error = app.exception_handlers[StarletteHTTPException]

    @app.exception_handler(404)
    async def ui_or_not_found(request: Request, exc: Exception) -> Response:
        # The routed path: where the app is served under a prefix, the request's own path
        # starts with it, and no reserved prefix would match it.
        path = get_route_path(request.scope)
        routed_404 = isinstance(exc, StarletteHTTPException) and exc.detail == "Not Found"
        if (
            request.method in ("GET", "HEAD")
            and routed_404
            and not _reserved(path)
            and index.is_file()
        ):
            asset = _file(path, root)
            # index.html by its name too gets the <base href> of the prefix.
            if asset is not None and asset != index.resolve():
                return _asset(asset, request)
            # A script the page asks for and does not get is a 404, never the page: a chunk
            # looked for at the wrong address fails with the address in the console.
            if not path.startswith("/assets/"):
                return _index(index, request)
        if isinstance(exc, StarletteHTTPException):
            answer = http_error(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        return problems.problem(
            404, "not-found", "Not found", str(exc), instance=request.url.path, route_path=path
        )
