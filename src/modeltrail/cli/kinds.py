"""``modeltrail kinds register|list|show|delete``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from modeltrail.cli.common import (
    JsonOption,
    UrlOption,
    app,
    connect,
    console,
    err_console,
    print_json,
)

kinds = typer.Typer(help="Register and inspect artifact kinds.", no_args_is_help=True)
app.add_typer(kinds, name="kinds", rich_help_panel="Store")


@kinds.command("register")
def register(
    file: Annotated[
        Path,
        typer.Argument(help="JSON file: {name, description, schema}", exists=True, dir_okay=False),
    ],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a kind, or a new compatible version of it. No restart needed."""
    try:
        body = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        err_console.print(f"[red]error:[/red] {file} is not JSON: {exc}")
        raise typer.Exit(1) from None
    with connect(url, write=True) as conn:
        kind = conn.post("/api/v1/kinds", body)
    if as_json:
        print_json(kind)
    else:
        console.print(f"kind [bold]{kind['name']}[/bold] version {kind['version']} registered")


@kinds.command("list")
def list_(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """List the registered kinds (latest versions)."""
    with connect(url) as conn:
        items = conn.get("/api/v1/kinds")
    if as_json:
        print_json(items)
        return
    table = Table("name", "version", "open", "attributes", "description", title="kinds")
    for k in items:
        attrs = ", ".join(k["schema"].get("properties", {}))
        table.add_row(
            k["name"], str(k["version"]), "yes" if k["open"] else "", attrs, k["description"]
        )
    console.print(table)


@kinds.command("show")
def show(name: str, url: UrlOption = None) -> None:
    """Print a kind with its JSON Schema."""
    with connect(url) as conn:
        print_json(conn.get(f"/api/v1/kinds/{name}"))


@kinds.command("delete")
def delete(
    name: Annotated[str, typer.Argument(help="the kind's name")],
    version: Annotated[int, typer.Option("--version", help="the version to delete")],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a version of a kind that no artifact uses (refused otherwise)."""
    with connect(url, write=True) as conn:
        conn.delete(f"/api/v1/kinds/{name}/versions/{version}")
    if as_json:
        print_json({"deleted": "kind", "name": name, "version": version})
        return
    console.print(f"deleted kind {name} version {version}", highlight=False)
