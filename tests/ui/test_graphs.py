"""The graph views at scale in a real headless Chromium: what the browser downloads, readable
text on large traces and lineages, the trace's diff mode and the lineage depth in the URL."""

from __future__ import annotations

from typing import Any

import pytest

from ui.casestudy import CaseStudy

pytestmark = pytest.mark.slow


def transfers(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(  # type: ignore[no-any-return]
        """performance.getEntriesByType('resource').map((e) => ({
            name: e.name, encoded: e.encodedBodySize, decoded: e.decodedBodySize }))"""
    )


def test_the_bundle_and_the_answers_arrive_compressed(page: Any, case: CaseStudy) -> None:
    page.goto(f"/artifacts/{case.ids['run2.validation']}/lineage?depth=5")
    page.wait_for_selector(".react-flow__node")
    scripts = [e for e in transfers(page) if e["name"].endswith(".js")]
    # The tables' chunk is not fetched by a graph view: the bundle is split by view.
    assert not any("/Browse-" in e["name"] for e in scripts)
    assert any("/Lineage-" in e["name"] for e in scripts)
    for e in scripts:
        if e["decoded"] > 4096:
            assert e["encoded"] < e["decoded"] / 2, e
    lineage = [e for e in transfers(page) if "/lineage" in e["name"] and "/api/" in e["name"]]
    assert lineage and all(e["encoded"] < e["decoded"] for e in lineage), lineage
