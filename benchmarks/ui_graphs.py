"""Time to the first paint of a graph in headless Chromium: the trace of 1,000 runs and the
lineage of a dataset that 2,000 runs read (about 15,000 nodes downstream), cold (a new browser
context) and warm (the same page again), and where the time went: until the answer was in
(``fetched``), until the graph was laid out (``laid out``), until it was drawn, and until what
the view goes on to read after its first paint (the trace's older runs) is drawn too
(``all drawn``).

    python benchmarks/ui_graphs.py [--hot-runs 2000] [--trace-runs 1000] [--repeat 3]

The store is built with the bulk builder of ``benchmarks/lineage.py`` (its "hot dataset"
experiment: runs that prepare, train and deploy from one dataset, half of them reading an equal
copy), then served by a real ``modeltrail server``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT)]

from benchmarks.lineage import build  # noqa: E402
from benchmarks.servers import modeltrail  # noqa: E402
from modeltrail.services.metadata import Metadata  # noqa: E402
from ui.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PHASES = {"fetched": "modeltrail:graph-fetched", "laid out": "modeltrail:graph-laid-out"}


def drawn(page: Any, url: str, condition: str) -> dict[str, float]:
    """Milliseconds from navigation start until ``condition`` holds in the page (``drawn``),
    and until the view's first answer was in and its first layout done (its marks)."""
    page.goto(url, wait_until="commit")
    handle = page.wait_for_function(
        f"() => ({condition}) && performance.now()", timeout=120_000, polling=50
    )
    times = {"drawn": float(handle.json_value())}
    # A view that draws the nearest part first goes on reading the rest: until it is drawn too.
    done = page.wait_for_function(
        "() => !/loading older runs|loading…/.test(document.body.textContent) && performance.now()",
        timeout=120_000,
        polling=50,
    )
    times["all drawn"] = float(done.json_value())
    for phase, mark in PHASES.items():
        found = page.evaluate(
            "(m) => performance.getEntriesByName(m).map((e) => e.startTime)[0] ?? null", mark
        )
        if found is not None:
            times[phase] = float(found)
    return times


def summary(runs: list[dict[str, float]]) -> str:
    """Each phase's median, and the first paints one by one."""
    phases = [p for p in (*PHASES, "drawn", "all drawn") if all(p in r for r in runs)]
    medians = ", ".join(f"{p} {statistics.median(r[p] for r in runs):.0f}" for p in phases)
    each = ", ".join(f"{r['drawn']:.0f}" for r in runs)
    return f"{medians} ms (drawn: {each})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hot-runs", type=int, default=2000)
    parser.add_argument("--trace-runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'graphs.db'}"
        meta = Metadata.open(url)
        probes = build(meta, 0, 0, 0, args.hot_runs)
        meta.close()
        server = modeltrail(url, Path(tmp))
        newest = f"hot-{args.hot_runs - 1}"
        views = {
            f"trace of {args.trace_runs:,} runs": (
                f"/experiments/{probes['hot_experiment']}/trace?runs={args.trace_runs}",
                f"[...document.querySelectorAll('.gnode.run-header')]"
                f".some((n) => n.textContent.includes('{newest}'))",
            ),
            "lineage of the dataset": (
                f"/artifacts/{probes['hot_data']}/lineage?direction=downstream&depth=10",
                "document.querySelectorAll('.react-flow__node').length > 0 && "
                "/[\\d,]+ of (at least )?[\\d,]+ nodes shown/.test(document.body.textContent) && "
                "!/loading…/.test(document.body.textContent)",
            ),
        }
        results: dict[str, tuple[list[dict[str, float]], list[dict[str, float]]]] = {
            v: ([], []) for v in views
        }
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for _ in range(args.repeat):
                    for name, (path, condition) in views.items():
                        context = browser.new_context(
                            viewport={"width": 1280, "height": 800}, base_url=server.url
                        )
                        page = context.new_page()
                        results[name][0].append(drawn(page, path, condition))
                        results[name][1].append(drawn(page, path, condition))
                        if name.startswith("lineage"):
                            nodes = page.evaluate(
                                "document.body.textContent"
                                ".match(/([\\d,]+) of (at least )?[\\d,]+ nodes/)[1]"
                            )
                        context.close()
                browser.close()
        finally:
            server.stop()
    for name, (cold, warm) in results.items():
        label = f"{name} ({nodes} nodes drawn first)" if name.startswith("lineage") else name
        print(f"{label}, median of {args.repeat}:")
        print(f"  cold: {summary(cold)}")
        print(f"  warm: {summary(warm)}")


if __name__ == "__main__":
    main()
