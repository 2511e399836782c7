"""How the command line tells a refusal: one sentence on stderr, exit code 1, and a hint
that fits the refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from conftest import run_cli
from modeltrail.cli.common import one_line_errors
from modeltrail.errors import Forbidden, ModeltrailError, Unauthorized


def _told(error: ModeltrailError, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(typer.Exit) as stopped, one_line_errors():
        raise error
    assert stopped.value.exit_code == 1
    return capsys.readouterr().err


def test_a_missing_token_is_told_how_to_give_one(capsys: pytest.CaptureFixture[str]) -> None:
    told = _told(Unauthorized("this server needs an API token"), capsys)
    assert "set MODELTRAIL_TOKEN" in told


def test_a_token_without_the_role_is_not_told_to_give_a_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A writer moving a protected alias has a token: what it lacks is the deployer role,
    which the refusal names."""
    refused = Forbidden(
        "alias 'production' of model 'm' is protected: only a token with the deployer or "
        "admin role may change it",
        errors=[{"pointer": "/alias", "detail": "protected alias"}],
    )
    told = _told(refused, capsys)
    assert "deployer or admin role" in told and "/alias: protected alias" in told
    assert "MODELTRAIL_TOKEN" not in told


def test_a_name_that_is_not_unicode_is_refused_naming_it(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 in an argument (a lone surrogate once decoded) are refused in
    a sentence, as in a request's body, and never end in a traceback."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    for args in (
        ("models", "alias", "set", "digits\udcff", "production", "1"),
        ("models", "alias", "set", "digits", "prod\udcff", "1"),
        ("models", "show", "digits\udcff"),
    ):
        done = run_cli(*args, "--url", url, cwd=tmp_path, check=False)
        assert done.returncode == 1, done.stderr
        assert "not valid Unicode" in done.stderr and "Traceback" not in done.stderr
