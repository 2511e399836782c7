"""``modeltrail import mlflow``: bring a tracking server's history in."""

from __future__ import annotations

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

importers = typer.Typer(help="Import history from other tools.", no_args_is_help=True)
app.add_typer(importers, name="import")


@importers.command("mlflow")
def mlflow(
    tracking_uri: Annotated[
        str,
        typer.Option(
            help="MLflow tracking server, e.g. http://mlflow:5000.", envvar="MLFLOW_TRACKING_URI"
        ),
    ],
    experiment: Annotated[str | None, typer.Option(help="Only this experiment (by name).")] = None,
    token: Annotated[
        str | None,
        typer.Option(help="Bearer token for the tracking server.", envvar="MLFLOW_TRACKING_TOKEN"),
    ] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import experiments, runs, datasets, metrics and logged models; again = update."""
    from modeltrail.plugins.mlflow_import import import_mlflow

    with connect(url) as conn:
        try:
            counts = import_mlflow(conn, tracking_uri, experiment=experiment, token=token)
        except RuntimeError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
    if as_json:
        print_json(counts)
        return
    console.print(", ".join(f"{v} {k}" for k, v in counts.items()) + " imported")
