"""Reads hold the cyclic garbage collector off while they build an answer, and only then."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from modeltrail import collector
from modeltrail.services.metadata import Metadata


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


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
    passes: list[str] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            passes.append(phase)

    gc.callbacks.append(note)
    try:
        with collector.held():
            with collector.held():
                pass
            assert passes  # the inner read ended after the longest hold: it collected
            assert not gc.isenabled()
        assert gc.isenabled()
    finally:
        gc.callbacks.remove(note)
