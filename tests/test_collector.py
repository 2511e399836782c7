"""The server's reads hold the cyclic garbage collector off while they build an answer; the
SDK, embedded store included, never touches the collector of the process it runs in."""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

import modeltrail as mt
from modeltrail import collector
from modeltrail.sdk.connection import parsed
from modeltrail.services.metadata import Metadata


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


@contextmanager
def passes() -> Iterator[list[int]]:
    """The generation of every pass the collector starts inside the block."""
    started: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(note)
    try:
        yield started
    finally:
        gc.callbacks.remove(note)


def _inside(session: Session) -> bool:
    return gc.isenabled()


def test_a_servers_query_runs_with_the_collector_off_and_gives_it_back(
    metadata: Metadata, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(session: Session) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(metadata, "hold_collector", True)
    assert metadata.query(_inside) is False
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        metadata.query(failing)
    assert gc.isenabled()


def test_overlapping_holds_give_it_back_when_the_last_ends() -> None:
    first_in, second_done = threading.Event(), threading.Event()

    def first() -> None:
        with collector.held():
            first_in.set()
            second_done.wait(5)

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with collector.held():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the first read still runs
    second_done.set()
    thread.join(5)
    assert gc.isenabled()


def test_a_collector_the_application_turned_off_stays_off() -> None:
    gc.disable()
    with collector.held():
        pass
    assert not gc.isenabled()


def test_reads_that_never_stop_overlapping_still_collect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collector, "LONGEST_HOLD", 0.0)
    with passes() as started:
        with collector.held():
            with collector.held():
                pass
            assert started  # the inner read ended after the longest hold: it collected
            assert not gc.isenabled()
        assert gc.isenabled()


def test_a_store_opened_outside_the_server_leaves_the_collector_alone(
    metadata: Metadata,
) -> None:
    assert metadata.query(_inside) is True


_ENABLE, _DISABLE = gc.enable, gc.disable


@pytest.fixture
def gc_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call that would change the collector's state, noted instead of made."""
    calls: list[str] = []
    for name in ("disable", "enable", "freeze", "unfreeze", "set_threshold", "collect"):
        monkeypatch.setattr(gc, name, lambda *a, _name=name, **k: calls.append(_name))
    return calls


@pytest.mark.parametrize("enabled", [True, False])
def test_the_sdk_never_changes_the_collector(
    gc_calls: list[str], tmp_path: Path, enabled: bool
) -> None:
    (_ENABLE if enabled else _DISABLE)()
    nodes = [{"id": str(i), "runs": [str(i)], "kind": "model"} for i in range(50_000)]
    answer = {"artifacts": nodes}
    assert parsed(httpx.Response(200, content=json.dumps(answer).encode())) == answer
    assert parsed(httpx.Response(204)) is None
    trail = mt.connect(f"sqlite:///{tmp_path / 'store.db'}")
    with trail.run(experiment="e", pipeline="p") as run, run.step("s") as step:
        data = step.output(mt.dataset("s3://b/d.csv"))
    trail.conn.get(f"/api/v1/artifacts/{data.id}/lineage")
    trail.conn.get(f"/api/v1/experiments/{run.experiment_id}/trace")
    trail.close()
    enabled_after = gc.isenabled()
    _ENABLE()
    assert gc_calls == [] and enabled_after is enabled
