"""``modeltrail tokens create|list|revoke``: API tokens for servers with access control."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from modeltrail.cli.common import (
    JsonOption,
    UrlOption,
    app,
    connect,
    console,
    err_console,
    print_json,
    resolve,
)

tokens = typer.Typer(help="Create, list and revoke API tokens (admin).", no_args_is_help=True)
app.add_typer(tokens, name="tokens")

ROLES = ("reader", "writer", "admin")


@tokens.command("create")
def create(
    name: Annotated[str, typer.Argument(help="who or what the token is for")],
    role: Annotated[str | None, typer.Option(help="global role: reader, writer or admin")] = None,
    experiment: Annotated[
        list[str],
        typer.Option("--experiment", "-e", help="EXPERIMENT=ROLE (id or name), repeatable"),
    ] = [],  # noqa: B006
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a token. The token is printed once; only its hash is stored."""
    if role is not None and role not in ROLES:
        err_console.print(f"[red]error:[/red] --role must be one of {', '.join(ROLES)}")
        raise typer.Exit(2)
    with connect(url, write=True) as conn:
        grants = {}
        for item in experiment:
            ref, sep, grant = item.rpartition("=")
            if not sep or grant not in ROLES:
                err_console.print(
                    f"[red]error:[/red] --experiment takes EXPERIMENT=ROLE, not {item!r}"
                )
                raise typer.Exit(2)
            grants[resolve(conn, "experiments", ref)] = grant
        created = conn.post("/api/v1/tokens", {"name": name, "role": role, "experiments": grants})
    if as_json:
        print_json(created)
        return
    console.print(
        f"token [bold]{created['name']}[/bold] ({created['id']}) created; it is shown "
        "only now, keep it secret:"
    )
    # Plain print so that the token can be captured by a script (`| tail -1`).
    print(created["token"])


@tokens.command("list")
def list_(
    include_revoked: Annotated[bool, typer.Option("--all", help="also revoked tokens")] = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """List tokens (never the secrets)."""
    with connect(url) as conn:
        items = conn.get("/api/v1/tokens", includeRevoked=include_revoked)
    if as_json:
        print_json(items)
        return
    table = Table(
        "id", "name", "prefix", "role", "experiments", "created", "revoked", title="tokens"
    )
    for t in items:
        grants = ", ".join(f"{k}={v}" for k, v in t["experiments"].items())
        table.add_row(
            t["id"],
            t["name"],
            t["prefix"] + "…",
            t["role"] or "",
            grants,
            t["createTime"][:19],
            (t["revokeTime"] or "")[:19],
        )
    console.print(table)


@tokens.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="the token's id (see tokens list)")],
    url: UrlOption = None,
) -> None:
    """Revoke a token: it is refused from the next request on."""
    with connect(url) as conn:
        conn.delete(f"/api/v1/tokens/{token_id}")
    console.print(f"token {token_id} revoked")
