"""``modeltrail argo import``: bring an Argo Workflow in, from a file, stdin or an Argo Server."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from modeltrail.cli.common import (
    JsonOption,
    UrlOption,
    connect,
    console,
    err_console,
    print_json,
)

argo = typer.Typer(
    help="Import Argo Workflows (and what Argo Events triggered them with).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(argo, name="argo")


def _plain(value: Any) -> Any:
    """YAML timestamps become the strings the Argo Server's JSON would carry."""
    if isinstance(value, datetime | date):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot send {type(value).__name__}")


def read_workflow(source: str) -> dict[str, Any]:
    """The workflow in a file or stdin; ValueError if it is not YAML (nor JSON)."""
    import yaml  # only here: every CLI command imports this module, few read YAML

    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    try:
        data = yaml.safe_load(text)  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from None
    workflow: dict[str, Any] = json.loads(json.dumps(data, default=_plain))
    return workflow


def pull_workflow(
    server: str, namespace: str, name: str, token: str | None, insecure: bool
) -> dict[str, Any]:
    """``GET /api/v1/workflows/{namespace}/{name}`` of an Argo Server."""
    headers = {}
    if token:
        headers["Authorization"] = (
            token if token.lower().startswith("bearer ") else f"Bearer {token}"
        )
    url = f"{server.rstrip('/')}/api/v1/workflows/{namespace}/{name}"
    try:
        response = httpx.get(url, headers=headers, timeout=30, verify=not insecure)
    except httpx.TransportError as exc:
        err_console.print(f"[red]error:[/red] the Argo Server at {server} cannot be reached: {exc}")
        raise typer.Exit(1) from None
    if response.status_code != 200:
        err_console.print(
            f"[red]error:[/red] the Argo Server answered {response.status_code} for {url}: "
            f"{response.text[:500]}"
        )
        raise typer.Exit(1)
    return response.json()  # type: ignore[no-any-return]


@argo.command("import")
def import_(
    source: Annotated[
        str | None, typer.Argument(help="Workflow as JSON or YAML; '-' for stdin.")
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(help="Argo Server URL to pull the workflow from.", envvar="ARGO_SERVER_URL"),
    ] = None,
    namespace: Annotated[
        str, typer.Option(help="Namespace of the workflow on the Argo Server.")
    ] = "argo",
    name: Annotated[
        str | None, typer.Option(help="Name of the workflow on the Argo Server.")
    ] = None,
    token: Annotated[
        str | None, typer.Option(help="Argo Server bearer token.", envvar="ARGO_TOKEN")
    ] = None,
    insecure: Annotated[
        bool, typer.Option(help="Do not verify the Argo Server's TLS certificate.")
    ] = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a workflow as a run; importing it again updates the same run."""
    if (source is None) == (server is None):
        err_console.print("[red]error:[/red] give a FILE (or '-') or --server with --name")
        raise typer.Exit(2)
    if server is not None:
        if not name:
            err_console.print("[red]error:[/red] --server needs --name")
            raise typer.Exit(2)
        workflow = pull_workflow(server, namespace, name, token, insecure)
    else:
        try:
            workflow = read_workflow(str(source))
        except (OSError, ValueError, TypeError) as exc:
            err_console.print(f"[red]error:[/red] cannot read {source}: {exc}")
            raise typer.Exit(1) from None
    with connect(url, write=True) as conn:
        result = conn.post("/api/v1/argo/workflows", workflow)
    if as_json:
        print_json(result)
        return
    trigger = f", triggered by {result['trigger']}" if result.get("trigger") else ""
    console.print(
        f"run {result['run']}: {result['executions']} executions, "
        f"{result['artifacts']} artifacts{trigger}"
    )
