"""What the openlineage plugin's tests share: an OpenLineage endpoint on loopback, and the
check of an event against the OpenLineage JSON Schema and modeltrail's facet schemas."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from modeltrail.integrations.openlineage import facets

SPEC_FILE = Path(__file__).parents[1] / "fixtures" / "openlineage" / "OpenLineage.json"


class Receiver:
    """An OpenLineage HTTP endpoint that keeps every event with its Authorization header;
    it can answer slowly (``delay`` seconds) or hold every request until released."""

    def __init__(self, delay: float = 0.0) -> None:
        self.events: list[dict[str, Any]] = []
        self.authorization: list[str | None] = []
        self.delay = delay
        self.release = threading.Event()
        self.release.set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                outer.release.wait(60)
                time.sleep(outer.delay)
                outer.events.append(json.loads(body))
                outer.authorization.append(self.headers.get("Authorization"))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        return self.wait_until(lambda events: len(events) >= count, f"{count} events", timeout)

    def wait_until(
        self,
        arrived: Callable[[list[dict[str, Any]]], bool],
        what: str,
        timeout: float = 30,
    ) -> list[dict[str, Any]]:
        """The events received, once ``arrived`` holds of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if arrived(list(self.events)):
                return list(self.events)
            time.sleep(0.05)
        raise AssertionError(f"{what} expected, {len(self.events)} events arrived")

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@cache
def _registry() -> Registry:
    spec = json.loads(SPEC_FILE.read_text())
    resources = [(spec["$id"], Resource.from_contents(spec))]
    resources += [(url, Resource.from_contents(s)) for url, s in facets.schemas().items()]
    return Registry().with_resources(resources)


def _validator(ref: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": ref}, registry=_registry(), format_checker=FormatChecker())


def facets_of(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "dataset" in event:
        yield from (event["dataset"].get("facets") or {}).values()
        return
    yield from (event["run"].get("facets") or {}).values()
    yield from (event["job"].get("facets") or {}).values()
    for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
        for key in ("facets", "inputFacets", "outputFacets"):
            yield from (dataset.get(key) or {}).values()


def validate(event: dict[str, Any]) -> None:
    """Raise unless ``event`` is a valid RunEvent (or DatasetEvent) and each modeltrail facet
    in it is valid against the schema its ``_schemaURL`` names."""
    kind = "DatasetEvent" if "dataset" in event else "RunEvent"
    _validator(f"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/{kind}").validate(event)
    for facet in facets_of(event):
        url = facet["_schemaURL"]
        if url.startswith(facets.SCHEMA_BASE):
            _validator(url).validate(facet)
