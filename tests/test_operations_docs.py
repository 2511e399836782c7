"""docs/operations.md documents every server option and every metric."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import run_cli
from modeltrail.server import observability

DOC = (Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text()


def test_every_server_option_is_documented() -> None:
    help_text = run_cli("server", "--help").stdout
    options = set(re.findall(r"--[a-z][a-z-]+", help_text)) - {"--help"}
    assert options, help_text
    missing = sorted(o for o in options if f"`{o}`" not in DOC)
    assert not missing, f"undocumented in docs/operations.md: {missing}"


def test_every_metric_is_documented() -> None:
    names = {m.name for m in observability.REGISTRY.collect()}
    missing = sorted(n for n in names if n not in DOC and n + "_total" not in DOC)
    assert not missing, missing
