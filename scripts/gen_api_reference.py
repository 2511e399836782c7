"""Write docs/reference/api.md from the server's OpenAPI document.

python scripts/gen_api_reference.py          # rewrite the page
python scripts/gen_api_reference.py --check  # exit 1 if the page is stale
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "reference" / "api.md"
sys.path.insert(0, str(ROOT / "src"))


def openapi() -> dict[str, Any]:
    from modeltrail.server.app import create_app
    from modeltrail.services.metadata import Metadata

    with tempfile.TemporaryDirectory() as tmp:
        meta = Metadata.open(f"sqlite:///{tmp}/openapi.db")
        try:
            return create_app(meta).openapi()
        finally:
            meta.close()


def _schema_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return "`" + schema["$ref"].rsplit("/", 1)[-1] + "`"
    if schema.get("type") == "array":
        return "list of " + _schema_name(schema.get("items", {}))
    if "anyOf" in schema:
        return " or ".join(_schema_name(s) for s in schema["anyOf"])
    return schema.get("type", "object")


def render(spec: dict[str, Any]) -> str:
    lines = [
        "# API reference",
        "",
        "Generated from the server's OpenAPI document by `scripts/gen_api_reference.py`; do not",
        "edit by hand. A running server serves the same document at `/openapi.json` and an",
        "interactive version at `/docs`. Conventions (filters, paging, errors) are in",
        "[../api.md](../api.md).",
        "",
    ]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            tag = (op.get("tags") or ["Other"])[0]
            by_tag.setdefault(tag, []).append((method.upper(), path, op))
    for tag in sorted(by_tag):
        lines += [f"## {tag}", ""]
        for method, path, op in by_tag[tag]:
            lines += [
                f"### `{method} {path}`",
                "",
                f"`{op.get('operationId')}` — {op.get('summary', '')}",
                "",
            ]
            if op.get("description"):
                lines += [op["description"].strip(), ""]
            params = op.get("parameters", [])
            if params:
                lines += [
                    "| parameter | in | type | required | description |",
                    "|---|---|---|---|---|",
                ]
                for p in params:
                    desc = (
                        p.get("description") or p.get("schema", {}).get("description") or ""
                    ).replace("\n", " ")
                    lines.append(
                        f"| `{p['name']}` | {p['in']} | {_schema_name(p.get('schema', {}))} | "
                        f"{'yes' if p.get('required') else 'no'} | {desc} |"
                    )
                lines.append("")
            body = op.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                lines += [f"Request body ({media}): {_schema_name(content.get('schema', {}))}", ""]
            responses = op.get("responses", {})
            if responses:
                lines.append(
                    "Responses: "
                    + ", ".join(
                        f"{code} {r.get('description', '')}".strip()
                        for code, r in responses.items()
                    )
                )
                lines.append("")
    lines += ["## Schemas", ""]
    for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items()):
        lines += [f"### `{name}`", ""]
        if schema.get("description"):
            lines += [schema["description"].strip(), ""]
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        if props:
            lines += ["| field | type | required |", "|---|---|---|"]
            for field, sub in props.items():
                lines.append(
                    f"| `{field}` | {_schema_name(sub)} | {'yes' if field in required else 'no'} |"
                )
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    text = render(openapi())
    if "--check" in sys.argv:
        if not PAGE.exists() or PAGE.read_text() != text:
            print(f"{PAGE.relative_to(ROOT)} is stale: run python scripts/gen_api_reference.py")
            return 1
        return 0
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(text)
    print(f"wrote {PAGE.relative_to(ROOT)}: {len(text.splitlines())} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
