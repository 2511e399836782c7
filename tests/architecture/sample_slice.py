"""An integration as a contributor adds one: a folder's routes and commands (see
test_integrations.py, which lists it the way ``INTEGRATIONS`` lists the real ones)."""

from __future__ import annotations

import typer
from fastapi import APIRouter

from modeltrail.server.deps import MetadataDep

router = APIRouter(prefix="/sample", tags=["Sample"])


@router.post("/echo", operation_id="sampleEcho")
def echo(meta: MetadataDep, body: dict[str, str]) -> dict[str, str]:
    return {**body, "store": type(meta).__name__}


sample = typer.Typer(help="A sample integration's commands.")


@sample.command("hello")
def hello() -> None:
    typer.echo("hello from the sample")


def register(app: typer.Typer) -> None:
    app.add_typer(sample, name="sample")
