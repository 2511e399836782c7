"""One way to reach a store: a server over HTTP, or a database opened in-process.

Both speak the same HTTP API: in embedded mode the server application runs inside this
process behind an in-memory transport, so the SDK and the CLI have one code path, and the
embedded store validates exactly what a server would.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from typing import Any

import httpx

from modeltrail.domain import text
from modeltrail.errors import ModeltrailError, NotFound, ServerUnreachable, from_problem

RETRY_STATUSES = {429, 502, 503, 504}
# The longest a 429's Retry-After is waited for; a server asking for more is answered sooner.
MAX_RETRY_AFTER = 30.0


def parsed(response: httpx.Response) -> Any:
    """The answer's JSON, or None if it has no body. The garbage collector is left as the
    user's program has it: the SDK runs in that program's process."""
    if not response.content:
        return None
    return response.json()


def is_server_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def resolve_target(target: str | None) -> str:
    """``--url`` / ``MODELTRAIL_URL`` / the embedded store in the working directory."""
    return target or os.environ.get("MODELTRAIL_URL") or "sqlite:///modeltrail.db"


class EmbeddedTransport(httpx.BaseTransport):
    """Hands requests to an ASGI application in this process. The application runs on an
    event loop of its own, in one thread for the connection's life: a test client would start
    a loop (and warn that it is meant for tests) on every request."""

    def __init__(self, app: Any) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="modeltrail-embedded", daemon=True
        )
        self._thread.start()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def call() -> tuple[int, httpx.Headers, bytes]:
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self._asgi.handle_async_request(forwarded)
            raw = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
            return response.status_code, response.headers, raw

        status, headers, raw = asyncio.run_coroutine_threadsafe(call(), self._loop).result()
        # Still encoded as the application sent it: the client decodes it once, as over HTTP.
        return httpx.Response(status, headers=headers, content=raw, request=request)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


def _release_body(response: httpx.Response) -> None:
    """Let go of the request's body once it is answered. httpx leaves a sent request in a
    reference cycle, freed by the garbage collector's next pass over the older objects, which
    a program with a large heap makes rarely: the megabytes of each batch of metric points
    would wait with it, and the client's memory would grow with the batches sent."""
    stream = response.request.stream
    if isinstance(stream, httpx.ByteStream) and hasattr(stream, "_stream"):
        stream._stream = b""
    if isinstance(getattr(response.request, "_content", None), bytes):
        response.request._content = b""


def _retry_after(response: httpx.Response) -> float:
    """The seconds a response's Retry-After asks for (a number of them; a date is not read),
    at most ``MAX_RETRY_AFTER``."""
    try:
        return min(max(float(response.headers.get("Retry-After", 0)), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return 0.0


class Connection:
    """Sends API requests, retries what is safe to retry, raises typed errors."""

    def __init__(
        self,
        target: str | None = None,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.25,
        strict_kinds: bool = False,
        create: bool = True,
    ) -> None:
        """``create=False``: refuse to make a new SQLite file where there is none (a command
        that only reads has nothing to read there)."""
        self.target = resolve_target(target)
        self.retries = retries
        self.backoff = backoff
        token = token or os.environ.get("MODELTRAIL_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._metadata = None
        if is_server_url(self.target):
            # A server that is down refuses at once; one that does not answer costs at most
            # ``timeout`` per attempt, connecting at most 5 s.
            self.http = httpx.Client(
                base_url=self.target.rstrip("/"),
                headers=headers,
                timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            )
        else:
            from modeltrail.server.app import create_app
            from modeltrail.services.metadata import Metadata
            from modeltrail.store.database import sqlite_file

            missing = sqlite_file(self.target)
            if not create and missing is not None and not missing.exists():
                raise NotFound(
                    f"there is no store here: {missing} does not exist; give the URL of one "
                    "(--url or MODELTRAIL_URL)"
                )
            self._metadata = Metadata.open(self.target, strict_kinds=strict_kinds)
            self.http = httpx.Client(
                transport=EmbeddedTransport(create_app(self._metadata)),
                base_url="http://embedded",
                headers=headers,
                timeout=None,
            )

    @property
    def embedded(self) -> bool:
        return self._metadata is not None

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        retry: bool = True,
        content: bytes | None = None,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        """Send one request. Connection errors and 429/502/503/504 are retried with backoff
        (doubling, with jitter; a 429 waits at least its Retry-After): every write the API
        offers is idempotent when the client chooses the id. ``content``: a JSON body encoded
        already, whose text the caller checked. ``timeout``: this request's own (None: wait
        as long as the server works on it)."""
        # Text that is not Unicode cannot be sent (nor stored): refused here, naming it, as
        # the server would refuse it.
        text.check_text(json, what="the request")
        if content is not None:
            headers = {**(headers or {}), "Content-Type": "application/json"}
        text.check_text(path, what="the request's path")
        text.check_text(params, what="the request's parameters")
        attempts = self.retries + 1 if retry else 1
        for attempt in range(attempts):
            delay = self.backoff * (2**attempt) * random.uniform(1.0, 1.25)
            try:
                response = self.http.request(
                    method,
                    path,
                    json=json,
                    params=params,
                    headers=headers,
                    content=content,
                    timeout=timeout,
                )
            except httpx.TransportError as exc:
                if attempt + 1 >= attempts:
                    raise ServerUnreachable(f"no answer from {self.target}: {exc}") from exc
            else:
                if response.status_code not in RETRY_STATUSES or attempt + 1 >= attempts:
                    break
                if response.status_code == 429:
                    delay = max(delay, _retry_after(response))
            time.sleep(delay)
        _release_body(response)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"detail": response.text}
            raise from_problem(response.status_code, body)
        return response

    def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return parsed(self.request("GET", path, params=clean))

    def post(self, path: str, body: Any, **kw: Any) -> Any:
        return parsed(self.request("POST", path, json=body, **kw))

    def patch(self, path: str, body: Any, *, revision: int | None = None) -> Any:
        headers = {"If-Match": f'"{revision}"'} if revision is not None else None
        return parsed(self.request("PATCH", path, json=body, headers=headers))

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def close(self) -> None:
        self.http.close()
        if self._metadata is not None:
            self._metadata.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


__all__ = ["Connection", "ModeltrailError", "is_server_url", "resolve_target"]
