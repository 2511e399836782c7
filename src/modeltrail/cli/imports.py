"""``modeltrail import FILE`` (a backup) and ``modeltrail import mlflow`` (a tracking server's
history): one command, since both bring metadata in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modeltrail.cli.common import (
    JsonOption,
    UrlOption,
    app,
    connect,
    console,
    err_console,
    print_json,
)


@app.command("import")
def import_(
    source: Annotated[
        str,
        typer.Argument(
            help="An NDJSON export made by `modeltrail export`, or the word `mlflow` to import "
            "from an MLflow tracking server (with --tracking-uri)."
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
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a backup, or MLflow's experiments, runs, datasets, metrics and logged models.

    Both can be repeated: what is already stored is skipped (a backup) or updated (MLflow).
    """
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
