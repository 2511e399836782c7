"""The SDK and the command line refuse text that is not Unicode before sending it, naming
the field, as the server would."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli
from modeltrail.errors import InvalidInput, InvalidText
from modeltrail.sdk.connection import Connection


def test_the_sdk_names_the_field(tmp_path: Path) -> None:
    with Connection(f"sqlite:///{tmp_path / 's.db'}") as conn:
        with pytest.raises(InvalidText) as refused:
            conn.post("/api/v1/experiments", {"name": "e", "annotations": {"k": "\ud800"}})
        assert isinstance(refused.value, InvalidInput)
        assert refused.value.errors[0]["pointer"] == "/annotations/k"
        with pytest.raises(InvalidText):
            conn.get("/api/v1/experiments", filter="name:eq:\udcff")
        assert conn.get("/api/v1/experiments")["items"] == []


def test_the_command_line_refuses_arguments_that_are_not_utf8(tmp_path: Path) -> None:
    # A shell argument of bytes that are not UTF-8 reaches Python as lone surrogates.
    run_cli("experiments", "create", "handwriting", cwd=tmp_path)  # a store to ask
    result = run_cli("experiments", "list", "--filter", "name:eq:\udcff", cwd=tmp_path, check=False)
    assert result.returncode == 1, result
    assert "not valid Unicode" in result.stderr and "/filter" in result.stderr
    assert "Traceback" not in result.stderr
