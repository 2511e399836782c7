"""Write the server's OpenAPI document to web/openapi.json without running a server.

The TypeScript client (src/api/schema.d.ts) is generated from this file; a test compares it
with a fresh dump so that a change to the API without a regenerated client fails CI.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

WEB = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(WEB.parent / "src"))


def openapi_document() -> str:
    from modeltrail.server.app import create_app
    from modeltrail.services.metadata import Metadata

    with tempfile.TemporaryDirectory() as tmp:
        metadata = Metadata.open(f"sqlite:///{Path(tmp) / 'openapi.db'}")
        try:
            document = create_app(metadata).openapi()
        finally:
            metadata.close()
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    target = WEB / "openapi.json"
    target.write_text(openapi_document(), encoding="utf-8")
    print(f"wrote {target.relative_to(WEB.parent)}")
