"""The code that ran: script or function, the hash of its source, and its git state."""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

_SDK_DIR = str(Path(__file__).resolve().parents[2])  # .../modeltrail


@dataclass(frozen=True)
class CodeInfo:
    """An executable as the store keeps it: name, version (source hash), uri, annotations."""

    name: str
    version: str
    uri: str | None
    annotations: dict[str, str] = field(default_factory=dict)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=64)
def git_info(directory: str) -> dict[str, str]:
    """Repository url, commit and dirty flag of the git tree holding ``directory`` ({} if none)."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", directory, *args],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if top is None:
        return {}
    info = {"git.root": top}
    commit = git("rev-parse", "HEAD")
    if commit:
        info["git.commit"] = commit
    url = git("remote", "get-url", "origin")
    if url:
        info["git.url"] = url
    status = git("status", "--porcelain", "--untracked-files=no")
    if status is not None:
        info["git.dirty"] = "true" if status else "false"
    return info


def command_line() -> str:
    return " ".join([Path(sys.executable).name, *sys.argv])[:4096]


def _uri(path: Path, git: dict[str, str]) -> str:
    root = git.get("git.root")
    if root:
        try:
            return path.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            pass
    return path.resolve().as_uri()


def _describe(name: str, qualname: str, path: Path | None, source: str | None) -> CodeInfo:
    digest = sha256_text(source) if source is not None else None
    annotations = {"qualname": qualname}
    uri = None
    if path is not None:
        git = git_info(str(path.resolve().parent))
        uri = _uri(path, git)
        annotations["path"] = str(path.resolve())
        annotations.update({k: v for k, v in git.items() if k != "git.root"})
    if digest:
        annotations["sha256"] = digest
    return CodeInfo(
        name=name, version=digest[:12] if digest else "1", uri=uri, annotations=annotations
    )


def caller_frame() -> FrameType | None:
    """The first frame outside modeltrail: the user's code that opened the step."""
    frame = inspect.currentframe()
    while frame is not None and frame.f_code.co_filename.startswith(_SDK_DIR):
        frame = frame.f_back
    return frame


def of_script(step: str, frame: FrameType | None = None) -> CodeInfo:
    """The script (or notebook cell) a ``with run.step(...)`` block is written in."""
    frame = frame or caller_frame()
    filename = frame.f_code.co_filename if frame else "<unknown>"
    module = frame.f_globals.get("__name__", "__main__") if frame else "__main__"
    path = Path(filename)
    source = None
    if path.is_file():
        try:
            source = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            source = None
        if module == "__main__":
            module = path.stem
    else:
        path = None  # type: ignore[assignment]
    qualname = f"{module}:{step}"
    return _describe(qualname, qualname, path, source)


def of_function(fn: Any) -> CodeInfo:
    """A decorated function: its module-qualified name and the hash of its own source."""
    fn = inspect.unwrap(fn)
    module = getattr(fn, "__module__", None) or "__main__"
    try:
        filename = inspect.getsourcefile(fn)
    except TypeError:
        filename = None
    if module == "__main__" and filename:
        module = Path(filename).stem
    qualname = f"{module}.{getattr(fn, '__qualname__', getattr(fn, '__name__', 'function'))}"
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        source = None
    path = Path(filename) if filename and os.path.isfile(filename) else None
    return _describe(qualname, qualname, path, source)
