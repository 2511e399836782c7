"""Write the server's OpenAPI document to web/openapi.json without running a server, and the
entity registry to web/src/api/entities.ts.

The TypeScript client (src/api/schema.d.ts) is generated from openapi.json, and the UI's entity
routes from entities.ts; a test compares both with a fresh dump so that a change to the API or
to the registry without a regenerated client fails CI.
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


def entities_module() -> str:
    """The registry's entities (``modeltrail.domain.entities``) as a TypeScript module."""
    from modeltrail.domain.entities import ENTITIES

    entities = [
        {"name": e.name, "plural": e.plural, "browsed": e.browsed} for e in ENTITIES.values()
    ]
    browsed = [e.plural for e in ENTITIES.values() if e.browsed]
    return (
        "// The entity registry (modeltrail.domain.entities), written by `npm run openapi`: "
        "do not edit.\n"
        f"export const ENTITIES = {json.dumps(entities, indent=2)} as const;\n"
        "// The entities the UI has a table of, by plural: its routes /<plural> and its menu.\n"
        f"export const BROWSED = {json.dumps(browsed)} as const;\n"
        "export type EntityName = (typeof BROWSED)[number];\n"
    )


if __name__ == "__main__":
    for target, text in (
        (WEB / "openapi.json", openapi_document()),
        (WEB / "src" / "api" / "entities.ts", entities_module()),
    ):
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target.relative_to(WEB.parent)}")
