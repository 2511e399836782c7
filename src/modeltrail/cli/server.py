"""``modeltrail server`` and ``modeltrail db``."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from modeltrail.cli.common import (
    JsonOption,
    app,
    console,
    err_console,
    one_line_errors,
    print_json,
)
from modeltrail.errors import ModeltrailError
from modeltrail.store.database import (
    DEFAULT_URL,
    SchemaOutdated,
    current_revision,
    head_revision,
    open_database,
    upgrade,
)

if TYPE_CHECKING:
    from modeltrail.services.metadata import Metadata

DatabaseUrl = Annotated[
    str,
    typer.Option(
        "--database-url",
        envvar="MODELTRAIL_DATABASE_URL",
        help="sqlite:///file.db (default: modeltrail.db here) or postgresql+psycopg://user@host/db",
    ),
]


ArtifactsRoot = Annotated[
    str | None,
    typer.Option(
        "--artifacts-root",
        envvar="MODELTRAIL_ARTIFACTS_ROOT",
        show_default=False,
        help="Where artifacts' files are kept: a directory, or s3://BUCKET/PREFIX (S3 or an "
        "S3-compatible store; its address in AWS_ENDPOINT_URL_S3). Default: a directory next "
        "to an SQLite file; a PostgreSQL store needs one.",
    ),
]
MaxFileBytes = Annotated[
    int | None,
    typer.Option(
        "--max-file-bytes",
        envvar="MODELTRAIL_MAX_FILE_BYTES",
        min=1,
        show_default=False,
        help="The largest file an artifact may hold, in bytes (default: 64 GiB).",
    ),
]


def file_service(database_url: str, root: str | None, max_file_bytes: int | None) -> Any:
    """The file store of a store: as configured, next to an SQLite file, or None (a
    PostgreSQL store without ``--artifacts-root`` answers that it keeps no files)."""
    from modeltrail.services.files import default_file_service
    from modeltrail.store.database import sqlite_file

    if root is None and sqlite_file(database_url) is None:
        return None
    return default_file_service(database_url, root=root, max_file_bytes=max_file_bytes)


def open_store(
    database_url: str, *, create: bool = True, files: Callable[[], Any] | None = None
) -> Metadata:
    """The store at a database URL, opened in this process, for the commands that work on
    the database itself (``gc``, ``export``, ``import``); without ``create``, a missing
    SQLite file is refused before anything is made. ``files`` makes its file store. Errors:
    a one-line message, exit 2."""
    from modeltrail.errors import NotFound
    from modeltrail.services.metadata import Metadata
    from modeltrail.store.database import sqlite_file

    with one_line_errors(2):
        database = sqlite_file(database_url)
        if not create and database is not None and not database.exists():
            raise NotFound(f"there is no store here: {database} does not exist")
        return Metadata.open(database_url, files=files() if files else None)


@app.command()
def server(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    database_url: DatabaseUrl = DEFAULT_URL,
    strict_kinds: Annotated[
        bool, typer.Option("--strict-kinds", help="Refuse artifacts of kinds nobody registered.")
    ] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error")] = "info",
    plugin: Annotated[
        list[str],
        typer.Option(
            "--plugin", help="Switch a plugin on by name (repeatable; also MODELTRAIL_PLUGINS)."
        ),
    ] = [],  # noqa: B006
    plugin_config: Annotated[
        str | None,
        typer.Option(
            "--plugin-config",
            envvar="MODELTRAIL_PLUGIN_CONFIG",
            help="JSON or YAML file: {plugins: {NAME: {enabled: true, KEY: VALUE}}}.",
        ),
    ] = None,
    log_format: Annotated[str, typer.Option(help="json (one object a line) or text")] = "json",
    auth: Annotated[
        bool | None,
        typer.Option(
            "--auth/--no-auth",
            help="Require API tokens. Default: on unless listening "
            "on loopback with no admin token configured.",
            show_default=False,
        ),
    ] = None,
    admin_token: Annotated[
        str | None,
        typer.Option(
            "--admin-token",
            envvar="MODELTRAIL_ADMIN_TOKEN",
            show_default=False,
            help="A token with the admin role, at least 32 characters (required when access "
            "control is on, until the store holds an admin token of its own).",
        ),
    ] = None,
    allowed_hosts: Annotated[
        str | None,
        typer.Option(
            "--allowed-hosts",
            envvar="MODELTRAIL_ALLOWED_HOSTS",
            show_default=False,
            help="Host names clients reach the server by, comma-separated (*.example.com for "
            "every name under one, * for any), besides localhost, 127.0.0.1, [::1] and --host.",
        ),
    ] = None,
    artifacts_root: ArtifactsRoot = None,
    max_file_bytes: MaxFileBytes = None,
    cors_origins: Annotated[
        str | None,
        typer.Option(
            "--cors-origins",
            envvar="MODELTRAIL_CORS_ORIGINS",
            show_default=False,
            help="Origins of web pages that may call the API, comma-separated "
            "(https://app.example.com; * for any). Default: none.",
        ),
    ] = None,
    root_path: Annotated[
        str | None,
        typer.Option(
            "--root-path",
            envvar="MODELTRAIL_ROOT_PATH",
            show_default=False,
            help="The path prefix a reverse proxy publishes the server under (/trail for "
            "https://host/trail/), whether the proxy strips it or passes it on. Default: none.",
        ),
    ] = None,
) -> None:
    """Run the API server (and the web UI) on DATABASE_URL."""
    import uvicorn

    from modeltrail.plugins.manager import PluginError, PluginManager
    from modeltrail.server.app import attach, routed_app
    from modeltrail.server.auth import AuthSettings
    from modeltrail.server.observability import configure_logging
    from modeltrail.server.transport import HttpSettings
    from modeltrail.services.metadata import Metadata
    from modeltrail.services.tokens import has_admin_token

    configure_logging(log_level, fmt=log_format)
    try:
        http_settings = HttpSettings.serving(
            host, allowed_hosts=allowed_hosts, cors_origins=cors_origins, root_path=root_path
        )
        # Before the store is opened: a refused setting creates no database file.
        app = routed_app(http_settings)
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    try:
        hooks = PluginManager.from_config(plugin, plugin_config)
        files = file_service(database_url, artifacts_root, max_file_bytes)
        # The server's own process: its reads may hold the garbage collector off.
        metadata = Metadata.open(
            database_url,
            strict_kinds=strict_kinds,
            hooks=hooks,
            hold_collector=True,
            files=files,
        )
    except (SchemaOutdated, PluginError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except ModeltrailError as exc:
        err_console.print(f"[red]error:[/red] {exc.detail}", highlight=False)
        raise typer.Exit(2) from None
    try:
        auth_settings = AuthSettings.decide(
            host,
            auth=auth,
            admin_token=admin_token,
            stored_admin=lambda: metadata.query(has_admin_token),
        )
    except ValueError as exc:
        metadata.close()
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    hooks.start(metadata)
    shown = metadata.db.engine.url.render_as_string(hide_password=True)
    access = "on" if auth_settings.enabled else "off"
    where = f"http://{host}:{port}{http_settings.root_path}/"
    console.print(f"modeltrail serving {shown} on {where} (access control {access})")
    console.print(f"answering the host names {', '.join(http_settings.allowed_hosts)}")
    if files is not None:
        console.print(f"artifact files in {files.blobs.describe()}", highlight=False)
    if http_settings.cors_origins:
        console.print(f"CORS on for {', '.join(http_settings.cors_origins)}")
    attach(app, metadata, auth_settings)
    try:
        # What start-up made (modules, the app, the models' validators) lives as long as the
        # process: out of the collector's sight, a full collection looks only at what the
        # requests made, instead of at a few hundred thousand objects each time.
        gc.freeze()
        uvicorn.run(
            app, host=host, port=port, log_level=log_level, access_log=False, log_config=None
        )
    finally:
        metadata.close()


db = typer.Typer(help="Create, inspect and migrate a database.", no_args_is_help=True)
app.add_typer(db, name="db")


@db.command("upgrade")
def db_upgrade(
    database_url: DatabaseUrl = DEFAULT_URL,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
    as_json: JsonOption = False,
) -> None:
    """Migrate the database schema to this version of modeltrail."""
    from alembic.util import CommandError

    with one_line_errors(2):
        database = open_database(database_url)
    before = current_revision(database.engine)
    try:
        upgrade(database.engine, revision)
    except CommandError as exc:
        # A revision that does not exist (a typo, or one of a newer modeltrail): one line.
        err_console.print(f"[red]error:[/red] --revision: {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    after = current_revision(database.engine)
    if as_json:
        print_json({"before": before, "after": after, "upgraded": after != before})
    elif after == before:
        console.print(f"schema already at {after}: nothing to do")
    else:
        console.print(f"schema upgraded: {before or 'empty'} -> {after}")


@db.command("current")
def db_current(database_url: DatabaseUrl = DEFAULT_URL, as_json: JsonOption = False) -> None:
    """Print the schema revision of the database and the one this code needs."""
    with one_line_errors(2):
        database = open_database(database_url)
    found, needed = current_revision(database.engine), head_revision(database.engine)
    if as_json:
        print_json({"database": found, "code": needed})
        return
    console.print(f"database: {found or 'empty'}; code: {needed}")
