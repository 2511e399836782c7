"""``modeltrail search TEXT``: find entities of every type by the words they hold."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from modeltrail.cli.common import (
    JsonOption,
    UrlOption,
    WideOption,
    app,
    connect,
    console,
    one_line_errors,
    print_json,
    short_id,
)
from modeltrail.domain import search as d

API = "/api/v1"


@app.command("search")
def search(
    text: Annotated[str, typer.Argument(help="the words to look for, or an id's beginning")],
    types: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            "-t",
            help="only entities of this type (again for more): " + ", ".join(d.TYPES),
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int,
        typer.Option("--limit", "-n", min=1, max=d.MAX_LIMIT, help="at most this many entities"),
    ] = d.DEFAULT_LIMIT,
    url: UrlOption = None,
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """Experiments, runs, steps, artifacts, executables, pipelines and registered models
    whose name, uri, description or annotation values hold words beginning with TEXT's
    words, the best matches first."""
    with one_line_errors():
        d.parse_text(text)  # refused here already: text that is not Unicode cannot be sent
    with connect(url) as conn:
        answer = conn.get(
            f"{API}/search", text=text, type=",".join(types) if types else None, limit=limit
        )
    if as_json:
        print_json(answer)
        return
    table = Table("type", "id", "name", "kind", "match", title=f"search: {text}")
    for hit in answer["items"]:
        table.add_row(
            hit["type"],
            short_id(hit["id"]),
            hit["name"] or "",
            hit.get("kind") or "",
            hit["snippet"],
        )
    console.print(table)
    if not answer["items"]:
        console.print("nothing matches")
