"""``modeltrail experiments|runs|... list|show|delete``: one group per entity of the registry."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

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
    print_json,
    resolve,
    short_id,
)
from modeltrail.domain.entities import ENTITIES
from modeltrail.errors import ModeltrailError
from modeltrail.sdk.connection import Connection

COLUMNS: dict[str, list[str]] = {e.plural: list(e.shown) for e in ENTITIES.values()}


IN_EXPERIMENTS = tuple(e.plural for e in ENTITIES.values() if e.in_experiment)
InExperimentOption = Annotated[
    str | None,
    typer.Option(
        "--experiment",
        "-e",
        help=f"only those of this experiment (id or name; {', '.join(IN_EXPERIMENTS)})",
        show_default=False,
    ),
]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return text[:19] if len(text) >= 19 and text[4:5] == "-" and text[10:11] == "T" else text


def _experiment_names(conn: Connection, items: list[dict[str, Any]]) -> dict[str, str]:
    """The names of the experiments these entities belong to, by id, for a table to show
    (an experiment the token may not read keeps its id)."""
    names = {}
    for experiment in {i["experiment"] for i in items if i.get("experiment")}:
        with contextlib.suppress(ModeltrailError):
            names[experiment] = conn.get(f"/api/v1/experiments/{experiment}")["name"]
    return names


GROUPS: dict[str, typer.Typer] = {}


def _add_group(plural: str) -> None:
    more = {"experiments": "Create, list", "runs": "Start, finish, list"}.get(plural, "List")
    group = typer.Typer(help=f"{more}, show and delete {plural}.", no_args_is_help=True)
    GROUPS[plural] = group
    app.add_typer(group, name=plural, rich_help_panel="Store")

    @group.command("list")
    def list_(
        filter: Annotated[
            list[str], typer.Option("--filter", "-f", help="FIELD:OP:VALUE, repeatable")
        ] = [],  # noqa: B006
        q: Annotated[
            str | None,
            typer.Option(
                "--q",
                "-q",
                help="an expression: 'metrics.accuracy > 0.9 and (configuration.optimizer = "
                '"adam" or not annotations.team = "legacy")\'',
            ),
        ] = None,
        sort: Annotated[str | None, typer.Option(help="field, '-' in front for descending")] = None,
        limit: Annotated[int, typer.Option(help="at most this many")] = 50,
        experiment: InExperimentOption = None,
        columns: Annotated[
            str | None,
            typer.Option(
                "--columns",
                "-c",
                help="runs: comma-separated columns, or auto: "
                "configuration.lr,annotations.team,metrics.accuracy,metrics.loss.min",
            ),
        ] = None,
        url: UrlOption = None,
        wide: WideOption = False,
        as_json: JsonOption = False,
        as_csv: Annotated[
            bool, typer.Option("--csv", help="Print CSV (runs with --columns: one per column).")
        ] = False,
    ) -> None:
        """List, filtered and sorted (see docs/api.md for the filter language)."""
        if experiment is not None:
            if plural not in IN_EXPERIMENTS:
                raise typer.BadParameter(
                    f"{plural} belong to no experiment", param_hint="--experiment"
                )
            filter = [*filter, f"experiment:eq:{experiment}"]
        if columns is not None and plural != "runs":
            raise typer.BadParameter("only runs have columns", param_hint="--columns")
        with connect(url) as conn:
            page = _pages(
                conn, plural, limit, filter=filter, q=q, sort=sort, columns=columns, count=True
            )
            if as_json:
                print_json(page)
                return
            if as_csv or columns is not None:
                _print_grid(page, plural, as_csv=as_csv)
                return
            names = _experiment_names(conn, page["items"])
        table = Table(*COLUMNS[plural], title=f"{plural} ({len(page['items'])} of {page['total']})")
        for item in page["items"]:
            shown = {
                **item,
                "experiment": names.get(item.get("experiment"), item.get("experiment")),
            }
            table.add_row(*(_cell(shown.get(c)) for c in COLUMNS[plural]))
        console.print(table)
        if page.get("nextCursor"):
            console.print(
                f"[yellow]{page['total'] - len(page['items'])} more match; raise --limit or "
                "narrow --filter or --q[/yellow]"
            )

    @group.command("show")
    def show(
        ref: Annotated[str, typer.Argument(help="id or name")],
        experiment: ExperimentOption = None,
        url: UrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Show one, every field."""
        with connect(url) as conn:
            entity_id = resolve(conn, plural, ref, experiment=experiment)
            item = conn.get(f"/api/v1/{plural}/{entity_id}")
        if as_json:
            print_json(item)
            return
        table = Table("field", "value", show_header=False, title=f"{plural[:-1]} {item['name']}")
        for key, value in item.items():
            table.add_row(
                key, str(value) if not isinstance(value, dict | list) else _compact(value)
            )
        console.print(table)

    @group.command("delete")
    def delete(
        ref: Annotated[str, typer.Argument(help="id or name")],
        experiment: ExperimentOption = None,
        url: UrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Delete one (refused while lineage depends on it)."""
        with connect(url) as conn:
            entity_id = resolve(conn, plural, ref, experiment=experiment)
            conn.delete(f"/api/v1/{plural}/{entity_id}")
        if as_json:
            print_json({"deleted": plural[:-1], "id": entity_id})
            return
        console.print(f"deleted {plural[:-1]} {entity_id}")


def _pages(conn: Any, plural: str, limit: int, **params: Any) -> dict[str, Any]:
    """Up to ``limit`` items, over as many pages as that takes."""
    page: dict[str, Any] = conn.get(f"/api/v1/{plural}", limit=min(limit, 1000), **params)
    while page.get("nextCursor") and len(page["items"]) < limit:
        more = conn.get(
            f"/api/v1/{plural}",
            limit=min(limit - len(page["items"]), 1000),
            cursor=page["nextCursor"],
            **params,
        )
        page["items"] += more["items"]
        page["nextCursor"] = more.get("nextCursor")
    return page


def _print_grid(page: dict[str, Any], plural: str, *, as_csv: bool) -> None:
    columns = page.get("columns") or []
    head = ["id", "name", "status", "duration"] if plural == "runs" else COLUMNS[plural]
    rows = [
        [*(item.get(c) for c in head), *(item.get("columns", {}).get(c) for c in columns)]
        for item in page["items"]
    ]
    if as_csv:
        import csv
        import sys

        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow([*head, *columns])
        for row in rows:
            out.writerow(
                ["" if v is None else _compact(v) if isinstance(v, dict | list) else v for v in row]
            )
        return
    table = Table(*head, *columns, title=f"{plural} ({len(page['items'])} of {page['total']})")
    for row in rows:
        cells = [_cell(v) for v in row]
        cells[0] = short_id(cells[0])
        if isinstance(row[3], float):
            cells[3] = f"{row[3]:.1f}s"
        table.add_row(*cells)
    console.print(table)
    if page.get("nextCursor"):
        console.print(f"[yellow]{page['total'] - len(page['items'])} more match[/yellow]")


def _compact(value: Any) -> str:
    import json

    return json.dumps(value, default=str)


for _plural in COLUMNS:
    _add_group(_plural)
