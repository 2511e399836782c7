"""The command line on its own store: what a user sees on the screen, and nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import cli_env, run_cli

IN_PROCESS = """
import sys
from modeltrail.cli import app
try:
    app(["experiments", "list", "--url", sys.argv[1]])
except SystemExit as exc:
    assert not exc.code, exc.code
loaded = [m for m in sys.modules if m.startswith("starlette.testclient")]
assert not loaded, loaded
"""


def test_an_in_process_command_prints_no_warning(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    run_cli("db", "upgrade", url=url, cwd=tmp_path)
    listed = run_cli("experiments", "list", url=url, cwd=tmp_path)
    assert listed.stderr == ""
    # Starlette's test client warns on import where httpx2 is not installed (a user's
    # machine): the embedded mode must not use it at all.
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", IN_PROCESS, url],
        env=cli_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
