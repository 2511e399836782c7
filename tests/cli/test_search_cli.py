"""``modeltrail search`` against a database in-process (both databases) and a server."""

from __future__ import annotations

import json

from conftest import ServerProcess, run_cli
from modeltrail.services.metadata import Metadata


def test_search_a_database(metadata: Metadata) -> None:
    store = metadata.db.engine.url.render_as_string(hide_password=False)
    run_cli("experiments", "create", "handwriting", url=store)
    run_cli("runs", "start", "handwriting", "--name", "letters-night", url=store)
    hits = json.loads(run_cli("search", "letters", "--json", url=store).stdout)["items"]
    assert [(h["type"], h["name"]) for h in hits] == [("run", "letters-night")]
    shown = run_cli("search", "hand", url=store).stdout
    assert "experiment" in shown and "handwriting" in shown
    by_type = json.loads(run_cli("search", "h", "--type", "run", "--json", url=store).stdout)
    assert by_type["items"] == []
    assert "nothing matches" in run_cli("search", "zzz", url=store).stdout
    run_cli("runs", "start", "handwriting", "--name", "letters-day", url=store)
    one = json.loads(run_cli("search", "letters", "-n", "1", "--json", url=store).stdout)
    assert len(one["items"]) == 1
    refused = run_cli("search", "x", "--type", "dataset", url=store, check=False)
    assert refused.returncode == 1 and "no entity type" in refused.stderr
    assert "Traceback" not in refused.stderr
    long = run_cli("search", "x" * 2_000, url=store, check=False)
    assert long.returncode == 1 and "at most 1000" in long.stderr


def test_search_a_server(server: ServerProcess) -> None:
    url = server.url
    run_cli("experiments", "create", "served", url=url)
    hits = json.loads(run_cli("search", "serv", "--json", url=url).stdout)["items"]
    assert [(h["type"], h["name"]) for h in hits] == [("experiment", "served")]
