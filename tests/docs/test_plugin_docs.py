"""Every hook and every notifications setting is documented (datasette's test_docs idea)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from modeltrail.plugins import notifications, spec

DOCS = Path(__file__).parents[2] / "docs"


def test_every_hook_is_documented() -> None:
    text = (DOCS / "plugins.md").read_text()
    for hook in spec.HOOKS:
        assert f"`{hook}(" in text, f"hook {hook} is not documented in docs/plugins.md"
        assert hasattr(spec, hook)


def test_every_notifications_setting_is_documented() -> None:
    source = inspect.getsource(notifications.Notifications.modeltrail_start)
    settings = set(re.findall(r'settings\.get\("(\w+)"', source))
    assert {"urls", "failures_in_a_row", "retries", "backoff"} <= settings
    table = (DOCS / "integrations.md").read_text()
    for setting in settings - {"url"}:  # `url` is an alias of `urls`
        assert f"| `{setting}` |" in table, (
            f"setting {setting} is not documented in docs/integrations.md"
        )
    for rule in notifications.RULES:
        assert f"`{rule}`" in table
