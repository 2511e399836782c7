"""Documentation that must not drift from the code."""

from __future__ import annotations

import re
import subprocess
import sys
import tokenize
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


# A measured figure in prose: "0.45 ms", "80 µs", "~25% faster", "3× the time", "twice as fast".
TIMING = re.compile(
    r"\d[\d.,]*\s?(ms|µs|μs|ns)\b|\d\s?%|\d\s?×|\b(twice|\d+ times) as (fast|slow|long)",
    re.IGNORECASE,
)


def test_comments_and_docstrings_quote_no_timings() -> None:
    """Figures go stale the day after: they live in benchmarks/ and commit bodies."""
    found = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        with path.open("rb") as source:
            for token in tokenize.tokenize(source.readline):
                prose = token.type == tokenize.COMMENT or (
                    token.type == tokenize.STRING
                    and token.string.lstrip("rbuRBU")[:3] in ('"""', "'''")
                )
                if prose and TIMING.search(token.string):
                    where = f"{path.relative_to(ROOT)}:{token.start[0]}"
                    found.append(f"{where}: {TIMING.search(token.string).group()!r}")
    assert not found, "\n".join(found)


REQUIREMENT = re.compile(r"\bN?FR\d+\b")


def test_requirement_codes_live_in_one_traceability_table() -> None:
    """Users read what a thing does; the thesis's codes are looked up in docs/requirements.md."""
    table = ROOT / "docs" / "requirements.md"
    pages = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    elsewhere = [
        f"{page.relative_to(ROOT)}: {code}"
        for page in pages
        if page != table
        for code in REQUIREMENT.findall(page.read_text(encoding="utf-8"))
    ]
    assert not elsewhere, elsewhere
    rows = [
        line for line in table.read_text(encoding="utf-8").splitlines() if line.startswith("| ")
    ]
    codes = [REQUIREMENT.match(row[2:]).group() for row in rows if REQUIREMENT.match(row[2:])]
    assert codes == [f"FR{i}" for i in range(1, 12)] + [f"NFR{i}" for i in range(1, 7)]
    for row in rows:
        for path in re.findall(r"`(tests/[^`]+)`", row):
            assert (ROOT / path).exists(), f"docs/requirements.md names {path}, which is gone"
        for link in re.findall(r"\]\(([^)#]+)", row):
            assert (table.parent / link).exists(), f"docs/requirements.md links to {link}"
