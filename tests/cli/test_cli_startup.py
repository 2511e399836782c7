"""Every command imports the CLI; what it imports is paid by ``--help`` and ``--version`` too."""

from __future__ import annotations

import subprocess
import sys

from conftest import cli_env

# Each costs a tenth of a second or more and is needed only by some commands: the migrations
# where a database's schema is checked, YAML where an Argo workflow is read.
LAZY = ("alembic", "yaml")


def test_the_cli_imports_migrations_and_yaml_only_when_a_command_needs_them() -> None:
    probe = f"import sys, modeltrail.cli; print(*(m for m in {LAZY!r} if m in sys.modules))"
    imported = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=cli_env(),
        check=True,
        timeout=120,
    ).stdout.split()
    assert imported == []
