"""How the command line tells a refusal: one sentence on stderr, exit code 1, and a hint
that fits the refusal."""

from __future__ import annotations

import pytest
import typer

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
