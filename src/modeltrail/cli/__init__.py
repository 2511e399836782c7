"""The ``modeltrail`` command line. Each module adds its commands to ``app``."""

from __future__ import annotations

from modeltrail.cli import (  # noqa: F401 - registers commands
    argo,
    entities,
    imports,
    kinds,
    lineage,
    portability,
    server,
    sync,
    tokens,
)
from modeltrail.cli.common import app


def main() -> None:
    app()


__all__ = ["app", "main"]
