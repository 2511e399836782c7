"""Files and directories: size and a sha256 of the content, read in chunks.

Gigabyte files are hashed without loading them; a progress bar shows on a terminal for large
ones. Hashes are cached by (absolute path, mtime, size) so a dataset that did not change is not
read again by the next step or the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from modeltrail.sdk.progress import byte_progress

CHUNK = 1 << 20
PROGRESS_THRESHOLD = 64 << 20  # show a progress bar from 64 MiB on


def cache_path() -> Path:
    return Path(os.environ.get("MODELTRAIL_HASH_CACHE") or Path(".modeltrail") / "hashes.json")


def _load_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_cache(path: Path, data: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)


def hash_file(
    path: str | os.PathLike[str], *, progress: bool | None = None, use_cache: bool = True
) -> str:
    """sha256 of a file's bytes, streamed; cached by path, mtime and size."""
    p = Path(path).resolve()
    st = p.stat()
    key = f"{p}|{st.st_mtime_ns}|{st.st_size}"
    store = cache_path()
    cache = _load_cache(store) if use_cache else {}
    if key in cache:
        return str(cache[key])
    digest = hashlib.sha256()
    show = st.st_size >= PROGRESS_THRESHOLD if progress is None else progress
    bar = byte_progress(st.st_size, f"hashing {p.name}") if show else contextlib.nullcontext()
    with open(p, "rb") as f, bar as advance:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            if advance is not None:
                advance(len(chunk))
    value = digest.hexdigest()
    if use_cache:
        cache = _load_cache(store)  # another process may have written meanwhile
        cache = {k: v for k, v in cache.items() if not k.startswith(f"{p}|")}
        cache[key] = value
        _save_cache(store, cache)
    return value


def describe_path(path: str | os.PathLike[str], *, progress: bool | None = None) -> dict[str, Any]:
    """Attributes of a file or a directory tree: type, size, sha256, format, files."""
    p = Path(path)
    if p.is_file():
        return {
            "type": "File",
            "size": p.stat().st_size,
            "sha256": hash_file(p, progress=progress),
            "format": p.suffix.lstrip(".").lower() or None,
        }
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file())
        digest = hashlib.sha256()
        size = 0
        for f in files:
            rel = f.relative_to(p).as_posix()
            digest.update(rel.encode() + b"\0" + hash_file(f, progress=progress).encode() + b"\n")
            size += f.stat().st_size
        return {
            "type": "Directory",
            "size": size,
            "sha256": digest.hexdigest(),
            "files": len(files),
        }
    return {"type": "Missing"}
