"""Secrets a plugin is configured with (a webhook URL and its token) are shown masked in every
answer and log line, and never leave the store in an export."""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from test_notifications import _post, _run

from conftest import run_cli
from modeltrail.domain.secrets import mask_token, mask_url, mask_urls_in
from modeltrail.plugins.manager import PluginManager
from modeltrail.server.app import create_app
from modeltrail.services.metadata import Metadata, NoHooks
from modeltrail.store.tables import NotificationRow

API = "/api/v1"
TOKEN = "T0AAA-B0BBB-s3cr3tT0k3nXYZ"


def test_masks() -> None:
    assert mask_url(f"https://hooks.slack.com/services/{TOKEN}") == "https://hooks.slack.com/***"
    assert (
        mask_url(f"https://user:{TOKEN}@mlflow.internal:5000") == "https://mlflow.internal:5000/***"
    )
    assert mask_url(f"https://x.example/hook?token={TOKEN}") == "https://x.example/***"
    assert mask_url("https://x.example") == "https://x.example"
    assert mask_token(TOKEN) == "****nXYZ" and mask_token("short") == "****"
    line = f"ConnectError: posting to http://127.0.0.1:9/{TOKEN} failed"
    assert mask_urls_in(line) == "ConnectError: posting to http://127.0.0.1:9/*** failed"


@pytest.mark.parametrize(
    "line, masked",
    [
        (f"POST https://h.example/{TOKEN}: 500", "POST https://h.example/***: 500"),
        (f"failed (https://h.example/x?k={TOKEN}).", "failed (https://h.example/***)."),
        (f"at https://h.example:8443/{TOKEN}, then", "at https://h.example:8443/***, then"),
        ("see https://h.example.", "see https://h.example."),
    ],
)
def test_masking_keeps_the_punctuation_after_a_url(line: str, masked: str) -> None:
    assert mask_urls_in(line) == masked
    assert TOKEN not in mask_urls_in(line)


def _wait_failed(client: TestClient) -> dict:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status = client.get(f"{API}/plugins").json()["items"][0]["status"]
        if status["notifications"].get("failed"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"no delivery failed: {status}")


def test_a_webhook_token_is_never_shown_nor_exported(
    metadata: Metadata, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:9/services/{TOKEN}?sig={TOKEN}"
    hooks = PluginManager(
        ["notifications"],
        {"notifications": {"urls": url, "backoff": "0.02", "retries": "2", "timeout": "1"}},
    )
    metadata.hooks = hooks
    hooks.start(metadata)
    caplog.set_level(logging.DEBUG)
    try:
        with TestClient(create_app(metadata)) as client:
            experiment = _post(client, "experiments", {"name": "e"})["id"]
            _run(client, experiment, "r", "FAILED")
            status = _wait_failed(client)
            answer = client.get(f"{API}/plugins").text
    finally:
        hooks.stop()
        metadata.hooks = NoHooks()
    assert status["lastDelivery"]["target"] == "http://127.0.0.1:9/***"
    assert TOKEN not in answer and "services/" not in answer
    assert "notifications: delivery to http://127.0.0.1:9/*** failed" in caplog.text
    assert TOKEN not in caplog.text

    # A delivery record written before targets were masked holds the whole URL.
    with metadata.session() as session:
        session.add(
            NotificationRow(
                key=f"run-ended|{uuid.uuid4()}|{url}",
                rule="run-ended",
                target=url,
                payload={"text": "old"},
                status="failed",
                attempts=2,
                last_error=f"ConnectError: {url}",
            )
        )
    with metadata.session() as session:
        stored = [r.target for r in session.query(NotificationRow)]
    assert stored.count(url) == 1 and "http://127.0.0.1:9/***" in stored

    backup = tmp_path / "backup.ndjson"
    run_cli("export", "--output", str(backup), "--url", str(metadata.db.engine.url))
    exported = backup.read_text()
    assert '"table":"notifications"' in exported
    assert TOKEN not in exported and "services/" not in exported


def test_a_plugin_setting_that_is_not_unicode_stops_the_start(tmp_path: Path) -> None:
    from modeltrail.plugins.manager import PluginError

    config = tmp_path / "plugins.json"
    config.write_text('{"plugins": {"notifications": {"urls": "https://x.example/\\ud800"}}}')
    with pytest.raises(PluginError, match="not valid Unicode at /plugins/notifications/urls"):
        PluginManager.from_config(config_file=str(config), environ={})
