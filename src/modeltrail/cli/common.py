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

from modeltrail.domain.registry import ModelRef
from modeltrail.errors import ModeltrailError, NotFound, Unauthorized
from modeltrail.sdk.connection import Connection

app = typer.Typer(
    name="modeltrail",
    help="Metadata and lineage of the whole life of machine-learning models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# Piped or redirected, output is for a program or a file: tables take the width they need, so
# that no id is cut or folded (a terminal's width applies only on a terminal, or not with --wide).
UNLIMITED = 100_000
console = Console(width=None if sys.stdout.isatty() else UNLIMITED)
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


def _go_wide(value: bool) -> bool:
    if value:
        console.width = UNLIMITED
    return value


WideOption = Annotated[
    bool,
    typer.Option("--wide", "-w", help="Show ids whole, however wide the table.", callback=_go_wide),
]


def is_wide() -> bool:
    """Whether ids are shown whole: with --wide, or when the output is not a terminal."""
    return console.width >= UNLIMITED


def short_id(value: Any) -> str:
    """An id as a terminal shows it (its first 8 characters), whole where output is wide."""
    return str(value) if is_wide() else str(value)[:8]


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
        # A 403 is a token without the role, which its sentence names: no token hint there.
        if isinstance(exc, Unauthorized):
            err_console.print(
                "  the server wants an API token: set MODELTRAIL_TOKEN to one "
                "(`modeltrail tokens create` makes one)",
                highlight=False,
            )
        for e in exc.errors[:20]:
            err_console.print(f"  {e.get('pointer', '')}: {e.get('detail', '')}", highlight=False)
        raise typer.Exit(code) from None


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 run``, ``2 runs``; ``words`` where adding an s is wrong."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


ExperimentOption = Annotated[
    str | None,
    typer.Option(
        "--experiment",
        "-e",
        help="Look the name up within this experiment (id or name).",
        show_default=False,
    ),
]


def registered(conn: Connection, ref: str) -> dict[str, Any] | None:
    """The model version ``ref`` names when it is a model reference: ``models:/NAME@ALIAS``,
    ``models:/NAME/3``, ``models:/NAME``, or without ``models:/`` a registered model's
    ``NAME@ALIAS`` or ``NAME/3``; None when it is none of these."""
    if ModelRef.is_reference(ref):
        return conn.get("/api/v1/models/resolve", uri=ref)  # type: ignore[no-any-return]
    try:
        parsed = ModelRef.parse(ref, bare=True)
    except ModeltrailError:
        return None
    if parsed.alias is None and parsed.version is None:
        return None  # a plain name: an artifact's
    try:
        return conn.get("/api/v1/models/resolve", uri=str(parsed))  # type: ignore[no-any-return]
    except NotFound as exc:
        if exc.extra.get("entity") == "model":
            return None  # no such model: the text is an artifact's name
        raise


def resolve(conn: Connection, plural: str, ref: str, *, experiment: str | None = None) -> str:
    """An id as given, or the id of the one entity with that name. An artifact's name means
    its newest artifact of that name (within ``experiment`` if given); when there are others,
    a note on stderr says which one was taken and how many others there are. An artifact may
    also be named as a registered model's version (``models:/NAME@ALIAS``, ``NAME@ALIAS``,
    ``models:/NAME/3``)."""
    try:
        return str(uuid.UUID(ref))
    except ValueError:
        pass
    if plural == "artifacts" and (version := registered(conn, ref)) is not None:
        return str(version["artifact"]["id"])
    filters = [f"name:eq:{ref}"]
    if experiment and plural in ("runs", "executions", "artifacts"):
        filters.append(f"experiment:eq:{experiment}")
    page = conn.get(f"/api/v1/{plural}", filter=filters, limit=2, sort="-createTime", count=True)
    items = page["items"]
    where = f" in experiment '{experiment}'" if experiment else ""
    if not items:
        raise _cli_error(f"no {plural[:-1]} is named '{ref}'{where}")
    if len(items) > 1 and plural != "artifacts":
        raise _cli_error(f"more than one {plural[:-1]} is named '{ref}'{where}; give an id")
    # Artifacts are versioned by name: a name means its newest one.
    taken = items[0]
    others = (page.get("total") or len(items)) - 1
    if others:
        hint = "give an id" if experiment else "give --experiment or an id"
        err_console.print(
            f"note: '{ref}'{where} is {taken['id']} (version {taken.get('version')}, "
            f"{str(taken.get('createTime', ''))[:19]}), the newest of "
            f"{others + 1} artifacts of that name; {hint} for another",
            highlight=False,
        )
    return str(taken["id"])


def _cli_error(message: str) -> ModeltrailError:
    return NotFound(message)
