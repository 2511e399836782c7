"""``modeltrail tokens create|list|rotate|revoke``: API tokens for servers with access control."""

from __future__ import annotations

import re
from typing import Annotated, Any

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

tokens = typer.Typer(
    help="Create, list, rotate and revoke API tokens (admin).", no_args_is_help=True
)
app.add_typer(tokens, name="tokens")

ROLES = ("reader", "writer", "deployer", "admin")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_DURATION = re.compile(r"^\s*(\d{1,9})\s*([smhdw])\s*$")


def seconds(value: str, option: str) -> int:
    """``90d``, ``12h``, ``30m``, ``2w`` or ``45s`` in seconds; exits on anything else."""
    match = _DURATION.match(value)
    if match is None:
        err_console.print(
            f"[red]error:[/red] {option} takes a number and a unit (s, m, h, d, w), "
            f"like 90d, not {value!r}"
        )
        raise typer.Exit(2)
    return int(match[1]) * _UNITS[match[2]]


@tokens.command("create")
def create(
    name: Annotated[str, typer.Argument(help="who or what the token is for")],
    role: Annotated[
        str | None, typer.Option(help="global role: reader, writer, deployer or admin")
    ] = None,
    experiment: Annotated[
        list[str],
        typer.Option("--experiment", "-e", help="EXPERIMENT=ROLE (id or name), repeatable"),
    ] = [],  # noqa: B006
    expires: Annotated[
        str | None,
        typer.Option(help="lifetime, like 90d, 12h or 2w; by default the token does not expire"),
    ] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a token. The token is printed once; only its hash is stored."""
    if role is not None and role not in ROLES:
        err_console.print(f"[red]error:[/red] --role must be one of {', '.join(ROLES)}")
        raise typer.Exit(2)
    lifetime = None if expires is None else seconds(expires, "--expires")
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
        body: dict[str, Any] = {"name": name, "role": role, "experiments": grants}
        if lifetime is not None:
            body["expiresIn"] = lifetime
        created = conn.post("/api/v1/tokens", body)
    _show_secret(created, "created", as_json)


def _show_secret(token: dict[str, Any], done: str, as_json: bool) -> None:
    if as_json:
        print_json(token)
        return
    expires = f", expires {token['expireTime'][:19]}" if token.get("expireTime") else ""
    console.print(
        f"token [bold]{token['name']}[/bold] ({token['id']}) {done}{expires}; it is shown "
        "only now, keep it secret:"
    )
    # Plain print so that the token can be captured by a script (`| tail -1`).
    print(token["token"])


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
        "id",
        "name",
        "prefix",
        "role",
        "experiments",
        "created",
        "expires",
        "revoked",
        title="tokens",
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
            (t.get("expireTime") or "")[:19],
            (t["revokeTime"] or "")[:19],
        )
    console.print(table)


@tokens.command("rotate")
def rotate(
    token_id: Annotated[str, typer.Argument(help="the token's id (see tokens list)")],
    grace: Annotated[
        str | None,
        typer.Option(help="how long the old secret still works, like 1h; by default not at all"),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(help="a new lifetime from now, like 90d; by default the expiry is kept"),
    ] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give a token a new secret: same id, name and roles. The new secret is printed once."""
    body: dict[str, int] = {}
    if grace is not None:
        body["grace"] = seconds(grace, "--grace")
    if expires is not None:
        body["expiresIn"] = seconds(expires, "--expires")
    with connect(url) as conn:
        rotated = conn.post(f"/api/v1/tokens/{token_id}/rotate", body)
    _show_secret(rotated, "rotated", as_json)


@tokens.command("revoke")
def revoke(
    token_id: Annotated[
        str,
        typer.Argument(
            help="the token's id (see tokens list), or `configured` for the admin token the "
            "server was started with"
        ),
    ],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke a token: it is refused from the next request on."""
    with connect(url) as conn:
        conn.delete(f"/api/v1/tokens/{token_id}")
    if as_json:
        print_json({"revoked": "token", "id": token_id})
        return
    if token_id == "configured":
        console.print(
            "the configured admin token is retired: every server of this store refuses it"
        )
    else:
        console.print(f"token {token_id} revoked")
