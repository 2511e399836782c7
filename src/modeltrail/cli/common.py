"""What every command shares: the app, ``--url``, ``--json``, name resolution, output."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console

from modeltrail.errors import ModeltrailError
from modeltrail.sdk.connection import Connection

app = typer.Typer(
    name="modeltrail",
    help="Metadata and lineage of the whole life of machine-learning models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = Console()
# An error is one line however narrow the terminal: a script can grep it, a user copy it.
err_console = Console(stderr=True, soft_wrap=True)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="MODELTRAIL_URL",
        help="A server (http://...) or a database (sqlite:///file.db, postgresql+psycopg://...) "
        "opened in-process. Default: sqlite:///modeltrail.db in the working directory.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


@contextmanager
def connect(url: str | None, *, write: bool = False) -> Iterator[Connection]:
    """A connection whose errors become a one-line message and exit code 1. A command that
    only reads does not create a store where there is none."""
    with one_line_errors(), Connection(url, create=write) as conn:
        yield conn


@contextmanager
def one_line_errors(code: int = 1) -> Iterator[None]:
    """Our errors as a sentence on stderr and exit ``code``, never a traceback."""
    try:
        yield
    except ModeltrailError as exc:
        err_console.print(f"[red]error:[/red] {exc.detail}", highlight=False)
        for e in exc.errors[:20]:
            err_console.print(f"  {e.get('pointer', '')}: {e.get('detail', '')}", highlight=False)
        raise typer.Exit(code) from None


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def resolve(conn: Connection, plural: str, ref: str) -> str:
    """An id as given, or the id of the one entity with that name."""
    try:
        return str(uuid.UUID(ref))
    except ValueError:
        pass
    page = conn.get(f"/api/v1/{plural}", filter=f"name:eq:{ref}", limit=2, sort="-createTime")
    items = page["items"]
    if not items:
        raise _cli_error(f"no {plural[:-1]} is named '{ref}'")
    if len(items) > 1 and plural != "artifacts":
        raise _cli_error(f"more than one {plural[:-1]} is named '{ref}'; give an id")
    # Artifacts are versioned by name: a name means its latest version.
    return str(items[0]["id"])


def _cli_error(message: str) -> ModeltrailError:
    from modeltrail.errors import NotFound

    return NotFound(message)
