"""Record which web sources the committed bundle was built from.

Writes src/modeltrail/ui/build-stamp.json with a hash over every input of the build; the
freshness test recomputes it, so that an edit to web/ without a rebuild fails CI even where
Node is not installed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

WEB = Path(__file__).resolve().parents[1]
OUT = WEB.parent / "src" / "modeltrail" / "ui"
INPUTS = [
    "index.html",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "vite.config.ts",
    "openapi.json",
    "src",
    "public",
]


def source_hash() -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        path = WEB / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if not file.exists():
                continue
            digest.update(file.relative_to(WEB).as_posix().encode() + b"\0")
            digest.update(file.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


if __name__ == "__main__":
    (OUT / "build-stamp.json").write_text(json.dumps({"sources": source_hash()}, indent=2) + "\n")
    print(f"stamped {OUT.relative_to(WEB.parent)}/build-stamp.json")
