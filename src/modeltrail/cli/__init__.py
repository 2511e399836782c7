"""The ``modeltrail`` command line. Each module adds its commands to ``app``."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from modeltrail.cli import (  # noqa: F401 - registers commands
    entities,
    files,
    imports,
    kinds,
    lineage,
    portability,
    series,
    server,
    sync,
    tokens,
    write,
)
from modeltrail.cli.common import app, console
from modeltrail.integrations.argo import cli as _argo  # noqa: F401 - registers commands

# The help lists commands in these panels, in this order; a command not named here is in
# no panel, which tests/cli/test_cli_help.py refuses.
PANELS = {
    "Store": [
        "experiments", "runs", "pipelines", "executables", "executions", "artifacts",
        "kinds", "metrics", "annotate",
    ],
    "Lineage": [
        "lineage", "impact", "why", "compare", "dag", "trace", "history", "reproduce",
        "flag", "unflag", "flags", "cache", "reuse",
    ],
    "Integrations": ["import", "argo", "sync"],
    "Admin": ["server", "db", "tokens", "export", "gc"],
}  # fmt: skip


def _panels() -> None:
    panel_of = {name: panel for panel, names in PANELS.items() for name in names}
    order = {name: i for i, name in enumerate(n for names in PANELS.values() for n in names)}

    def name_of(command: typer.models.CommandInfo) -> str:
        return command.name or (command.callback.__name__ if command.callback else "")

    for command in app.registered_commands:
        command.rich_help_panel = panel_of.get(name_of(command))
    for group in app.registered_groups:
        group.rich_help_panel = panel_of.get(group.name or "")
    # Panels appear in the order of their first command.
    app.registered_commands.sort(key=lambda c: order.get(name_of(c), len(order)))
    app.registered_groups.sort(key=lambda g: order.get(g.name or "", len(order)))


def _version(value: bool) -> None:
    if value:
        try:
            console.print(f"modeltrail {version('modeltrail')}", highlight=False)
        except PackageNotFoundError:
            console.print("modeltrail (not installed: no version)")
        raise typer.Exit()


@app.callback()
def _main(
    _: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Metadata and lineage of the whole life of machine-learning models."""


_panels()


def main() -> None:
    app()


__all__ = ["app", "main"]
