"""What a request must be before any route reads it.

One ASGI middleware (``RequestGuard``) looks at the request line and headers only:

- the ``Host`` must be a name this server serves (DNS rebinding: a page whose name resolves
  to a loopback address would otherwise drive a server without access control);
- a write whose ``Origin`` is present must come from the server's own origin or from one
  that CORS was configured for (a page's ``fetch`` needs no preflight for a plain POST);
- a body is JSON (``Content-Type: application/json`` or ``application/*+json``), in
  ``identity`` or ``gzip`` encoding, at most ``MAX_BODY_BYTES`` as sent; the size is counted
  while the body streams as well, so a chunked body without ``Content-Length`` is bounded too;
- ``HEAD`` is answered as ``GET`` without the body, on every route that answers ``GET``;
- the files of artifacts (``STREAMED_BODIES``) are bodies of any type, streamed to the file
  store without being read whole, and bounded by the file store's own limit instead; they
  are stored as sent, so they come without ``Content-Encoding``.

Answers are gzip-compressed for a client that accepts it (``Accept-Encoding: gzip``; browsers
and httpx always do), once they are ``COMPRESS_MIN_BYTES`` long, so that a large lineage
crosses a network in a fraction of its size. Files (``application/octet-stream``: downloads
and byte ranges, with ``Content-Length`` and a strong ``ETag`` of their content), a ``206``
and an answer that is already encoded (the UI's precompressed bundle) go as they are.

How a route reads the body is ``bodies``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Response
from starlette._utils import get_route_path
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import (
    DEFAULT_EXCLUDED_CONTENT_TYPES,
    GZipMiddleware,
    GZipResponder,
    IdentityResponder,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modeltrail.domain import limits
from modeltrail.domain.errors import ModeltrailError
from modeltrail.server import prefix
from modeltrail.server.problems import problem

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
# The names in-process clients send: Starlette's TestClient and the SDK's embedded mode. They
# reach an app only through its object, never over a socket, so an app nobody serves over the
# network answers them; ``modeltrail server`` does not.
IN_PROCESS_HOSTS = ("testserver", "embedded")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
GZIP = frozenset({"gzip", "x-gzip"})
IDENTITY = frozenset({"", "identity"})
# Paths whose body is a file's bytes: any media type, streamed (``streams_body``), bounded by
# the file store's limit (413 from the route) rather than ``MAX_BODY_BYTES``.
STREAMED_BODIES = re.compile(r"^/api/v1/artifacts/[^/]+/(files/|uploads/[^/]+/parts/)")
# Those an integration declares as it is mounted (``stream_bodies``).
_MORE_STREAMED: list[re.Pattern[str]] = []


def stream_bodies(pattern: str) -> None:
    """Take the bodies of the paths ``pattern`` matches as files, as ``STREAMED_BODIES``."""
    if all(p.pattern != pattern for p in _MORE_STREAMED):
        _MORE_STREAMED.append(re.compile(pattern))


def is_streamed(path: str) -> bool:
    """Whether ``path``, a routed path (below the app's root), takes a file as its body."""
    return STREAMED_BODIES.match(path) is not None or any(
        p.match(path) is not None for p in _MORE_STREAMED
    )


# Set in a request's scope when it came as HEAD: a route that streams a file answers with
# its headers only, instead of reading the file for nothing.
HEAD_KEY = "modeltrail.head"
# Shorter answers fit a packet or two either way; compressing them costs more than it saves.
COMPRESS_MIN_BYTES = 1024
# The fastest level: large answers are mostly ids that no level compresses much better, and
# the higher levels take several times as long on them.
COMPRESS_LEVEL = 1
# A file's bytes are sent as stored: often compressed already, and read by range.
NOT_COMPRESSED = (*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/octet-stream")


class TooLarge(ModeltrailError):
    type_slug, status, title = "too-large", 413, "Request body too large"


def too_large(limit: int, *, inflated: bool = False) -> TooLarge:
    what = "inflated request body" if inflated else "request body"
    return TooLarge(f"the {what} is larger than {limit} bytes")


@dataclass(frozen=True)
class HttpSettings:
    """The host names the app answers and the origins it allows to call it from a browser.

    ``allowed_hosts`` holds names (``api.example.com``), ``*.example.com`` for every name under
    one, or ``*`` for any; ``cors_origins`` holds origins (``https://app.example.com``) or ``*``.
    ``root_path`` is the path prefix the app is served under (``/trail``; ``""`` at the root,
    see ``modeltrail.server.prefix``). The default suits an app only called in-process;
    ``serving`` builds what a server listening on an address answers.
    """

    allowed_hosts: tuple[str, ...] = (*LOOPBACK_HOSTS, *IN_PROCESS_HOSTS)
    cors_origins: tuple[str, ...] = ()
    root_path: str = ""

    @classmethod
    def serving(
        cls,
        host: str,
        *,
        allowed_hosts: str | None = None,
        cors_origins: str | None = None,
        root_path: str | None = None,
    ) -> HttpSettings:
        """Loopback names, the address ``host`` the server listens on (unless it listens on
        every address), the comma-separated extra names and CORS origins, and the path
        prefix (ValueError says what is wrong with one that cannot be)."""
        names = [*LOOPBACK_HOSTS]
        if not _is_wildcard(host):
            names.append(host)
        names += _split(allowed_hosts)
        origins = tuple(o.rstrip("/") for o in _split(cors_origins))
        return cls(
            allowed_hosts=tuple(dict.fromkeys(_host_pattern(n) for n in names)),
            cors_origins=tuple(dict.fromkeys(origins)),
            root_path=prefix.parse_root_path(root_path),
        )

    def allows_host(self, name: str) -> bool:
        for pattern in self.allowed_hosts:
            if pattern == "*" or pattern == name:
                return True
            if pattern.startswith("*.") and name.endswith(pattern[1:]):
                return True
        return False

    def allows_origin(self, origin: str, host: str) -> bool:
        """Whether a browser page at ``origin`` may write: the server's own origin (the one
        whose host and port are in the request's ``Host``), or one CORS is configured for."""
        if "*" in self.cors_origins or origin in self.cors_origins:
            return True
        scheme, sep, authority = origin.partition("://")
        if not sep or scheme not in ("http", "https"):
            return False  # "null" (a sandboxed page, a file) and other schemes
        return _without_default_port(authority, scheme) == _without_default_port(host, scheme)


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _host_pattern(name: str) -> str:
    name = name.strip().lower().rstrip(".")
    try:
        if ipaddress.ip_address(name).version == 6:
            return f"[{name}]"
    except ValueError:
        pass
    return name


def host_name(header: str) -> str:
    """The name in a ``Host`` header, without its port: ``[::1]:8080`` -> ``[::1]``."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end != -1 else value
    name, _, port = value.rpartition(":")
    if name and port.isdigit():
        value = name
    return value.rstrip(".")


def _without_default_port(authority: str, scheme: str) -> str:
    authority = authority.lower()
    default = ":443" if scheme == "https" else ":80"
    return authority.removesuffix(default)


def _media_type(value: bytes) -> str:
    return value.split(b";", 1)[0].strip().lower().decode("latin-1")


def is_json_media_type(media: str) -> bool:
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def _without_body(send: Send) -> Send:
    """A ``send`` that answers ``HEAD``: the headers of the ``GET`` answer, no body."""

    async def send_headers(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return send_headers


class RequestGuard:
    """Refuse a request by its headers before anything reads it, and bound its body."""

    def __init__(
        self, app: ASGIApp, *, settings: HttpSettings, max_body: int | None = None
    ) -> None:
        self.app = app
        self.settings = settings
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_body = self.max_body or limits.MAX_BODY_BYTES
        # The routed path: where the app is served under a prefix, the request's own path
        # starts with it, which no pattern matches.
        streamed = is_streamed(get_route_path(scope))
        refusal = self._refusal(scope, max_body, streamed=streamed)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if scope["method"] == "HEAD":
            # A copy: the server keeps the original scope and sends no body for HEAD itself.
            scope = {**scope, "method": "GET", HEAD_KEY: True}
            send = _without_body(send)
        if streamed:
            await self.app(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    raise too_large(max_body)
            return message

        await self.app(scope, limited_receive, send)

    def _refusal(self, scope: Scope, max_body: int, *, streamed: bool) -> Response | None:
        """The problem that answers a request its headers refuse (the connection is closed:
        an unread body would otherwise be read as the next request)."""
        headers: list[tuple[bytes, bytes]] = scope.get("headers") or []
        hosts = [v for k, v in headers if k == b"host"]
        one = dict(headers)
        method = scope.get("method", "")
        host = hosts[0].decode("latin-1") if len(hosts) == 1 else ""
        length = one.get(b"content-length")
        has_body = (length is not None and length != b"0") or b"transfer-encoding" in one
        if len(hosts) != 1 or not self.settings.allows_host(host_name(host)):
            shown = f"the host name {host!r}" if host else "a request without one Host header"
            return _refuse(
                scope,
                400,
                "unknown-host",
                "Unknown host",
                f"this server does not answer for {shown}; its operator can add the name "
                "with --allowed-hosts (MODELTRAIL_ALLOWED_HOSTS)",
            )
        origin = one.get(b"origin")
        if method not in SAFE_METHODS and origin is not None:
            sent = origin.decode("latin-1").strip()
            if not self.settings.allows_origin(sent, host):
                return _refuse(
                    scope,
                    403,
                    "forbidden-origin",
                    "Cross-origin write refused",
                    f"a page at {sent!r} may not write to this server; its operator can allow "
                    "the origin with --cors-origins (MODELTRAIL_CORS_ORIGINS)",
                )
        if length is not None and (
            not length.isdigit() or (int(length) > max_body and not streamed)
        ):
            return _refuse(
                scope, 413, "too-large", "Request body too large", str(too_large(max_body))
            )
        if not has_body or method in SAFE_METHODS:
            return None
        encoding = one.get(b"content-encoding", b"").decode("latin-1").strip().lower()
        if streamed:
            if encoding in IDENTITY:
                return None
            # A file is stored as the bytes sent: a compressed one would be stored compressed
            # (and its declared sha256 of the content would not match), so it is refused.
            why = "a file is stored as the bytes sent; send them without Content-Encoding"
            return _refuse(
                scope,
                415,
                "unsupported-media-type",
                "Unsupported media type",
                f"Content-Encoding {encoding!r} is not accepted here: {why}",
                errors=[{"pointer": "/Content-Encoding", "in": "header", "detail": why}],
            )
        declared = one.get(b"content-type")
        media = _media_type(declared) if declared is not None else None
        if media is None or not is_json_media_type(media):
            said = f"not {media}" if media else "and this one has no Content-Type"
            return _refuse(
                scope,
                415,
                "unsupported-media-type",
                "Unsupported media type",
                f"the body must be JSON (Content-Type: application/json), {said}",
            )
        if encoding not in IDENTITY | GZIP:
            return _refuse(
                scope,
                415,
                "unsupported-media-type",
                "Unsupported media type",
                f"Content-Encoding {encoding!r} is not supported; send gzip or none",
            )
        return None


def accepts_gzip(header: str) -> bool:
    """Whether an ``Accept-Encoding`` header accepts gzip (``gzip;q=0`` refuses it)."""
    for part in header.lower().split(","):
        name, _, params = part.partition(";")
        if name.strip() not in ("gzip", "x-gzip", "*"):
            continue
        key, _, value = params.partition("=")
        if key.strip() != "q":
            return True
        try:
            return float(value) > 0
        except ValueError:
            return False
    return False


class Compression(GZipMiddleware):
    """Starlette's gzip, for the clients whose ``Accept-Encoding`` accepts it by its weights
    (Starlette's own looks for the word ``gzip`` anywhere in the header)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        responder: IdentityResponder
        if accepts_gzip(headers.get(b"accept-encoding", b"").decode("latin-1")):
            responder = GZipResponder(
                self.app,
                self.minimum_size,
                compresslevel=self.compresslevel,
                thread_minimum_size=self.thread_minimum_size,
                exclude_content_types=self.exclude_content_types,
            )
        else:
            responder = IdentityResponder(
                self.app, self.minimum_size, exclude_content_types=self.exclude_content_types
            )
        await responder(scope, receive, send)


def _refuse(
    scope: Scope,
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
) -> Response:
    return problem(
        status,
        slug,
        title,
        detail,
        instance=scope.get("path", ""),
        route_path=get_route_path(scope),
        errors=errors,
        headers={"connection": "close"},
    )


def install(app: FastAPI, settings: HttpSettings) -> None:
    """The guard, CORS inside it when origins are configured (the guard's refusals never
    reach a page that CORS does not allow anyway), and compression innermost (a ``HEAD``, a
    ``GET`` to it, gets the ``GET``'s headers)."""
    app.add_middleware(
        Compression,
        minimum_size=COMPRESS_MIN_BYTES,
        compresslevel=COMPRESS_LEVEL,
        exclude_content_types=NOT_COMPRESSED,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["ETag", "Location", "X-Request-ID", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(RequestGuard, settings=settings)
