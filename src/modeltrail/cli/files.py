"""``modeltrail gc``: remove the files no artifact holds any more."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from modeltrail.cli.common import app, console, one_line_errors, plural, print_json
from modeltrail.cli.server import ArtifactsRoot, DatabaseUrl, file_service, open_store
from modeltrail.services.file_collection import collect_garbage
from modeltrail.store.database import DEFAULT_URL


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
