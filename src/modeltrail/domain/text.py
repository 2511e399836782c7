"""Text that is not Unicode: lone UTF-16 surrogates.

JSON can spell a code point that no Unicode text holds: ``"\\ud800"``, half of a surrogate
pair with no other half. Python decodes it into a ``str`` that cannot be encoded as UTF-8, so
it fails wherever the text is written (PostgreSQL, a fingerprint, an answer), and SQLite keeps
it as an escape that no later read can decode. Such text is refused where it comes in, with
the pointer of the field that holds it (``invalid_text``), and a store that already holds one
(written by a version before this check) is read with each lone surrogate replaced by U+FFFD,
the replacement character (``replace_invalid``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from modeltrail.domain.errors import InvalidInput, json_pointer

REPLACEMENT = "\ufffd"
# JSON escapes of a surrogate (a pair holds two; only a lone one is refused). Raw surrogate
# bytes are not UTF-8 and are refused when the text is decoded.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Errors named at most, so that a body of a million of them answers quickly.
MAX_REPORTED = 20


class InvalidText(InvalidInput):
    """Text holds a lone UTF-16 surrogate, which is not a Unicode character."""

    type_slug, title = "invalid-text", "Text is not valid Unicode"


def is_valid(text: str) -> bool:
    """Whether ``text`` is Unicode that UTF-8 can hold (no lone surrogate)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(text: str) -> str:
    """``text`` with each lone surrogate shown as U+FFFD: safe to print or to answer."""
    return _SURROGATE.sub(REPLACEMENT, text)


def _walk(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str, str]]:
    """(path, which, the text) for every string in ``value``: its keys and its values."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            yield where, "value", item
        elif isinstance(item, dict):
            for key, sub in reversed(list(item.items())):
                if isinstance(key, str):
                    yield (*where, key), "key", key
                stack.append((sub, (*where, key)))
        elif isinstance(item, (list, tuple)):
            for i in range(len(item) - 1, -1, -1):
                stack.append((item[i], (*where, i)))


def invalid_paths(value: Any, *path: Any) -> list[tuple[tuple[Any, ...], str]]:
    """The paths in ``value`` (keys and values, at any depth) of the text that holds a lone
    surrogate, each with a sentence saying so; ``path`` is where ``value`` itself is."""
    found: list[tuple[tuple[Any, ...], str]] = []
    for where, which, text in _walk(value, path):
        if is_valid(text):
            continue
        bad = _SURROGATE.search(text)
        code = f"\\u{ord(bad.group()):04x}" if bad else "?"
        found.append(
            (
                where,
                f"the {which if which == 'key' else 'text'} holds a lone UTF-16 surrogate "
                f"({code}), which is not a Unicode character",
            )
        )
        if len(found) >= MAX_REPORTED:
            break
    return found


def invalid_text(value: Any, *path: Any) -> list[dict[str, Any]]:
    """``invalid_paths`` as problem errors ``{"pointer", "detail"}``."""
    return [
        {"pointer": shown(json_pointer(*where)) or "/", "detail": detail}
        for where, detail in invalid_paths(value, *path)
    ]


def check_text(value: Any, *path: Any, what: str = "the input") -> None:
    """Raise ``InvalidText`` naming each field of ``value`` that is not valid Unicode."""
    errors = invalid_text(value, *path)
    if errors:
        fields = ", ".join(e["pointer"] for e in errors[:5])
        raise InvalidText(f"{what}: text that is not valid Unicode at {fields}", errors=errors)


def loads(raw: bytes | str, *, what: str = "the body") -> Any:
    """Parse JSON that must be UTF-8 and hold only Unicode text. Raises ``InvalidText`` with
    the pointer of each field that holds a lone surrogate, ``UnicodeDecodeError`` for bytes
    that are not UTF-8, and ``json.JSONDecodeError`` for what is not JSON."""
    text = raw.decode(json.detect_encoding(raw)) if isinstance(raw, bytes) else raw
    if text.startswith("\ufeff"):
        text = text[1:]
    value = json.loads(text)
    if _SURROGATE_ESCAPE.search(text):
        check_text(value, what=what)
    return value


def replace_invalid(value: Any) -> Any:
    """``value`` with every lone surrogate in its keys and texts replaced by U+FFFD."""
    if isinstance(value, str):
        return value if is_valid(value) else shown(value)
    if isinstance(value, dict):
        return {replace_invalid(k): replace_invalid(v) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_invalid(v) for v in value]
    return value
