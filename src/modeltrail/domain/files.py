"""Files of an artifact: their paths, what is declared about them, and byte ranges.

An artifact holds a directory of files, each named by a relative path (``model.joblib``,
``weights/layer1.pt``). The content is stored once per sha256, whoever logs it; what maps an
artifact's path to its content is metadata. Nothing here reads or writes bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from modeltrail.domain.errors import InvalidInput, RangeNotSatisfiable
from modeltrail.domain.text import is_valid, shown

MAX_PATH = 1024
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Characters that change how the rest of a name is shown without being seen themselves: the
# bidirectional marks, embeddings, overrides and isolates (``evil\u202egnp.exe`` is listed as
# ``evilexe.png``), and the line and paragraph separators. Joiners (U+200C, U+200D) stay:
# scripts and emoji need them.
_DISGUISING = re.compile("[\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _invalid(detail: str, pointer: str) -> InvalidInput:
    return InvalidInput(detail, errors=[{"pointer": pointer, "detail": detail}])


def check_path(path: str, *, pointer: str = "/path") -> str:
    """``path`` as stored: relative, ``/``-separated, without ``.``/``..``/empty segments,
    NUL or control characters, at most ``MAX_PATH`` characters. Anything else is refused,
    never rewritten into something else, so that no path can reach outside its artifact."""
    if not path:
        raise _invalid("a file path is required", pointer)
    if len(path) > MAX_PATH:
        raise _invalid(
            f"a file path is at most {MAX_PATH} characters; this has {len(path)}", pointer
        )
    if not is_valid(path):
        raise _invalid(
            f"a file path is Unicode text; {shown(path)!r} holds a lone UTF-16 surrogate "
            "(bytes that are not UTF-8)",
            pointer,
        )
    if "\0" in path:
        raise _invalid("a file path may not hold a NUL character", pointer)
    # C0 and C1 controls and DEL: a line break in a name that is listed, logged or sent in
    # a header is never what was meant.
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in path):
        raise _invalid(f"a file path may not hold control characters: {path!r}", pointer)
    if found := _DISGUISING.search(path):
        raise _invalid(
            f"a file path may not hold U+{ord(found.group()):04X}, which changes how the rest "
            f"of the name is shown: {path!r}",
            pointer,
        )
    if "\\" in path:
        raise _invalid("a file path separates its folders with '/', not '\\'", pointer)
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise _invalid(f"a file path is relative to its artifact, not absolute: {path!r}", pointer)
    parts = path.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise _invalid(
                f"a file path may not hold an empty, '.' or '..' segment: {path!r}", pointer
            )
    return path


def check_sha256(value: str | None, *, pointer: str = "/sha256") -> str | None:
    """A declared sha256 as 64 lower-case hex digits (upper case is accepted and lowered)."""
    if value is None:
        return None
    lowered = value.strip().lower()
    if not SHA256.match(lowered):
        raise _invalid("a sha256 is 64 hexadecimal digits", pointer)
    return lowered


def check_prefix(prefix: str | None) -> str:
    """A folder to list: empty for the whole artifact, else a valid path (a trailing ``/`` is
    dropped)."""
    if not prefix:
        return ""
    return check_path(prefix.rstrip("/"), pointer="/prefix")


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class ArtifactFile(_Model):
    """One file of an artifact."""

    path: str
    size: int
    sha256: str
    create_time: datetime


class ArtifactFiles(_Model):
    items: list[ArtifactFile]
    total_size: int = Field(description="the sum of the listed files' sizes")
    missing: list[str] | None = Field(
        default=None,
        description="with verify: the paths whose content is gone from the file store",
    )


class UploadCreate(_Model):
    """A multipart upload of one file: its parts are sent one by one (and may be sent again
    after a failure), then the upload is completed into the file."""

    path: str = Field(max_length=MAX_PATH)
    sha256: str | None = Field(default=None, description="the whole file's sha256, if known")
    size: int | None = Field(default=None, ge=0, description="the whole file's size, if known")
    direct: bool = Field(
        default=False,
        description="hand out a presigned URL to upload to object storage directly "
        "(object storage only; needs sha256 and size)",
    )


class UploadPart(_Model):
    number: int
    size: int


class Upload(_Model):
    id: str
    path: str
    sha256: str | None = None
    size: int | None = None
    part_size: int = Field(description="the size every part but the last should have")
    parts: list[UploadPart] = []
    url: str | None = Field(default=None, description="a presigned PUT for a direct upload")
    expires_in: int | None = None


class Presigned(_Model):
    url: str
    method: str
    expires_in: int


@dataclass(frozen=True)
class ByteRange:
    """The bytes ``start`` to ``end`` inclusive of a file of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"


_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single range a ``Range`` header asks for; None for the whole file (no header, one
    that is not a single byte range: RFC 9110 lets a server ignore those). A range that starts
    past the end is ``RangeNotSatisfiable``."""
    if header is None:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        n = int(last)
        if n == 0:
            raise RangeNotSatisfiable(f"the range {header!r} asks for no bytes", size=size)
        return ByteRange(max(0, size - n), size - 1, size) if size else _unsatisfiable(header, size)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None  # invalid: ignored, as RFC 9110 says
    if start >= size:
        return _unsatisfiable(header, size)
    return ByteRange(start, end, size)


def _unsatisfiable(header: str, size: int) -> ByteRange:
    raise RangeNotSatisfiable(f"the range {header!r} is outside the file's {size} bytes", size=size)
