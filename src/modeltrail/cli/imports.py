"""``modeltrail import FILE`` (a backup), ``modeltrail import mlflow`` (a tracking server's
history) and ``modeltrail import mlmd`` (an ML Metadata store): one command, since all of them
bring metadata in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from modeltrail.cli.common import (
    JsonOption,
    UrlOption,
    app,
    connect,
    console,
    err_console,
    one_line_errors,
    plural,
    print_json,
)


@app.command("import")
def import_(
    source: Annotated[
        str,
        typer.Argument(
            help="An NDJSON export made by `modeltrail export`, the word `mlflow` to import "
            "from an MLflow tracking server (with --tracking-uri), or `mlmd` to import an ML "
            "Metadata store of Kubeflow Pipelines or TFX (with --mlmd-url)."
        ),
    ],
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            help="mlflow: the tracking server, e.g. http://mlflow:5000.",
            envvar="MLFLOW_TRACKING_URI",
        ),
    ] = None,
    experiment: Annotated[
        str | None, typer.Option(help="mlflow: only this experiment (by name).")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            help="mlflow: bearer token for the tracking server.", envvar="MLFLOW_TRACKING_TOKEN"
        ),
    ] = None,
    mlmd_url: Annotated[
        str | None,
        typer.Option(
            help="mlmd: the ML Metadata store's database, e.g. sqlite:///mlmd.db, "
            "mysql+pymysql://USER:PASSWORD@HOST/metadb or postgresql://USER@HOST/metadb.",
            envvar="MLMD_URL",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="mlmd: read and check the store, say what would be imported.")
    ] = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a backup; MLflow's experiments, runs, datasets, metrics and logged models; or an
    ML Metadata store's pipeline runs, executions, artifacts and their lineage.

    All can be repeated: what is already stored is skipped (a backup, ML Metadata) or updated
    (MLflow).
    """
    if source == "mlmd":
        _import_mlmd(mlmd_url, url, dry_run=dry_run, as_json=as_json)
        return
    if source != "mlflow":
        from modeltrail.cli.portability import import_file

        path = Path(source)
        if not path.is_file():
            err_console.print(f"[red]error:[/red] {source} is not a file (nor `mlflow`)")
            raise typer.Exit(2)
        import_file(path, url)
        return
    if not tracking_uri:
        err_console.print("[red]error:[/red] importing from MLflow needs --tracking-uri")
        raise typer.Exit(2)
    from modeltrail.integrations.mlflow.importer import import_mlflow

    with connect(url, write=True) as conn:
        try:
            counts = import_mlflow(conn, tracking_uri, experiment=experiment, token=token)
        except RuntimeError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
    if as_json:
        print_json(counts)
        return
    console.print(", ".join(f"{v} {k}" for k, v in counts.items()) + " imported")


def _no_store_yet(url: str | None) -> bool:
    """Whether the target is an SQLite file not made yet (a dry run then sees an empty one)."""
    from modeltrail.sdk.connection import is_server_url, resolve_target
    from modeltrail.store.database import sqlite_file

    target = resolve_target(url)
    if is_server_url(target):
        return False
    with one_line_errors(2):
        missing = sqlite_file(target)
    return missing is not None and not missing.exists()


def _import_mlmd(mlmd_url: str | None, url: str | None, *, dry_run: bool, as_json: bool) -> None:
    if not mlmd_url:
        err_console.print("[red]error:[/red] importing ML Metadata needs --mlmd-url")
        raise typer.Exit(2)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from modeltrail.integrations.mlmd.importer import NothingStored, read_plan, write_plan

    with (
        one_line_errors(),
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            transient=True,
            disable=as_json or not err_console.is_terminal,
        ) as bar,
    ):
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                label = "reading tables" if stage == "read" else "writing"
                tasks[stage] = bar.add_task(label, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        # The MLMD store is read and checked whole before the target is even opened: a store
        # that is refused leaves nothing behind, not even an empty target.
        snap, plan = read_plan(mlmd_url, progress=progress)
        if dry_run and _no_store_yet(url):
            summary = write_plan(NothingStored(), snap, plan, dry_run=True, progress=progress)
        else:
            with connect(url, write=not dry_run) as conn:
                summary = write_plan(conn, snap, plan, dry_run=dry_run, progress=progress)
    if as_json:
        print_json(summary.as_json())
        return
    verb = "would import" if dry_run else "imported"
    created = ", ".join(plural(n, k.removesuffix("s")) for k, n in summary.created.items() if n)
    console.print(f"{verb} from {summary.source}: {created or 'nothing new'}", highlight=False)
    skipped = sum(summary.skipped.values())
    updated = sum(summary.updated.values())
    notes = [
        f"{skipped} already imported" if skipped else "",
        f"{updated} updated" if updated else "",
        f"{summary.edges} new inputs and outputs" if summary.edges else "",
        f"kinds {', '.join(summary.kinds)}" if summary.kinds else "",
        f"{summary.ignored_events} events neither read nor written"
        if summary.ignored_events
        else "",
    ]
    if any(notes):
        console.print("  " + "; ".join(n for n in notes if n), highlight=False)
