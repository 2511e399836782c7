"""``modeltrail export`` and ``modeltrail import``: backups, moves between databases, PROV-JSON.

Both work on the database itself (like ``pg_dump``), not through a server: give a database URL
with ``--url``/``MODELTRAIL_URL`` (default: ``sqlite:///modeltrail.db`` here).

Why not through the API, as every other command goes: an export is one snapshot of every
table, read in one transaction for as long as the file takes to write, and an import is one
transaction of a whole file, however large, refused or stored as a whole. The API bounds what
one request may send and how long it may hold the store (every body is at most 16 MiB, checked
before it is read), and a snapshot or a transaction cannot span requests. So these, like
``server``, ``db`` and ``gc`` (which removes files where the file store keeps them), are the
administrator's commands, run where the database is reachable; ``export``, ``import`` and
``gc`` open it the same way (``cli.server.open_store``).
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from modeltrail.cli.common import UrlOption, app, console, err_console
from modeltrail.cli.server import open_store
from modeltrail.domain import text
from modeltrail.domain.filters import ListOptions, parse_filters
from modeltrail.errors import ModeltrailError
from modeltrail.sdk.connection import is_server_url, resolve_target
from modeltrail.services.metadata import Metadata
from modeltrail.store import portability
from modeltrail.store.database import current_revision


def _open(url: str | None, *, create: bool = True) -> Metadata:
    target = resolve_target(url)
    if is_server_url(target):
        err_console.print(
            "[red]error:[/red] export and import work on the database itself: give its "
            "URL (sqlite:///file.db or postgresql+psycopg://...), not a server's"
        )
        raise typer.Exit(2)
    return open_store(target, create=create)


def _experiment_id(meta: Metadata, ref: str) -> uuid.UUID:
    try:
        return uuid.UUID(ref)
    except ValueError:
        pass
    page = meta.list(
        "experiment", ListOptions(filters=tuple(parse_filters([f"name:eq:{ref}"])), limit=2)
    )
    if len(page.items) != 1:
        err_console.print(
            f"[red]error:[/red] {len(page.items) or 'no'} experiments are named '{ref}'; give an id"
        )
        raise typer.Exit(1)
    return uuid.UUID(str(page.items[0].id))


@app.command("export")
def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="file to write ('-' for stdout)")],
    experiment: Annotated[
        str | None, typer.Option(help="only this experiment (id or name)")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="ndjson (backup, re-importable) or prov-json")
    ] = "ndjson",
    url: UrlOption = None,
) -> None:
    """Export the whole store, or one experiment, as NDJSON (or W3C PROV-JSON)."""
    if fmt not in ("ndjson", "prov-json"):
        err_console.print("[red]error:[/red] --format is ndjson or prov-json")
        raise typer.Exit(2)
    meta = _open(url, create=False)
    try:
        exp = _experiment_id(meta, experiment) if experiment else None
        out = sys.stdout.buffer if str(output) == "-" else output.open("wb")
        try:
            if fmt == "prov-json":
                with meta.session("snapshot") as session:
                    doc = portability.prov_document(session, experiment=exp)
                out.write(json.dumps(doc, indent=2).encode() + b"\n")
            else:
                _export_ndjson(meta, exp, out)
        finally:
            if out is not sys.stdout.buffer:
                out.close()
    except ModeltrailError as exc:
        err_console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(1) from None
    finally:
        meta.close()
    if str(output) != "-":
        err_console.print(f"exported to {output}")


def _export_ndjson(meta: Metadata, exp: uuid.UUID | None, out: object) -> None:
    revision = current_revision(meta.db.engine)
    # One snapshot: the rows agree with each other (no output of a step written after its
    # execution was read), and the pipelines writing meanwhile are not held up.
    with meta.session("snapshot") as session:
        counts = portability.count_rows(session, experiment=exp)
        with Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        ) as progress:
            tasks = {name: progress.add_task(name, total=n) for name, n in counts.items()}
            for record in portability.export_records(
                session, experiment=exp, schema_revision=revision
            ):
                out.write(portability.dumps(record))  # type: ignore[attr-defined]
                if "table" in record:
                    progress.advance(tasks[record["table"]])


def import_file(file: Path, url: str | None) -> None:
    """Import an NDJSON export, all of it or nothing: one transaction, every row checked as
    the API checks what it is sent. Rows already stored with the same content are skipped,
    so an import can be repeated.

    Registered as ``modeltrail import FILE`` by ``cli/imports.py``."""
    meta = _open(url)
    size = file.stat().st_size
    try:
        with (
            file.open("rb") as fh,
            Progress(
                TextColumn("importing"),
                BarColumn(),
                DownloadColumn(),
                TimeElapsedColumn(),
                console=err_console,
            ) as progress,
        ):
            task = progress.add_task("import", total=size)
            header = portability.read_header(fh.readline())

            def lines() -> Iterator[bytes]:
                for line in fh:
                    progress.advance(task, len(line))
                    yield line

            # Not retried: a retry would read a stream already read. A refusal (or any
            # failure) rolls the whole file back.
            with meta.session() as session:
                stats = portability.import_records(session, lines())
            progress.update(task, completed=size)
        meta.db.analyze(name for name, s in stats.items() if s["inserted"])
    except ModeltrailError as exc:
        err_console.print(f"[red]error:[/red] {text.shown(exc.detail)}")
        for e in exc.errors[:20]:
            err_console.print(f"  {e.get('pointer', '')}: {e.get('detail', '')}")
        err_console.print(f"nothing was imported from {file}")
        raise typer.Exit(1) from None
    finally:
        meta.close()
    inserted = sum(s["inserted"] for s in stats.values())
    skipped = sum(s["skipped"] for s in stats.values())
    repeated = sum(s["repeated"] for s in stats.values())
    console.print(
        f"imported {inserted} rows ({skipped} already present"
        + (f", {repeated} repeated lines" if repeated else "")
        + f") from an export of schema {header.get('schemaRevision')}"
    )
