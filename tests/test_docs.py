"""Documentation that must not drift from the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_api_reference_is_generated_from_the_current_openapi_document() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_api_reference.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_starts_with_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in first_block.strip().splitlines() if line.strip()]
    assert len(commands) == 2
    assert "pip install" in commands[0] and "modeltrail server" in commands[0]
    assert commands[1].startswith("./scripts/test")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./scripts/test" in ci


def test_code_is_linted_and_formatted() -> None:
    paths = ["src", "tests", "benchmarks", "examples", "scripts"]
    for args in (["check", *paths], ["format", "--check", *paths]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
