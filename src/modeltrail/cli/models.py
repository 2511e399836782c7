"""``modeltrail models register|list|show|resolve|rename|delete`` and ``models alias ...``:
the model registry from the command line."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.markup import escape
from rich.table import Table

from modeltrail.cli.common import (
    ExperimentOption,
    JsonOption,
    UrlOption,
    app,
    connect,
    console,
    err_console,
    print_json,
    resolve,
    short_id,
)
from modeltrail.domain import text

M = "/api/v1/models"
models = typer.Typer(
    help="Registered models: versions, aliases (production, champion) and their history.",
    no_args_is_help=True,
)
alias_app = typer.Typer(
    help="Point an alias at a version, move or remove it, and see where it pointed.",
    no_args_is_help=True,
)
app.add_typer(models, name="models")
models.add_typer(alias_app, name="alias")

ReasonOption = Annotated[
    str | None, typer.Option("--reason", "-r", help="why: kept in the alias's history")
]
AtOption = Annotated[
    str | None,
    typer.Option("--at", help="a past time (ISO 8601, like 2026-11-01T12:00Z): as it was then"),
]


def path(name: str) -> str:
    """The API path of a model; a name that is not Unicode (bytes of another encoding in
    the argument) is refused, naming it, rather than failing to be quoted."""
    text.check_text(name, what="the model's name")
    return f"{M}/{quote(name, safe='')}"


def alias_path(name: str, alias: str) -> str:
    """The API path of one alias of a model."""
    text.check_text(alias, what="the alias")
    return f"{path(name)}/aliases/{quote(alias, safe='')}"


def _tags(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            err_console.print(f"[red]error:[/red] --tag takes KEY=VALUE, not {item!r}")
            raise typer.Exit(2)
        out[key] = value
    return out


def _who(actor: dict[str, Any] | None) -> str:
    return escape(actor["name"]) if actor else ""


def _metrics(values: dict[str, Any] | None) -> str:
    def shown(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    return ", ".join(f"{escape(k)}={escape(shown(v))}" for k, v in (values or {}).items())


@models.command("register")
def register(
    artifact: Annotated[str, typer.Argument(help="the model artifact: id or name")],
    name: Annotated[str, typer.Argument(help="the registered model (created if new)")],
    description: Annotated[str | None, typer.Option(help="the version's description")] = None,
    tag: Annotated[list[str], typer.Option("--tag", "-t", help="KEY=VALUE, repeatable")] = [],  # noqa: B006
    experiment: ExperimentOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register an artifact as the next version of a model."""
    tags = _tags(tag)
    with connect(url, write=True) as conn:
        artifact_id = resolve(conn, "artifacts", artifact, experiment=experiment)
        body: dict[str, Any] = {"artifact": artifact_id, "tags": tags}
        if description is not None:
            body["description"] = description
        response = conn.request(
            "POST", f"{path(name)}/versions", json=body, params={"createModel": "true"}
        )
        version = response.json()
    if as_json:
        print_json(version)
        return
    if response.status_code == 200:
        console.print(
            f"already registered: {escape(version['model'])} version {version['version']} is "
            f"artifact {short_id(version['artifact']['id'])}"
        )
        return
    console.print(
        f"registered [bold]{escape(version['model'])}[/bold] version {version['version']} "
        f"(models:/{escape(version['model'])}/{version['version']})"
    )


@models.command("list")
def list_(
    name_contains: Annotated[
        str | None, typer.Option("--name-contains", help="part of the name, any case")
    ] = None,
    tag: Annotated[
        list[str], typer.Option("--tag", "-t", help="KEY=VALUE the model carries, repeatable")
    ] = [],  # noqa: B006
    limit: Annotated[int, typer.Option(help="at most this many")] = 100,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Registered models by name, with their newest version and aliases."""
    with connect(url) as conn:
        page = conn.get(
            M,
            nameContains=name_contains,
            tag=[f"{k}={v}" for k, v in _tags(tag).items()],
            limit=limit,
        )
    if as_json:
        print_json(page)
        return
    table = Table("name", "versions", "latest", "aliases", "description", title="models")
    for m in page["items"]:
        aliases = ", ".join(
            f"{escape(a)}→{v}" + (" (protected)" if a in m["protectedAliases"] else "")
            for a, v in m["aliases"].items()
        )
        table.add_row(
            escape(m["name"]),
            str(m["versions"]),
            str(m["latestVersion"] or ""),
            aliases,
            escape(m.get("description") or ""),
        )
    console.print(table)
    if page.get("nextCursor"):
        console.print("[dim]more models: raise --limit or narrow with --name-contains[/dim]")


@models.command("show")
def show(
    name: Annotated[str, typer.Argument(help="the registered model")],
    versions: Annotated[int, typer.Option(help="show the newest this many versions")] = 20,
    history: Annotated[int, typer.Option(help="show the newest this many alias changes")] = 20,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """A model: its versions with their metrics, data and runs, and its alias history."""
    with connect(url) as conn:
        model = conn.get(path(name))
        page = conn.get(f"{path(name)}/versions", limit=max(1, min(versions, 1000)))
        changes = conn.get(f"{path(name)}/history", limit=max(1, min(history, 1000)))
    if as_json:
        print_json({"model": model, "versions": page["items"], "history": changes})
        return
    console.print(
        f"[bold]{escape(model['name'])}[/bold]: {model['versions']} version(s)"
        + (f" - {escape(model['description'])}" if model.get("description") else "")
    )
    if model["tags"]:
        console.print(
            "tags: " + ", ".join(f"{escape(k)}={escape(v)}" for k, v in model["tags"].items())
        )
    table = Table("version", "aliases", "metrics", "data", "run", "artifact", "created", "by")
    for v in page["items"]:
        run = v.get("run")
        table.add_row(
            str(v["version"]),
            ", ".join(escape(a) for a in v["aliases"]),
            _metrics(v.get("metrics")),
            ", ".join(escape(f"{i['name']} v{i['version']}") for i in v.get("inputs", [])),
            escape(f"{run['name']} {run['status']}") if run else "",
            escape(f"{v['artifact']['name']} {short_id(v['artifact']['id'])}"),
            v["createTime"][:19],
            _who(v.get("createdBy")),
        )
    console.print(table)
    if changes:
        _print_history(changes, title=f"alias history of {model['name']}")


def _print_history(changes: list[dict[str, Any]], *, title: str) -> None:
    table = Table("when", "alias", "change", "from", "to", "by", "reason", title=title)
    for h in changes:
        table.add_row(
            h["time"][:19],
            escape(h["alias"]),
            h["action"],
            str(h["fromVersion"] or ""),
            str(h["toVersion"] or ""),
            _who(h.get("actor")),
            escape(h.get("reason") or ""),
        )
    console.print(table)


@models.command("resolve")
def resolve_(
    reference: Annotated[
        str, typer.Argument(help="models:/NAME@ALIAS, models:/NAME/3 or models:/NAME")
    ],
    at: AtOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The version (and artifact) a model reference names."""
    with connect(url) as conn:
        version = conn.get(f"{M}/resolve", uri=reference, at=at)
    if as_json:
        print_json(version)
        return
    art = version["artifact"]
    console.print(
        f"{escape(reference)} is [bold]{escape(version['model'])}[/bold] version "
        f"{version['version']}: artifact {escape(art['name'])} {art['id']}"
        + (f" {escape(art['uri'])}" if art.get("uri") else "")
    )


@models.command("rename")
def rename(
    name: Annotated[str, typer.Argument(help="the registered model")],
    new_name: Annotated[str, typer.Argument(help="its new name")],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rename a model; its versions, aliases and history follow."""
    with connect(url, write=True) as conn:
        model = conn.patch(path(name), {"name": new_name})
    if as_json:
        print_json(model)
        return
    console.print(f"renamed {escape(name)} to [bold]{escape(model['name'])}[/bold]")


@models.command("delete")
def delete(
    name: Annotated[str, typer.Argument(help="the registered model")],
    version: Annotated[int | None, typer.Option("--version", help="only this version")] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a model (or one version of it); the artifacts and their lineage stay."""
    with connect(url, write=True) as conn:
        conn.delete(path(name) + (f"/versions/{version}" if version is not None else ""))
    if as_json:
        deleted = {"deleted": "model", "name": name}
        print_json(
            deleted if version is None else {**deleted, "deleted": "version", "version": version}
        )
        return
    what = f"version {version} of {name}" if version is not None else name
    console.print(f"deleted {escape(what)}")


# ---------------------------------------------------------------- aliases


@alias_app.command("set")
def alias_set(
    name: Annotated[str, typer.Argument(help="the registered model")],
    alias: Annotated[str, typer.Argument(help="the alias: production, champion, ...")],
    version: Annotated[
        str, typer.Argument(help="the version: a number, or models:/NAME@OTHER-ALIAS")
    ],
    reason: ReasonOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Point an alias at a version: set it, or move it from where it points."""
    target: int | str = int(version) if version.isascii() and version.isdigit() else version
    body: dict[str, Any] = {"version": target}
    if reason is not None:
        body["reason"] = reason
    with connect(url, write=True) as conn:
        before = _pointing(conn, name, alias)
        result = conn.request("PUT", alias_path(name, alias), json=body)
        now = result.json()
    if as_json:
        print_json(now)
        return
    if before == now["version"]:
        console.print(f"{escape(alias)} already points at version {now['version']}")
    elif before is None:
        console.print(f"{escape(alias)} of {escape(name)} set to version {now['version']}")
    else:
        console.print(
            f"{escape(alias)} of {escape(name)} moved from version {before} to {now['version']}"
        )


def _pointing(conn: Any, name: str, alias: str) -> int | None:
    from modeltrail.errors import NotFound

    try:
        return conn.get(alias_path(name, alias))["version"]  # type: ignore[no-any-return]
    except NotFound:
        return None


@alias_app.command("remove")
def alias_remove(
    name: Annotated[str, typer.Argument(help="the registered model")],
    alias: Annotated[str, typer.Argument(help="the alias")],
    reason: ReasonOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make an alias point at nothing (its history stays)."""
    with connect(url, write=True) as conn:
        params = {"reason": reason} if reason is not None else None
        event = conn.request("DELETE", alias_path(name, alias), params=params).json()
    if as_json:
        print_json(event)
        return
    console.print(
        f"{escape(alias)} of {escape(name)} removed (it pointed at version {event['fromVersion']})"
    )


@alias_app.command("show")
def alias_show(
    name: Annotated[str, typer.Argument(help="the registered model")],
    alias: Annotated[str | None, typer.Argument(help="the alias (all of them if left out)")] = None,
    at: AtOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Where an alias points now, or pointed at a past time (--at)."""
    with connect(url) as conn:
        if alias is None:
            result: Any = conn.get(f"{path(name)}/aliases", at=at)
        else:
            result = conn.get(alias_path(name, alias), at=at)
    if as_json:
        print_json(result)
        return
    rows = result if isinstance(result, list) else [result]
    when = f" at {at}" if at else ""
    table = Table("alias", "version", "previous", "protected", "since", "by", "reason")
    table.title = f"aliases of {name}{when}"
    for a in rows:
        table.add_row(
            escape(a["alias"]),
            str(a["version"] or ""),
            str(a.get("previousVersion") or ""),
            "yes" if a["protected"] else "",
            (a.get("updateTime") or "")[:19],
            _who(a.get("updatedBy")),
            escape(a.get("reason") or ""),
        )
    console.print(table)


@alias_app.command("history")
def alias_history(
    name: Annotated[str, typer.Argument(help="the registered model")],
    alias: Annotated[str | None, typer.Argument(help="the alias (all if left out)")] = None,
    limit: Annotated[int, typer.Option(help="the newest this many changes")] = 100,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every change of a model's aliases: from, to, who, when, why."""
    with connect(url) as conn:
        changes = conn.get(f"{path(name)}/history", alias=alias, limit=limit)
    if as_json:
        print_json(changes)
        return
    _print_history(changes, title=f"alias history of {name}")


def _protection(
    name: str, alias: str, protected: bool, reason: str | None, url: str | None, as_json: bool
) -> None:
    body: dict[str, Any] = {"protected": protected}
    if reason is not None:
        body["reason"] = reason
    with connect(url, write=True) as conn:
        now = conn.request("PUT", alias_path(name, alias) + "/protection", json=body).json()
    if as_json:
        print_json(now)
        return
    state = "protected: only a deployer or an admin may move it" if protected else "unprotected"
    console.print(f"{escape(alias)} of {escape(name)} is {state}")


@alias_app.command("protect")
def alias_protect(
    name: Annotated[str, typer.Argument(help="the registered model")],
    alias: Annotated[str, typer.Argument(help="the alias")],
    reason: ReasonOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Let only a deployer or an admin move or remove the alias (needs one of those roles)."""
    _protection(name, alias, True, reason, url, as_json)


@alias_app.command("unprotect")
def alias_unprotect(
    name: Annotated[str, typer.Argument(help="the registered model")],
    alias: Annotated[str, typer.Argument(help="the alias")],
    reason: ReasonOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lift an alias's protection (needs the deployer or admin role)."""
    _protection(name, alias, False, reason, url, as_json)
