"""Reads hold the cyclic garbage collector off while they build an answer, and the SDK while
it parses one; only then."""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy.orm import Session

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


def test_a_query_runs_with_the_collector_off_and_gives_it_back(metadata: Metadata) -> None:
    def inside(session: Session) -> bool:
        return gc.isenabled()

    def failing(session: Session) -> None:
        raise RuntimeError("boom")

    assert metadata.query(inside) is False
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


def test_the_sdk_parses_a_large_answer_with_the_collector_held_off() -> None:
    # A trace of a thousand runs is ~10 MB: with the collector walking its objects as the
    # parse makes them, the parse takes two and a half times as long.
    nodes = [{"id": str(i), "runs": [str(i)], "kind": "model"} for i in range(50_000)]
    answer = {"artifacts": nodes}
    response = httpx.Response(200, content=json.dumps(answer).encode())
    with passes() as started:
        assert parsed(response) == answer
        during = list(started)
    assert gc.isenabled()  # given back
    # Once, after the parse, over what it made; not every 700 new objects (~140 passes here).
    assert len(during) <= 1
    assert parsed(httpx.Response(204)) is None
