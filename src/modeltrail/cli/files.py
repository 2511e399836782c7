"""``modeltrail artifacts files list|put|get``: an artifact's files; ``modeltrail gc``: remove
the files no artifact holds any more.

Transfers stream from and to disk through the SDK (never a whole file in memory), with a
progress bar on stderr when they are large and stderr is a terminal, so that the output of
``--json`` stays one JSON document.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from modeltrail.cli.common import (
    ExperimentOption,
    JsonOption,
    UrlOption,
    WideOption,
    app,
    connect,
    console,
    err_console,
    one_line_errors,
    plural,
    print_json,
    resolve,
    short_id,
)
from modeltrail.cli.entities import GROUPS
from modeltrail.cli.server import ArtifactsRoot, DatabaseUrl, file_service, open_store
from modeltrail.sdk import files as transfers
from modeltrail.sdk.progress import byte_progress
from modeltrail.services.file_collection import collect_garbage
from modeltrail.store.database import DEFAULT_URL

# Transfers of at least this many bytes show a progress bar (on a terminal).
PROGRESS_FROM = 8 << 20

files = typer.Typer(
    help="List, upload and download an artifact's files (stored by sha256 on the server's "
    "file store, see docs/files.md).",
    no_args_is_help=True,
)
GROUPS["artifacts"].add_typer(files, name="files")

ArtifactArgument = Annotated[
    str,
    typer.Argument(
        help="the artifact: an id, a name (its newest artifact), or a model version "
        "(models:/NAME@ALIAS, models:/NAME/3)",
        show_default=False,
    ),
]


def _progress(total: int, what: str) -> AbstractContextManager[transfers.Progress | None]:
    """A progress bar on stderr for ``total`` bytes, told of each as it goes; None (no bar)
    for a small transfer or where stderr is not a terminal."""
    if total < PROGRESS_FROM:
        return nullcontext(None)
    return byte_progress(total, what, console=err_console, only_on_terminal=True)


@files.command("list")
def list_files(
    artifact: ArtifactArgument,
    folder: Annotated[
        str | None,
        typer.Argument(help="only the files in this folder of the artifact", show_default=False),
    ] = None,
    verify: Annotated[
        bool,
        typer.Option("--verify", help="Also check that each file's content is in the file store."),
    ] = False,
    experiment: ExperimentOption = None,
    url: UrlOption = None,
    wide: WideOption = False,
    as_json: JsonOption = False,
) -> None:
    """List an artifact's files with their sizes and sha256."""
    with connect(url) as conn:
        artifact_id = resolve(conn, "artifacts", artifact, experiment=experiment)
        listing = transfers.list_files(conn, artifact_id, prefix=folder, verify=verify)
    if as_json:
        print_json(listing)
        return
    missing = set(listing.get("missing") or [])
    items = listing["items"]
    table = Table("path", "size", "sha256", "created")
    for item in items:
        table.add_row(
            item["path"] + (" [red](content missing)[/red]" if item["path"] in missing else ""),
            f"{item['size']:,}",
            item["sha256"] if wide else item["sha256"][:12],
            str(item["createTime"])[:19],
        )
    console.print(table)
    console.print(
        f"{plural(len(items), 'file')}, {listing['totalSize']:,} bytes, in artifact "
        f"{short_id(artifact_id)}",
        highlight=False,
    )


@files.command("put")
def put_files(
    artifact: ArtifactArgument,
    source: Annotated[
        Path, typer.Argument(help="a file, or a folder whose files are all uploaded")
    ],
    path: Annotated[
        str | None,
        typer.Argument(
            help="where in the artifact: the file's path (default: its name); for a folder, "
            "the folder its files go in (default: the artifact's top)",
            show_default=False,
        ),
    ] = None,
    experiment: ExperimentOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Upload a file or a folder's files to an artifact, each checked against its sha256 on
    the way. A file already at a path is replaced. Large files go in parts that are sent
    again if they fail."""
    try:
        found = transfers.files_of(source)
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="SOURCE") from None
    if source.is_file():
        wanted = {path or source.name: source}
    else:
        folder = (path or "").strip("/")
        wanted = {f"{folder}/{name}" if folder else name: f for name, f in found.items()}
    total = sum(f.stat().st_size for f in wanted.values())
    stored = []
    with connect(url, write=True) as conn:
        artifact_id = resolve(conn, "artifacts", artifact, experiment=experiment)
        with _progress(total, f"uploading {plural(len(wanted), 'file')}") as advance:
            for name, file in wanted.items():
                stored.append(transfers.upload(conn, artifact_id, name, file, progress=advance))
    if as_json:
        print_json({"artifact": artifact_id, "items": stored})
        return
    for item in stored:
        console.print(
            f"uploaded {item['path']} ({item['size']:,} bytes, sha256 {item['sha256'][:12]}) "
            f"to artifact {artifact_id}",
            highlight=False,
        )


@files.command("get")
def get_files(
    artifact: ArtifactArgument,
    path: Annotated[
        str | None,
        typer.Argument(help="the one file to download (default: all of them)", show_default=False),
    ] = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="the folder to download into; each file keeps its path in the artifact",
        ),
    ] = Path("."),
    experiment: ExperimentOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Download an artifact's files (or one of them) into a folder, each checked against its
    sha256 and put in place only when whole. A file already there with the same content is
    not downloaded again."""
    with connect(url) as conn:
        artifact_id = resolve(conn, "artifacts", artifact, experiment=experiment)
        listed = transfers.list_files(conn, artifact_id)["items"]
        chosen = [f for f in listed if path is None or f["path"] == path]
        total = sum(int(f["size"]) for f in chosen)
        with _progress(total, f"downloading {plural(len(chosen), 'file')}") as advance:
            transfers.download(conn, artifact_id, output, path=path, progress=advance)
    written = [{**f, "file": str(output / f["path"])} for f in chosen]
    if as_json:
        print_json({"artifact": artifact_id, "items": written})
        return
    for item in written:
        console.print(f"{item['file']} ({item['size']:,} bytes)", highlight=False)


@app.command()
def gc(
    database_url: DatabaseUrl = DEFAULT_URL,
    artifacts_root: ArtifactsRoot = None,
    delete: Annotated[
        bool,
        typer.Option("--delete", help="Remove what is found (without it, only say what would go)."),
    ] = False,
    older_than: Annotated[
        float,
        typer.Option(
            "--older-than",
            min=0,
            help="Hours: content younger than this is kept (an upload may be recording it).",
        ),
    ] = 1.0,
    uploads_older_than: Annotated[
        float,
        typer.Option(
            "--uploads-older-than",
            min=0,
            help="Hours: uploads started this long ago and never completed are abandoned; "
            "they are aborted and their parts removed.",
        ),
    ] = 24.0,
    json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Find files no artifact holds any more and, with --delete, remove them.

    Deleted artifacts, replaced files and abandoned uploads leave such files behind. Uploads
    started and never completed are aborted once older than --uploads-older-than. Content
    an artifact still holds is never removed.
    """
    meta = open_store(
        database_url,
        create=False,
        files=lambda: file_service(database_url, artifacts_root, None),
    )
    try:
        with one_line_errors(2):
            found = collect_garbage(
                meta.files,
                meta,
                dry_run=not delete,
                grace=timedelta(hours=older_than),
                uploads_older_than=timedelta(hours=uploads_older_than),
            )
    finally:
        meta.close()
    if json:
        print_json(
            {
                "dryRun": found.dry_run,
                "blobs": [{"sha256": s, "size": n} for s, n in found.blobs],
                "bytes": found.bytes,
                "leftovers": found.leftovers,
                "abandonedUploads": found.abandoned,
                "kept": found.kept,
            }
        )
        return
    verb = "would remove" if found.dry_run else "removed"
    console.print(
        f"{verb} {plural(len(found.blobs), 'file')} ({found.bytes:,} bytes) that no artifact "
        f"holds, {plural(len(found.abandoned), 'abandoned upload')} and "
        f"{plural(len(found.leftovers), 'upload leftover')}; kept {plural(found.kept, 'file')}",
        highlight=False,
    )
    if found.dry_run and (found.blobs or found.leftovers or found.abandoned):
        console.print("run again with --delete to remove them", highlight=False)
