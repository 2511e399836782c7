"""The ``modeltrail`` command line. Each module adds its commands to ``app``; each integration
that has commands adds them through ``register(app)`` (see ``modeltrail.integrations``)."""

from __future__ import annotations

import inspect
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from modeltrail.cli import (  # noqa: F401 - registers commands
    compare,
    entities,
    files,
    imports,
    kinds,
    lineage,
    models,
    portability,
    reuse,
    search,
    series,
    server,
    sync,
    tokens,
    write,
)
from modeltrail.cli.common import app, console
from modeltrail.domain.entities import ENTITIES
from modeltrail.integrations import INTEGRATIONS


def _name(command: typer.models.CommandInfo | typer.models.TyperInfo) -> str:
    if isinstance(command, typer.models.TyperInfo):
        return command.name or ""
    return command.name or (command.callback.__name__ if command.callback else "")


def _registered() -> list[typer.models.CommandInfo | typer.models.TyperInfo]:
    return [*app.registered_commands, *app.registered_groups]


def _add_integrations() -> list[str]:
    """Add each integration's commands; the names they added."""
    before = {_name(c) for c in _registered()}
    for integration in INTEGRATIONS:
        if integration.commands:
            import_module(integration.commands).register(app)
    return [name for c in _registered() if (name := _name(c)) not in before]


# The help lists commands in these panels, in this order; a command not named here is in
# no panel, which tests/cli/test_cli_help.py refuses. An integration's commands are in the
# Integrations panel, after those named there. Each entity's group leads the Store panel.
PANELS = {
    "Store": [
        *(e.plural for e in ENTITIES.values()),
        "kinds", "metrics", "annotate", "models", "search",
    ],
    "Lineage": [
        "lineage", "impact", "why", "compare", "dag", "trace", "history", "reproduce",
        "flag", "unflag", "flags", "cache", "reuse",
    ],
    "Integrations": ["import", "argo", "sync"],
    "Admin": ["server", "db", "tokens", "export", "gc"],
}  # fmt: skip


def _panels(integrations: list[str]) -> None:
    panels = {**PANELS, "Integrations": [*PANELS["Integrations"], *integrations]}
    panel_of = {name: panel for panel, names in panels.items() for name in names}
    order = {name: i for i, name in enumerate(n for names in panels.values() for n in names)}
    for command in app.registered_commands:
        command.rich_help_panel = panel_of.get(_name(command))
    for group in app.registered_groups:
        group.rich_help_panel = panel_of.get(_name(group))
    # Panels appear in the order of their first command.
    app.registered_commands.sort(key=lambda c: order.get(_name(c), len(order)))
    app.registered_groups.sort(key=lambda g: order.get(_name(g), len(order)))


def _one_line_paragraphs(typer_app: typer.Typer) -> None:
    """Each paragraph of a command's help on one line, for the terminal to wrap. Typer keeps a
    docstring's own line breaks after its first paragraph, which leaves ragged lines at any
    width but the source's; a paragraph marked ``\\b`` keeps its lines."""
    for command in typer_app.registered_commands:
        text = inspect.cleandoc(
            command.help or (command.callback and command.callback.__doc__) or ""
        )
        command.help = "\n\n".join(
            p if p.startswith("\b") else " ".join(p.split("\n")) for p in text.split("\n\n")
        )
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _one_line_paragraphs(group.typer_instance)


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


_panels(_add_integrations())
_one_line_paragraphs(app)


def main() -> None:
    app()


__all__ = ["app", "main"]
