"""Time to first render of the web UI in headless Chromium, on large stores.

1. The runs table with 100,000 runs: navigation start until the first page of rows is drawn
   (and until the count of all matches is shown).
2. A lineage graph of about 2,000 nodes (a dataset, 999 steps, 999 derived artifacts, fan-out
   10): navigation start until every node is laid out and drawn.
3. The runs grid of an experiment of 10,000 runs (5 parameters, 5 metrics each), with the 5
   parameter and 5 metric columns, sorted on a metric: until its 50 rows are drawn.
4. Comparing 20 of those runs with two metric series of 1,000 points each: until both
   overlaid charts are drawn.

5. Every everyday view's first paint, cold (a new browser context, nothing cached) and warm
   (the same tab again): the run page, the runs grid, the comparison, a model's page and an
   artifact's page, until the view's content is on screen (see ``checks``).

    python benchmarks/ui_render.py [--runs 100000] [--fanout 10] [--repeat 3]
    python benchmarks/ui_render.py --only runs-views [--grid-runs 10000] [--compared 20]
    python benchmarks/ui_render.py --only views [--grid-runs 10000] [--versions 200]

Rows are written straight into an SQLite file with bulk inserts (creating 100,000 runs through
the API would measure the API, not the UI); the UI is then served by a real `modeltrail server`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src"), str(ROOT / "tests")]

from sqlalchemy import insert  # noqa: E402

from benchmarks.servers import Server, modeltrail  # noqa: E402
from modeltrail.services.metadata import Metadata  # noqa: E402
from modeltrail.store.tables import (  # noqa: E402
    ArtifactRow,
    ExecutableRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ExperimentRow,
    RunRow,
)
from ui.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def fill(url: str, runs: int, fanout: int) -> tuple[str, int]:
    """Write `runs` runs and a lineage tree; answer the tree's root artifact and node count."""
    meta = Metadata.open(url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    base = {"version": "1", "annotations": {}, "revision": 1}
    experiment, executable, run0 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with meta.db.session() as session:
        session.execute(
            insert(ExperimentRow), [{**base, "id": experiment, "name": "large", "create_time": now}]
        )
        session.execute(
            insert(ExecutableRow),
            [
                {
                    **base,
                    "id": executable,
                    "name": "derive",
                    "create_time": now,
                    "uri": None,
                    "description": None,
                }
            ],
        )
        statuses = ["SUCCESS", "FAILED", "RUNNING"]
        for start in range(0, runs, 10_000):
            session.execute(
                insert(RunRow),
                [
                    {
                        **base,
                        "id": run0 if i == 0 else uuid.uuid4(),
                        "experiment_id": experiment,
                        "name": f"run-{i:06d}",
                        "create_time": now + timedelta(seconds=i),
                        "status": statuses[i % 3],
                        "end_time": None,
                        "uri": None,
                        "configuration": {"seed": i},
                        "pipeline_id": None,
                        "event_id": None,
                    }
                    for i in range(start, min(start + 10_000, runs))
                ],
            )

        def artifact(name: str, i: int) -> dict[str, object]:
            return {
                **base,
                "id": uuid.uuid4(),
                "name": name,
                "kind": "dataset",
                "kind_version": 1,
                "create_time": now + timedelta(seconds=i),
                "description": None,
                "uri": f"s3://b/{name}",
                "attributes": {},
                "fingerprint": uuid.uuid4().hex,
            }

        root = artifact("root", 0)
        artifacts, executions, inputs, outputs = [root], [], [], []
        frontier, total = [root["id"]], 1
        while frontier and total < 1000:
            next_frontier = []
            for parent in frontier:
                for _ in range(fanout):
                    if total >= 1000:
                        break
                    child = artifact(f"derived-{total}", total)
                    x = uuid.uuid4()
                    executions.append(
                        {
                            **base,
                            "id": x,
                            "name": f"step-{total}",
                            "run_id": run0,
                            "executable_id": executable,
                            "kind": "transform",
                            "status": "SUCCESS",
                            "create_time": now,
                            "start_time": now,
                            "end_time": now,
                            "uri": None,
                            "configuration": {},
                            "fingerprint": uuid.uuid4().hex,
                            "reused_from_id": None,
                        }
                    )
                    inputs.append({"execution_id": x, "artifact_id": parent, "position": 0})
                    outputs.append({"execution_id": x, "artifact_id": child["id"], "position": 0})
                    artifacts.append(child)
                    next_frontier.append(child["id"])
                    total += 1
            frontier = next_frontier
        session.execute(insert(ArtifactRow), artifacts)
        session.execute(insert(ExecutionRow), executions)
        session.execute(insert(ExecutionInputRow), inputs)
        session.execute(insert(ExecutionOutputRow), outputs)
    meta.close()
    return str(root["id"]), len(artifacts) + len(executions)


def measure(page: object, url: str, condition: str) -> float:
    page.goto(url, wait_until="commit")  # type: ignore[attr-defined]
    handle = page.wait_for_function(
        f"() => ({condition}) && performance.now()", timeout=120_000, polling=50
    )  # type: ignore[attr-defined]
    return float(handle.json_value())


def runs_server(runs: int, compared: int, tmp: str) -> Server:
    """A server on a store of ``runs`` runs (``benchmarks.runs_grid``'s), the first
    ``compared`` of which have two long series."""
    from benchmarks.runs_grid import METRICS, _values, fill_modeltrail

    values = _values(runs)
    for j, r in enumerate(values[:compared]):
        # two long series per compared run; the other metrics keep their three points
        for i, key in enumerate(METRICS[:2]):
            r["metrics"][key] = [1 / (1 + step / 50) + i + j / 100 for step in range(1000)]
    url = f"sqlite:///{Path(tmp) / 'runs.db'}"
    fill_modeltrail(url, values, series=compared).close()
    return modeltrail(url, Path(tmp))


# What the grid and the compare page show when they have drawn their content.
GRID_DRAWN = "document.querySelectorAll('table.data.grid:not(.stale) tbody tr').length >= 50"
CHARTS_DRAWN = (
    "[...document.querySelectorAll('[data-testid=compare-chart]')]"
    ".filter(c => c.querySelector('canvas') && Number(c.dataset.points) > 0).length >= 2"
)


def runs_views(runs: int, compared: int, repeat: int, tmp: str) -> None:
    """Time the runs grid sorted on a metric and the comparison of ``compared`` runs."""
    import httpx
    from playwright.sync_api import sync_playwright

    from benchmarks.runs_grid import METRICS, PARAMS

    server = runs_server(runs, compared, tmp)
    try:
        grid = httpx.get(
            f"{server.url}/api/v1/runs", params={"sort": "createTime", "limit": compared}
        ).json()
        experiment = grid["items"][0]["experiment"]
        ids = ",".join(item["id"] for item in grid["items"])
        columns = ",".join(
            [*(f"configuration.{p}" for p in PARAMS), *(f"metrics.{m}" for m in METRICS)]
        )
        drawn, charts = GRID_DRAWN, CHARTS_DRAWN
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800}, base_url=server.url)
            sorted_grid, auto_grid, compare = [], [], []
            for _ in range(repeat):
                sorted_grid.append(
                    measure(
                        page,
                        f"/experiments/{experiment}/runs?columns={columns}&sort=-metrics.m0",
                        drawn,
                    )
                )
                auto_grid.append(
                    measure(page, f"/experiments/{experiment}/runs?sort=-metrics.m0", drawn)
                )
                compare.append(measure(page, f"/compare/runs?ids={ids}&metrics=m0,m1", charts))
            shots = ROOT / "test-results" / "ui"
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"bench-compare-{compared}.png"))
            browser.close()
    finally:
        server.stop()

    def line(values: list[float]) -> str:
        every = ", ".join(f"{v:.0f}" for v in values)
        return f"{statistics.median(values):.0f} ms (median of {repeat}; all: {every})"

    print(
        f"runs grid, {runs:,} runs, 5 parameter and 5 metric columns, sorted on a metric: "
        f"drawn in {line(sorted_grid)}"
    )
    print(f"runs grid, {runs:,} runs, columns=auto, sorted on a metric: drawn in {line(auto_grid)}")
    print(
        f"compare {compared} runs, two series of 1,000 points each: "
        f"both charts drawn in {line(compare)}"
    )


def first_paint(page: object, url: str, condition: str) -> float:
    """Navigation start until ``condition`` holds and the browser has painted it (two frames
    later), in milliseconds."""
    page.goto(url, wait_until="commit")  # type: ignore[attr-defined]
    return float(
        page.evaluate(  # type: ignore[attr-defined]
            """(condition) => new Promise((resolve, reject) => {
                const check = new Function(`return (${condition})`);
                const started = performance.now();
                const poll = () => {
                    if (check()) requestAnimationFrame(() => requestAnimationFrame(
                        () => resolve(performance.now())));
                    else if (performance.now() - started > 120000) reject(new Error(condition));
                    else setTimeout(poll, 10);
                };
                poll();
            })""",
            condition,
        )
    )


def checks(compared: int) -> dict[str, str]:
    """What each view shows when it has painted its content, not only its frame, by name."""
    return {
        "run page (5 parameters, 5 metrics, two of 1,000 points, charted)": (
            "document.querySelectorAll('[data-testid=run-parameters] tr').length >= 5 && "
            "document.querySelectorAll('[data-testid=run-metrics] canvas').length >= 5"
        ),
        "runs grid (10 columns, sorted on a metric, 50 rows)": GRID_DRAWN,
        f"compare {compared} runs (two overlaid charts of 1,000 points a run)": CHARTS_DRAWN,
        "model page (versions with their metrics, aliases, history)": (
            "document.querySelectorAll('table.versions tbody tr').length >= 50 && "
            "document.querySelector('table[aria-label=aliases] tbody tr') !== null"
        ),
        "artifact page (provenance, 3 files, a CSV preview)": (
            "document.querySelector('[data-testid=produced-by] a') !== null && "
            "document.querySelectorAll('table.files tbody tr').length >= 3 && "
            "document.querySelector('[data-testid=preview] table, "
            "[data-testid=preview] pre') !== null"
        ),
    }


def views(runs: int, versions: int, compared: int, repeat: int, tmp: str) -> None:
    """First paint of each everyday view, cold and warm, on one store: the runs of
    ``runs_views`` and a model of ``versions`` versions whose newest has three files."""
    import httpx
    from playwright.sync_api import sync_playwright

    from benchmarks import registry
    from benchmarks.runs_grid import METRICS, PARAMS

    server = runs_server(runs, compared, tmp)
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            grid = http.get("/api/v1/runs", params={"sort": "createTime", "limit": compared})
            items = grid.json()["items"]
            experiment = items[0]["experiment"]
            ids = ",".join(item["id"] for item in items)
            registry.fill_modeltrail(http, versions)
            newest = http.get(f"/api/v1/models/{registry.MODEL}/versions", params={"limit": 1})
            artifact = newest.json()["items"][0]["artifact"]["id"]
            rows = "\n".join(f"{i},{i * 0.5},{'abc'[i % 3]}" for i in range(2000))
            files = {
                "metrics.csv": ("step,loss,split\n" + rows).encode(),
                "params.json": b'{"lr": 0.01, "epochs": 20}',
                "model.bin": bytes(range(256)) * 8192,
            }
            for name, data in files.items():
                put = http.put(f"/api/v1/artifacts/{artifact}/files/{name}", content=data)
                assert put.status_code == 201, put.text
        columns = ",".join(
            [*(f"configuration.{p}" for p in PARAMS), *(f"metrics.{m}" for m in METRICS)]
        )
        urls = [
            f"/runs/{items[0]['id']}",
            f"/experiments/{experiment}/runs?columns={columns}&sort=-metrics.m0",
            f"/compare/runs?ids={ids}&metrics=m0,m1",
            f"/models/{registry.MODEL}",
            f"/artifacts/{artifact}",
        ]
        conditions = checks(compared)
        cold: dict[str, list[float]] = {name: [] for name in conditions}
        warm: dict[str, list[float]] = {name: [] for name in conditions}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(repeat):
                for (name, condition), path in zip(conditions.items(), urls, strict=True):
                    context = browser.new_context(
                        viewport={"width": 1280, "height": 800}, base_url=server.url
                    )
                    page = context.new_page()
                    cold[name].append(first_paint(page, path, condition))
                    warm[name].append(first_paint(page, path, condition))
                    context.close()
            browser.close()
    finally:
        server.stop()
    print(f"first paint, {runs:,} runs, a model of {versions} versions (median of {repeat}):")
    for name in conditions:
        print(
            f"  {name}: cold {statistics.median(cold[name]):.0f} ms, "
            f"warm {statistics.median(warm[name]):.0f} ms "
            f"(cold: {', '.join(f'{v:.0f}' for v in cold[name])}; "
            f"warm: {', '.join(f'{v:.0f}' for v in warm[name])})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--fanout", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--only", choices=["all", "table-lineage", "runs-views", "views"], default="all"
    )
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--grid-runs", type=int, default=10_000)
    parser.add_argument("--compared", type=int, default=20)
    args = parser.parse_args()
    if args.only == "views":
        with tempfile.TemporaryDirectory() as tmp:
            views(args.grid_runs, args.versions, args.compared, args.repeat, tmp)
        return
    if args.only in ("all", "runs-views"):
        with tempfile.TemporaryDirectory() as tmp:
            runs_views(args.grid_runs, args.compared, args.repeat, tmp)
    if args.only == "runs-views":
        return
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        root, nodes = fill(url, args.runs, args.fanout)
        server = modeltrail(url, Path(tmp))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(
                    viewport={"width": 1280, "height": 800}, base_url=server.url
                )
                rows, counts, graphs, loaded = [], [], [], []
                for _ in range(args.repeat):
                    rows.append(
                        measure(
                            page,
                            "/runs",
                            "document.querySelectorAll('table.data tbody tr').length >= 50",
                        )
                    )
                    counts.append(
                        measure(
                            page,
                            "/runs",
                            f"document.querySelector('[data-testid=count]')?.textContent.includes('{args.runs:,}')",
                        )
                    )
                    graphs.append(
                        measure(
                            page,
                            f"/artifacts/{root}/lineage?direction=downstream&depth=10",
                            # the view draws the nodes nearest the root first
                            "document.querySelectorAll('.react-flow__node').length > 0 && "
                            "/[\\d,]+ of (at least )?[\\d,]+ nodes shown/"
                            ".test(document.body.textContent)",
                        )
                    )
                    loaded.append(
                        page.evaluate(
                            "performance.getEntriesByName('modeltrail:graph-fetched').at(-1).startTime"
                        )
                    )
                shots = ROOT / "test-results" / "ui"
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / "bench-lineage-2000.png"))
                browser.close()
        finally:
            server.stop()
    print(
        f"runs table, {args.runs:,} runs: first page drawn in {statistics.median(rows):.0f} ms "
        f"(median of {args.repeat}; all: {', '.join(f'{v:.0f}' for v in rows)}), "
        f"count of all runs shown in {statistics.median(counts):.0f} ms"
    )
    print(
        f"lineage graph of {nodes:,} nodes, the nearest drawn first: "
        f"in {statistics.median(graphs):.0f} ms "
        f"(median of {args.repeat}; all: {', '.join(f'{v:.0f}' for v in graphs)}); "
        f"of which fetching the lineage {statistics.median(loaded):.0f} ms"
    )


if __name__ == "__main__":
    main()
