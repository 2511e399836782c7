"""Ids in graph answers are a UUID's canonical text, whatever form a producer handed."""

from __future__ import annotations

import uuid

import pytest

from modeltrail.domain import lineage
from modeltrail.domain.lineage import Edge


def test_every_form_of_an_id_answers_as_its_canonical_text() -> None:
    u = uuid.uuid4()
    for given in (u, u.hex, str(u)):
        edge = Edge(source=given, target=given, type="input")
        assert edge.source == edge.target == str(u)
        assert edge.model_dump(mode="json")["source"] == str(u)


def test_the_id_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lineage._IdTexts, "LIMIT", 8)
    texts = lineage._IdTexts()
    ids = [uuid.uuid4() for _ in range(50)]
    assert [texts[u.hex] for u in ids] == [str(u) for u in ids]
    assert len(texts) <= 8
