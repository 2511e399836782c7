"""Serving the app under a path prefix (``modeltrail server --root-path /trail``).

A reverse proxy that publishes the server at ``https://host/trail/`` either strips the prefix
before it forwards a request (nginx ``proxy_pass http://up/;``) or keeps it (``proxy_pass
http://up;``). ``RootPath`` takes both: a path that starts with the prefix is taken as it
is, any other is taken as stripped and gets it back. Either way the app sees the ASGI shape
of a prefixed request, the prefix in ``root_path`` and at the start of ``path``, which is
what every part of the app already reads through the routed path (``get_route_path``) and
what the UI's ``<base href>`` is written from.

uvicorn's own ``root_path`` prepends the prefix to every path unconditionally, so that a
proxy keeping the prefix (or a request sent straight to ``/trail/...``) would be routed as
``/trail/trail/...``: the app does it itself instead.

A prefix must not begin with a segment that the app answers at its root (``/api``,
``/docs``, a file of the UI): a path that starts with it could not tell the two apart.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

MAX_LENGTH = 200
# RFC 3986's unreserved characters: a prefix is written into the UI's HTML and into URLs as
# it is, so it holds nothing that would need escaping in either.
SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")
OPTION = "--root-path (MODELTRAIL_ROOT_PATH)"


def parse_root_path(value: str | None) -> str:
    """The prefix that ``value`` names, without a trailing slash: ``"/trail/"`` ->
    ``"/trail"``; ``""`` and ``"/"`` -> ``""`` (served at the root). Raises ValueError saying
    what is wrong with any other value."""
    if not value or value == "/":
        return ""
    shown = repr(value) if len(value) <= MAX_LENGTH else f"{value[:MAX_LENGTH]!r}..."
    if len(value) > MAX_LENGTH:
        raise ValueError(f"{OPTION} {shown} is longer than {MAX_LENGTH} characters")
    if not value.startswith("/"):
        raise ValueError(f"{OPTION} {shown} must start with '/', as in /trail")
    segments = value[1:].removesuffix("/").split("/")
    for segment in segments:
        if not segment:
            raise ValueError(f"{OPTION} {shown} has an empty segment ('//')")
        if segment in (".", ".."):
            raise ValueError(f"{OPTION} {shown} has a {segment!r} segment")
        if not SEGMENT.fullmatch(segment):
            bad = next(c for c in segment if not SEGMENT.fullmatch(c))
            raise ValueError(
                f"{OPTION} {shown} holds {bad!r}: a prefix is made of letters, digits, "
                "'-', '.', '_' and '~', its segments separated by '/'"
            )
    return "/" + "/".join(segments)


def check_collision(root_path: str, taken: set[str]) -> None:
    """Refuse a prefix whose first segment is one of ``taken``, the first segments of the
    paths the app answers at its root: a request for one of them could not be told from a
    request under the prefix."""
    first = root_path.split("/")[1] if root_path else ""
    if first in taken:
        raise ValueError(
            f"{OPTION} {root_path!r} starts with /{first}, a path the server answers "
            "itself; choose a prefix that does not"
        )


class RootPath:
    """Give every request the prefix, whether the proxy kept it or stripped it."""

    def __init__(self, app: ASGIApp, *, root_path: str) -> None:
        self.app = app
        self.root_path = root_path
        self.raw = root_path.encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A server or a mount that set a root path already says where the app is.
        if scope["type"] in ("http", "websocket") and not scope.get("root_path"):
            path: str = scope["path"]
            scope = {**scope, "root_path": self.root_path}
            if path != self.root_path and not path.startswith(self.root_path + "/"):
                scope["path"] = self.root_path + path
                raw = scope.get("raw_path")
                if raw is not None:
                    scope["raw_path"] = self.raw + raw
        await self.app(scope, receive, send)
