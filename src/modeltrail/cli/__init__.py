"""The ``modeltrail`` command line. Each module adds its commands to ``app``."""

from __future__ import annotations

from modeltrail.cli import entities, kinds, portability, server, tokens  # noqa: F401 - registers commands
from modeltrail.cli.common import app


def main() -> None:
    app()


__all__ = ["app", "main"]
