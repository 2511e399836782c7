"""Secrets as they may be shown: masked.

A webhook URL carries its credential in its path or query (``https://hooks.slack.com/services/
T0/B0/XXXX``), a tracking URI may carry one as user info, a token is one. None of them is ever
shown whole after it was configured: an answer, a log line, the UI and an export show
``https://hooks.slack.com/***`` (scheme and host: enough to tell targets apart) or
``****abcd`` (the last four characters of a long token). A stored record that must find its
target again keeps ``digest(url)`` instead of the URL.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

MASK = "***"
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_TRAILING = ".,:;!?)]}"


def mask_url(url: str) -> str:
    """``url`` with its scheme and host kept and everything else (user info, path, query,
    fragment) replaced by ``***``; text that is no URL is masked as a token."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return mask_token(url)
    if not parts.scheme or not host:
        return mask_token(url)
    shown = f"{parts.scheme}://{host}{port}"
    rest = parts.path not in ("", "/") or parts.query or parts.fragment
    if parts.username is not None or parts.password is not None or rest:
        return f"{shown}/{MASK}"
    return shown


def mask_token(token: str) -> str:
    """``****`` and the last four characters of a token long enough to keep them secret."""
    return "****" + token[-4:] if len(token) >= 16 else "****"


def mask_urls_in(text: str) -> str:
    """``text`` (an error message, a log line) with every URL in it masked.

    Punctuation that ends a URL is taken to end the sentence around it, as linkifiers do, and
    is kept after the mask: ``failed (https://h/x?k=1).`` keeps its ``).``.
    """

    def masked(match: re.Match[str]) -> str:
        url = match.group()
        end = len(url.rstrip(_TRAILING))
        return mask_url(url[:end]) + url[end:]

    return _URL.sub(masked, text)


def digest(url: str) -> str:
    """A short stable name of a URL that does not reveal it: how a stored record refers to
    the target it is for."""
    return "sha256:" + hashlib.sha256(url.encode()).hexdigest()[:16] if url else ""


def scrub_notification(row: dict[str, Any]) -> dict[str, Any]:
    """A row of the notifications table as it may leave the store (an export) or enter it (an
    import): its target masked and its once-only key ending in the target's digest. Rows
    written before targets were masked hold the whole URL in both."""
    target = str(row.get("target") or "")
    if "://" not in target or MASK in target:
        out = dict(row)
        if out.get("last_error"):
            out["last_error"] = mask_urls_in(str(out["last_error"]))
        return out
    key = str(row.get("key") or "")
    # The key was ``f"{key}|{url}"`` cut at 512 characters: find where the URL began.
    for i, char in enumerate(key):
        if char == "|" and ("|" + target).startswith(key[i:]):
            key = f"{key[:i]}|{digest(target)}"
            break
    out = {**row, "key": key, "target": mask_url(target)}
    if out.get("last_error"):
        out["last_error"] = mask_urls_in(str(out["last_error"]))
    return out
