"""``modeltrail sync``: send the metadata a pipeline spooled while the server was away."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modeltrail.cli.common import JsonOption, UrlOption, app, console, err_console, print_json
from modeltrail.errors import ModeltrailError
from modeltrail.sdk.client import Trail
from modeltrail.sdk.spool import Spool


@app.command()
def sync(
    url: UrlOption = None,
    spool: Annotated[
        Path | None,
        typer.Option(
            envvar="MODELTRAIL_SPOOL",
            help="The spool file (default: .modeltrail/spool.jsonl).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Send spooled writes, in the order they were made. Safe to repeat: nothing is duplicated.

    Each write goes to the store it was meant for; with --url, only the writes meant for
    that store are sent and the others stay in the spool.
    """
    pending = Spool(spool).pending()
    targets = [url] if url else list(dict.fromkeys(e.target for e in pending))
    report = []
    failed = False
    for target in targets:
        try:
            with Trail(target, spool=spool, on_unreachable="spool", retries=0) as trail:
                result = trail.sync()
        except ModeltrailError as exc:
            err_console.print(f"[red]error:[/red] {target}: {exc.detail}")
            failed = True
            continue
        report.append(
            {
                "target": target,
                "sent": result.sent,
                "rejected": result.rejected,
                "remaining": result.remaining,
            }
        )
        failed = failed or result.remaining > 0
    if as_json:
        print_json(report)
    elif not report:
        console.print("nothing to send")
    for item in [] if as_json else report:
        line = f"{item['target']}: sent {item['sent']}"
        if item["rejected"]:
            line += (
                f", [red]{item['rejected']} refused[/red] (kept in {Spool(spool).rejected_path})"
            )
        if item["remaining"]:
            line += f", [yellow]{item['remaining']} still waiting (server unreachable)[/yellow]"
        console.print(line)
    if failed:
        raise typer.Exit(1)
