"""The command line on its own store: what a user sees on the screen, and nothing else."""

from __future__ import annotations

import json
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
    run_cli("db", "upgrade", "--database-url", url, cwd=tmp_path)
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


BAD_URLS = {
    "htp://127.0.0.1:8080": "'htp://' is not a store modeltrail can open",
    "127.0.0.1:8080": "did you mean http://127.0.0.1:8080",
    "localhost:8080/api": "did you mean http://localhost:8080/api",
}


def test_a_bad_store_url_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    for url, message in BAD_URLS.items():
        for args in (
            ("experiments", "list", "--url", url),
            ("db", "upgrade", "--database-url", url),
        ):
            done = run_cli(*args, cwd=tmp_path, check=False)
            assert done.returncode != 0, (args, done.stdout)
            assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
            assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_postgresql_database_that_does_not_exist_is_one_line(
    tmp_path: Path, postgres_url: str
) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/modeltrail_no_such_database"
    for args in (
        ("experiments", "list", "--url", url),
        ("server", "--port", "1", "--database-url", url),
        ("db", "current", "--database-url", url),
    ):
        done = run_cli(*args, cwd=tmp_path, check=False)
        assert done.returncode != 0, args
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert "cannot open the store at" in lines[0]
        assert 'database "modeltrail_no_such_database" does not exist' in lines[0]


def test_a_read_only_command_without_a_store_makes_none(tmp_path: Path) -> None:
    for args in (
        ("experiments", "list"),
        ("trace", "handwriting"),
        ("export", "--output", "x.json"),
    ):
        done = run_cli(*args, cwd=tmp_path, check=False)
        assert done.returncode != 0, args
        assert "there is no store here: modeltrail.db does not exist" in done.stderr, done.stderr
        assert not (tmp_path / "modeltrail.db").exists()
        assert "Traceback" not in done.stderr


def test_db_upgrade_says_when_there_is_nothing_to_do(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    first = run_cli("db", "upgrade", "--database-url", url)
    assert "schema upgraded: empty -> " in first.stdout
    again = run_cli("db", "upgrade", "--database-url", url)
    assert "nothing to do" in again.stdout and "->" not in again.stdout


def test_db_commands_print_json_and_a_bad_revision_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    bad = run_cli("db", "upgrade", "--database-url", url, "--revision", "nope", check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
    assert bad.stderr.strip().splitlines() == [
        "error: --revision: Can't locate revision identified by 'nope'"
    ]
    done = json.loads(run_cli("db", "upgrade", "--database-url", url, "--json").stdout)
    assert done["before"] is None and done["upgraded"] is True
    current = json.loads(run_cli("db", "current", "--database-url", url, "--json").stdout)
    assert current == {"database": done["after"], "code": done["after"]}
