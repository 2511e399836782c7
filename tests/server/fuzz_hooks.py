"""Schemathesis hooks and checks of test_fuzz.py (loaded through ``SCHEMATHESIS_HOOKS``).

They teach the generated requests two things a hostile client sends that schema-driven data
never holds, and check what must answer them:

- text that is not valid Unicode: a lone UTF-16 surrogate in a string or a key of the body
  (JSON can spell one, ``"\\ud800"``). It is refused with 422 and an error whose pointer
  names the field (or the object whose key it is), before anything is stored.
- a body without a ``Content-Type`` (what a web page's ``fetch`` with a Blob sends without a
  preflight). It is refused with 415.

And on every answer: an error is an RFC 9457 problem whose ``status`` is the answer's.
"""

from __future__ import annotations

import atexit
import copy
import json
import os
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import schemathesis

# Alone: a high half, a low half, one inside text, one after a whole pair (U+1F600).
LONE = ["\ud800", "\udfff", "a\udc00b", "\U0001f600\ud83d"]
# One JSON body in this many is sent without a Content-Type (decided by its bytes, so a seed
# replays the same requests).
WITHOUT_CONTENT_TYPE_ONE_IN = 8
MARK = "x-fuzz-without-content-type"
# One JSON body in this many of the others carries a lone surrogate in one of its keys or texts.
SURROGATE_ONE_IN = 3
# Answers that may come before the body is read: no token or a token without the role, a
# method the path does not have, a body too large, a body that is not declared JSON.
BEFORE_THE_BODY = {401, 403, 405, 413, 415}

Path = tuple[Any, ...]
# How many answers each check below looked at, written where MODELTRAIL_FUZZ_STATS says when
# the run ends: the test asserts that the taught requests were sent at all.
SEEN: Counter[str] = Counter()


@atexit.register
def _write_stats() -> None:
    path = os.environ.get("MODELTRAIL_FUZZ_STATS")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump({name: SEEN[name] for name in CHECKED}, f)


def _slots(value: Any, path: Path = ()) -> Iterator[tuple[Path, bool]]:
    """Where a surrogate can go: (path, is_key) for every string and every key."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key), True
            yield from _slots(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _slots(item, (*path, index))
    elif isinstance(value, str):
        yield path, False


def _inject(body: Any, slot: tuple[Path, bool], lone: str) -> Any:
    path, is_key = slot
    if not path:
        return body + lone
    body = copy.deepcopy(body)
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if is_key:
        parent[last + lone] = parent.pop(last)
    else:
        parent[last] = parent[last] + lone
    return body


# uvicorn's HTTP parser refuses a request line over 64 KiB with a plain-text 400 before the app
# sees it: generated queries are kept under that, so that what is checked is the app's answer.
MAX_QUERY_BYTES = 32 * 1024


def _bounded_query(query: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    size = 0
    for name, value in query.items():
        items = value if isinstance(value, list) else [value]
        fitting = []
        for item in items:
            size += len(urlencode({name: item})) + 1
            if size > MAX_QUERY_BYTES:
                break
            fitting.append(item)
        kept[name] = fitting if isinstance(value, list) else (fitting[0] if fitting else "")
    return kept


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if case.query and len(urlencode(case.query, doseq=True)) > MAX_QUERY_BYTES:
        case.query = _bounded_query(case.query)
    if case.body is None or not isinstance(case.body, (dict, list)):
        return
    if not (case.media_type or "").endswith("json"):
        return
    raw = json.dumps(case.body).encode()
    digest = zlib.crc32(raw)
    if digest % WITHOUT_CONTENT_TYPE_ONE_IN == 0:
        # The bytes are sent as they are, and with no media type schemathesis declares none.
        kwargs["data"] = raw
        case.media_type = None
    elif digest % SURROGATE_ONE_IN == 1 and (slots := list(_slots(case.body))):
        # Only the bytes sent carry the surrogate: the case itself stays valid text, which
        # schemathesis validates again between the steps of its stateful phase.
        lone = LONE[digest % len(LONE)]
        kwargs["data"] = json.dumps(_inject(case.body, slots[digest % len(slots)], lone)).encode()


def _request_body(response: Any) -> tuple[bytes | None, str | None]:
    request = response.request
    body = request.body
    if isinstance(body, str):
        body = body.encode()
    return body or None, request.headers.get("Content-Type")


def _lone_surrogates(value: Any, path: Path = ()) -> Iterator[tuple[Path, bool]]:
    def bad(text: str) -> bool:
        return any(0xD800 <= ord(c) <= 0xDFFF for c in text)

    if isinstance(value, dict):
        for key, item in value.items():
            if bad(key):
                yield (*path, key), True
            yield from _lone_surrogates(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _lone_surrogates(item, (*path, index))
    elif isinstance(value, str) and bad(value):
        yield path, False


def _segments(pointer: str) -> list[str]:
    if pointer in ("", "/"):
        return []
    return [s.replace("~1", "/").replace("~0", "~") for s in pointer.split("/")[1:]]


def _names(pointer: str, where: Path, is_key: bool) -> bool:
    """Whether an error's pointer names the field a surrogate is in: the field itself or an
    object or list holding it (an opaque document is named as a whole); for a key, also the
    key however the answer spells it."""
    got, want = _segments(pointer), [str(s) for s in where]
    if pointer == "/" and want == [""]:
        return True  # RFC 6901: "/" is the key "" of the document (the server's "whole body" too)
    if not got:
        return not want
    if got == want[: len(got)]:
        return True
    return is_key and len(got) == len(want) and got[:-1] == want[:-1]


def _problem(response: Any) -> dict[str, Any]:
    media = response.headers.get("content-type", [""])
    media = media[0] if isinstance(media, list) else media
    assert media.split(";")[0].strip() == "application/problem+json", (
        f"a {response.status_code} answered as {media!r}, not application/problem+json"
    )
    body = json.loads(response.content)
    assert isinstance(body, dict), body
    missing = {"type", "title", "status", "detail"} - set(body)
    assert not missing, f"a problem without {sorted(missing)}: {body}"
    assert body["status"] == response.status_code, body
    return body


@schemathesis.check
def errors_are_problems(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx and 5xx is an RFC 9457 problem whose status is the answer's."""
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return None
    SEEN["errors_are_problems"] += 1
    _problem(response)
    return True


@schemathesis.check
def bodies_without_content_type_are_415(ctx: Any, response: Any, case: Any) -> bool | None:
    body, media = _request_body(response)
    if body is None or media:
        return None
    SEEN["bodies_without_content_type_are_415"] += 1
    assert response.status_code in BEFORE_THE_BODY, (
        f"a body sent without Content-Type was answered {response.status_code}, not 415: "
        f"{body[:300]!r}"
    )
    _problem(response)
    return True


@schemathesis.check
def lone_surrogates_are_422_with_a_pointer(ctx: Any, response: Any, case: Any) -> bool | None:
    body, media = _request_body(response)
    if body is None or not media:
        return None  # without a Content-Type the body is not read (the check above)
    try:
        sent = json.loads(body)
    except ValueError:
        return None
    where = list(_lone_surrogates(sent))
    if not where:
        return None
    SEEN["lone_surrogates_are_422_with_a_pointer"] += 1
    status = response.status_code
    assert status == 422 or status in BEFORE_THE_BODY, (
        f"text with a lone surrogate at {[p for p, _ in where]} was answered {status}, not 422"
    )
    if status != 422:
        return True
    problem = _problem(response)
    pointers = [e.get("pointer", "") for e in problem.get("errors") or []]
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    if not negative:  # a body invalid in other ways may be refused for those first
        assert any(_names(p, w, k) for p in pointers for w, k in where), (
            f"no error names the field of the lone surrogate at {[p for p, _ in where]}: {pointers}"
        )
    return True


CHECKED = [
    errors_are_problems.__name__,
    bodies_without_content_type_are_415.__name__,
    lone_surrogates_are_422_with_a_pointer.__name__,
]
