"""The graph views at scale in a real headless Chromium: what the browser downloads, readable
text on large traces and lineages, the trace's diff mode and the lineage depth in the URL."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

import casestudy
from casestudy import CaseStudy
from conftest import ROOT, ServerProcess
from modeltrail.domain import limits
from ui.conftest import shot

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


def many_runs(
    url: str,
    runs: int,
    other_data: int,
    new_code: int,
    *,
    compare: bool = False,
    parameters: bool = False,
) -> str:
    """An experiment of `runs` runs, each training on one dataset (read by all of them but run
    `other_data`, which reads another) with one step; run `new_code` runs a new version of it.
    With `compare`, a last run compares all their models in one step and writes a leaderboard.
    With `parameters`, each run has four parameters that differ from the run before."""

    def op(entity: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        key = str(uuid.uuid4())
        return key, {"op": "create", "entity": entity, "id": key, "body": body}

    ops: list[dict[str, Any]] = []

    def add(entity: str, body: dict[str, Any]) -> str:
        key, operation = op(entity, body)
        ops.append(operation)
        return key

    experiment = add("experiment", {"name": "sweep"})
    train = add("executable", {"name": "train", "version": "1", "uri": "git://train.py"})
    train2 = add("executable", {"name": "train", "version": "2", "uri": "git://train.py"})
    data = {
        # Its own copy per experiment: equal data of another test would be merged with it.
        name: add(
            "artifact",
            {
                "name": name,
                "version": "1",
                "kind": "dataset",
                "uri": f"s3://{experiment}/{name}",
                "attributes": {},
            },
        )
        for name in ("mnist", "emnist")
    }
    start = datetime(2026, 1, 1, tzinfo=UTC)
    models: list[str] = []
    for n in range(runs):
        run = add(
            "run",
            {
                "experiment": experiment,
                "name": f"sweep-{n:04d}-learning-rate-{0.001 * (1 + n % 7):.3f}",
                "status": "SUCCESS",
                "createTime": (start + timedelta(minutes=n)).isoformat(),
            }
            | (
                {
                    "configuration": {
                        "learning_rate": round(0.001 * (1 + n % 7), 3),
                        "seed": n,
                        "batch_size": 32 * (1 + n % 2),
                        "warmup_steps": 100 * (n % 5),
                    }
                }
                if parameters
                else {}
            ),
        )
        model = add(
            "artifact", {"name": "cnn", "version": str(n), "kind": "model", "attributes": {}}
        )
        add(
            "execution",
            {
                "run": run,
                "executable": train2 if n == new_code else train,
                "name": "train",
                "kind": "train",
                "status": "SUCCESS",
                "inputArtifacts": [data["emnist" if n == other_data else "mnist"]],
                "outputArtifacts": [model],
            },
        )
        models.append(model)
    if compare:
        run = add(
            "run",
            {
                "experiment": experiment,
                "name": "compare-all",
                "status": "SUCCESS",
                "createTime": (start + timedelta(minutes=runs)).isoformat(),
            },
        )
        board = add(
            "artifact",
            {"name": "leaderboard", "version": "1", "kind": "report", "attributes": {}},
        )
        add(
            "execution",
            {
                "run": run,
                "executable": train,
                "name": "compare",
                "kind": "evaluate",
                "status": "SUCCESS",
                "inputArtifacts": models,
                "outputArtifacts": [board],
            },
        )
    stored = httpx.post(f"{url}/api/v1/batch", json={"operations": ops}, timeout=120)
    assert stored.status_code == 200, stored.text
    return experiment


def on_screen_font_px(page: Any, selector: str) -> float:
    """The rendered size of a graph label: its CSS size times the graph's zoom."""
    return float(
        page.evaluate(
            """(sel) => {
                const label = document.querySelector(sel);
                const viewport = document.querySelector('.react-flow__viewport');
                const zoom = new DOMMatrixReadOnly(getComputedStyle(viewport).transform).a;
                return parseFloat(getComputedStyle(label).fontSize) * zoom;
            }""",
            selector,
        )
    )


def in_pane(page: Any, locator: Any) -> dict[str, float]:
    """Where ``locator`` is drawn within the graph's pane."""
    graph = page.locator(".graph").bounding_box()
    box = locator.bounding_box()
    return {"x": box["x"] - graph["x"], "y": box["y"] - graph["y"]}


def visible_in_graph(page: Any, locator: Any) -> bool:
    graph = page.locator(".graph").bounding_box()
    box = locator.bounding_box()
    return bool(
        box
        and box["x"] >= graph["x"]
        and box["x"] + box["width"] <= graph["x"] + graph["width"] + 1
        and box["y"] >= graph["y"]
        and box["y"] + box["height"] <= graph["y"] + graph["height"]
    )


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_trace_of_many_runs_opens_readable_on_the_newest_and_marks_changes(
    browser: Any, ui_server: ServerProcess, size: tuple[int, int], scheme: str
) -> None:
    experiment = many_runs(ui_server.url, 300, other_data=297, new_code=290)
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]},
        base_url=ui_server.url,
        color_scheme=scheme,
    )
    page = context.new_page()
    page.goto(f"/experiments/{experiment}/trace?runs=300")
    headers = page.locator(".gnode.run-header")
    newest = headers.filter(has_text="sweep-0299")
    # The newest runs are drawn first, while the older ones are read.
    newest.wait_for()
    page.get_by_text("loading older runs").wait_for(state="detached", timeout=60_000)
    newest.wait_for()
    # Only the part near the view is handed to the graph; the overview shows the whole.
    assert headers.count() < 300
    overview = page.get_by_role("img", name=re.compile("overview of the whole graph"))
    assert overview.is_visible()
    assert on_screen_font_px(page, ".gnode.run-header .node-label") >= 10
    assert visible_in_graph(page, newest), "the trace opens on its newest run"
    # The full name of a run in its column head, and what it changed.
    assert "sweep-0299-learning-rate-0.006" in newest.inner_text()
    changed = page.locator(".gnode.run-header.changed")
    other = changed.filter(has_text="sweep-0297")
    assert "another dataset: emnist" in other.inner_text()
    assert "another dataset: mnist" in changed.filter(has_text="sweep-0298").inner_text()
    shot(page, f"13-trace-300-runs-{scheme}-{size[0]}")
    # A click at the overview's left end moves the view to the oldest runs.
    box = overview.bounding_box()
    page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
    headers.filter(has_text="sweep-0000").wait_for()
    page.mouse.click(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    newest.wait_for()
    # Hide what did not change: the first run and the three that changed (291 went back to 1).
    page.get_by_label("only the runs that changed").check()
    page.wait_for_url(re.compile("changed=only"))
    headers.filter(has_text="sweep-0000").wait_for()  # once all 300 runs are read
    page.wait_for_function("document.querySelectorAll('.gnode.run-header').length === 5")
    names = " ".join(headers.all_inner_texts())
    assert all(f"sweep-{n:04d}" in names for n in (0, 290, 291, 297, 298))
    assert "new code: train 2" in changed.filter(has_text="sweep-0290").inner_text()
    assert "new code: train 1" in changed.filter(has_text="sweep-0291").inner_text()
    # A dataset read by every run is one node.
    assert page.locator(".react-flow__node", has_text="mnist").count() >= 1
    shot(page, f"14-trace-changed-only-{scheme}-{size[0]}")
    context.close()


def graph_zoom(page: Any) -> float:
    return float(
        page.evaluate(
            """new DOMMatrixReadOnly(getComputedStyle(
                document.querySelector('.react-flow__viewport')).transform).a"""
        )
    )


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_trace_of_1000_runs_names_its_heads_in_full_and_fits_readably(
    browser: Any, ui_server: ServerProcess, size: tuple[int, int], scheme: str
) -> None:
    experiment = many_runs(ui_server.url, 1000, other_data=997, new_code=990, parameters=True)
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]},
        base_url=ui_server.url,
        color_scheme=scheme,
    )
    page = context.new_page()
    page.goto(f"/experiments/{experiment}/trace?runs=1000")
    headers = page.locator(".gnode.run-header")
    newest = headers.filter(has_text="sweep-0999")
    newest.wait_for(timeout=30_000)
    page.get_by_text("loading older runs").wait_for(state="detached", timeout=60_000)
    # The head shows the first changed parameters; its tooltip the full name and all of them.
    assert "and 1 more" in newest.inner_text()
    tip = newest.locator(".node-body").get_attribute("title") or ""
    assert tip.startswith("sweep-0999-learning-rate-0.006\n"), tip
    for change in ("learning_rate=0.006", "seed=999", "batch_size=64", "warmup_steps=400"):
        assert change in tip, (change, tip)
    other = headers.filter(has_text="sweep-0997").locator(".node-body").get_attribute("title")
    assert "another dataset: emnist" in (other or "")
    # "Fit view" on a thousand runs stays at the zoom the graph opened at: readable.
    page.get_by_role("button", name="Fit View").click()
    page.wait_for_timeout(400)
    assert graph_zoom(page) >= 0.85
    assert on_screen_font_px(page, ".gnode.run-header .node-label") >= 10
    assert visible_in_graph(page, newest), "fit view shows the newest run"
    # The column heads at the top of the pane, the trace below them.
    assert content_in_pane(page)["top"] <= 40, content_in_pane(page)
    shot(page, f"24-trace-1000-runs-fit-{scheme}-{size[0]}")
    # Every run has another seed: each changed, and "only the runs that changed" hides none.
    # Those that read other data or ran other code are the first, 990 and 991 (new code, and
    # back), 997 and 998 (another dataset, and back).
    page.get_by_label("other data or code only").check()
    page.wait_for_url(re.compile("changed=data"))
    assert page.get_by_label("only the runs that changed").is_checked()
    headers.filter(has_text="sweep-0000").wait_for(timeout=60_000)  # once all 1,000 are read
    page.wait_for_function("document.querySelectorAll('.gnode.run-header').length === 5")
    names = " ".join(headers.all_inner_texts())
    assert all(f"sweep-{n:04d}" in names for n in (0, 990, 991, 997, 998)), names
    shot(page, f"35-trace-1000-runs-data-or-code-{scheme}-{size[0]}")
    # The address keeps it; unticked, the runs that changed their parameters are back.
    page.reload()
    headers.filter(has_text="sweep-0000").wait_for(timeout=60_000)
    page.wait_for_function("document.querySelectorAll('.gnode.run-header').length === 5")
    page.get_by_label("other data or code only").uncheck()
    page.wait_for_url(re.compile("changed=only"))
    headers.filter(has_text="sweep-0999").wait_for(timeout=60_000)
    context.close()


def test_the_depth_in_the_address_is_the_depth_asked_for(page: Any, case: CaseStudy) -> None:
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/lineage" in r.url else None)
    page.goto(f"/artifacts/{case.ids['run2.validation']}/lineage?depth=100")
    page.wait_for_selector(".react-flow__node")
    assert page.get_by_label("depth", exact=True).input_value() == "100"
    assert any("depth=100" in url for url in asked), asked
    page.goto(f"/artifacts/{case.ids['run2.validation']}/lineage?depth=1")
    page.get_by_text("cut off at depth 1: raise the depth").wait_for()


def test_the_ui_follows_as_deep_as_the_server() -> None:
    source = (ROOT / "web" / "src" / "lineage.ts").read_text()
    found = re.search(r"MAX_DEPTH = ([\d_]+);", source)
    assert found and int(found.group(1).replace("_", "")) == limits.MAX_LINEAGE_DEPTH


def number(pattern: str, text: str) -> int:
    """The count (with thousands separators) that the first group of pattern finds in text."""
    found = re.search(pattern, text)
    assert found, f"no {pattern!r} in {text!r}"
    return int(found.group(1).replace(",", ""))


def test_a_large_lineage_opens_readable_on_its_root(page: Any, ui_server: ServerProcess) -> None:
    experiment = many_runs(ui_server.url, 300, other_data=10, new_code=20)
    trace = httpx.get(f"{ui_server.url}/api/v1/experiments/{experiment}/trace?limit=1").json()
    mnist = next(a["id"] for a in trace["artifacts"] if a["name"] == "mnist")
    page.goto(f"/artifacts/{mnist}/lineage?direction=downstream&depth=2")
    # The nearest nodes first; the root says how many more it leads to, in full, and the count
    # of nodes shown says how many there are at least: those and the ones left out.
    shown = page.get_by_text(re.compile(r"\b150 of at least [\d,]+ nodes shown"))
    shown.wait_for(timeout=60_000)
    page.get_by_text("the nearest first").wait_for()
    root = page.locator(".gnode.root")
    root.wait_for()
    assert on_screen_font_px(page, ".gnode.root .node-label") >= 10
    assert visible_in_graph(page, root), "the lineage opens on its root"
    note = root.locator(".node-note")
    assert note.evaluate("(e) => e.scrollWidth <= e.clientWidth"), "the count is cut"
    assert note.evaluate(
        "(e) => e.getBoundingClientRect().right"
        " <= e.closest('.gnode').getBoundingClientRect().right"
    ), "the count runs out of its node"
    left_out = number(r"\+([\d,]+) more", note.inner_text())
    assert left_out > 0
    total = number(r"at least ([\d,]+) nodes", shown.inner_text())
    assert total >= 150 + left_out
    shot(page, "15-lineage-600-nodes")
    root.click()
    page.get_by_role("button", name=re.compile(r"bring in more")).click()
    page.wait_for_function(
        "() => { const m = document.body.textContent"
        ".match(/([\\d,]+) of [a-z ]*[\\d,]+ nodes shown/);"
        " return m && Number(m[1].replace(/,/g, '')) > 150; }",
        timeout=60_000,
    )
    # Fewer left out now; none when the click brought in the whole lineage (a lineage this
    # small is shown whole), and then the root's note is gone.
    page.wait_for_function(
        """(before) => {
            const root = document.querySelector('.gnode.root');
            const note = root && root.querySelector('.node-note');
            if (!root) return false;  // the root stays drawn where it was clicked
            const m = note && note.textContent.match(/\\+([\\d,]+) more/);
            return !note || (m && Number(m[1].replace(/,/g, '')) < before);
        }""",
        arg=left_out,
        timeout=30_000,
    )


def page_fits(page: Any) -> dict[str, float]:
    """How far the page and the graph box reach past the window (0 or less: they fit)."""
    return page.evaluate(  # type: ignore[no-any-return]
        """() => ({
            page: document.documentElement.scrollHeight - window.innerHeight,
            graph: document.querySelector('.graph').getBoundingClientRect().bottom
                - window.innerHeight,
        })"""
    )


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_the_trace_and_its_paging_line_fit_the_window(
    browser: Any, ui_server: ServerProcess, size: tuple[int, int]
) -> None:
    experiment = many_runs(ui_server.url, 70, other_data=5, new_code=6)
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]}, base_url=ui_server.url
    )
    page = context.new_page()
    page.goto(f"/experiments/{experiment}/trace")
    page.get_by_text("older runs are left out").wait_for()
    page.locator(".gnode.run-header").first.wait_for()
    assert all(v <= 0 for v in page_fits(page).values()), page_fits(page)
    # Older runs: the paging line links both ways.
    page.get_by_role("link", name="older runs").click()
    page.get_by_role("link", name="newest runs").wait_for()
    page.locator(".gnode.run-header").first.wait_for()
    assert all(v <= 0 for v in page_fits(page).values()), page_fits(page)
    shot(page, f"16-trace-paging-{size[0]}")
    context.close()


def test_a_dataset_read_by_many_runs_is_one_grouped_edge(
    page: Any, ui_server: ServerProcess
) -> None:
    experiment = many_runs(ui_server.url, 70, other_data=5, new_code=6)
    trace = httpx.get(f"{ui_server.url}/api/v1/experiments/{experiment}/trace?limit=1").json()
    mnist = next(a["id"] for a in trace["artifacts"] if a["name"] == "mnist")
    edges = page.locator(".react-flow__edge")
    # The trace: the 69 runs that read mnist made 69 models; one edge with their count.
    page.goto(f"/experiments/{experiment}/trace?runs=70&select={mnist}")
    page.locator(".gnode.run-header").first.wait_for()
    count = page.get_by_role("button", name="69 × model")
    count.wait_for(timeout=5_000)
    assert edges.count() <= 2, "one edge per run that read mnist"
    # It is highlighted with its dataset, and its bar leads to every model.
    assert page.locator(".bundle.highlighted").count() == 1
    ticks = page.locator(".bundle-heads").get_attribute("d") or ""
    assert ticks.count("M ") == 69
    # A click on the count draws each edge, another groups them again.
    count.click()
    page.wait_for_function("document.querySelectorAll('.react-flow__edge').length >= 69")
    assert count.get_attribute("aria-expanded") == "true"
    count.click()
    page.wait_for_function("document.querySelectorAll('.react-flow__edge').length <= 2")
    shot(page, "17-trace-fan-out")
    # The lineage: mnist read by 69 steps, each writing a model.
    page.goto(f"/artifacts/{mnist}/lineage?direction=downstream&depth=2")
    page.locator(".gnode.root").wait_for()
    steps = page.get_by_role("button", name="69 × step")
    steps.wait_for(timeout=5_000)
    page.wait_for_function("document.querySelectorAll('.react-flow__edge').length === 69")
    # Its bar opens it too.
    page.locator(".bundle-hit").dispatch_event("click")
    page.wait_for_function("document.querySelectorAll('.react-flow__edge').length === 138")
    assert steps.get_attribute("aria-expanded") == "true"
    shot(page, "18-lineage-fan-out")


def boxes_meet(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_grouped_edges_count_slides_clear_of_the_zoom_controls(
    browser: Any, ui_server: ServerProcess, size: tuple[int, int], scheme: str
) -> None:
    experiment = many_runs(ui_server.url, 70, other_data=5, new_code=6)
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]},
        base_url=ui_server.url,
        color_scheme=scheme,
    )
    page = context.new_page()
    page.goto(f"/experiments/{experiment}/trace?runs=70")
    count = page.get_by_role("button", name="69 × model")
    count.wait_for(timeout=10_000)
    controls = page.locator(".react-flow__controls").bounding_box()
    # The trace opens on its newest runs: the count has slid along its bar to the left edge.
    # Moved down until its bar runs at the height of the zoom controls, it stops beside them.
    at = count.bounding_box()
    x = page.locator(".graph").bounding_box()["x"] + 300
    y = at["y"] - 120
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y + controls["y"] + controls["height"] / 2 - at["y"], steps=8)
    page.mouse.up()
    page.wait_for_timeout(300)
    now = count.bounding_box()
    assert controls["y"] < now["y"] + now["height"] / 2 < controls["y"] + controls["height"], (
        now,
        controls,
    )
    assert not boxes_meet(now, controls), (now, controls)
    overview = page.locator(".overview").bounding_box()
    assert not boxes_meet(now, overview), (now, overview)
    assert visible_in_graph(page, count)
    shot(page, f"33-trace-fan-out-count-beside-controls-{scheme}-{size[0]}")
    context.close()


def test_the_trace_names_the_kind_of_an_input_a_run_changed(
    page: Any, ui_server: ServerProcess
) -> None:
    # A run trains a model on a dataset; a deploy run, triggered by an event, reads the model;
    # a smoke test reads the deployed service; a compare run reads the model again.
    ops: list[dict[str, Any]] = []

    def add(entity: str, body: dict[str, Any]) -> str:
        key = str(uuid.uuid4())
        ops.append({"op": "create", "entity": entity, "id": key, "body": body})
        return key

    experiment = add("experiment", {"name": "kinds"})
    code = add("executable", {"name": "pipeline", "version": "1", "uri": "git://pipeline.py"})
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def artifact(name: str, kind: str, **body: Any) -> str:
        # Its own copy per experiment: equal artifacts of another test would be merged with it.
        uri = f"s3://{experiment}/{name}"
        return add(
            "artifact",
            {"name": name, "version": "1", "kind": kind, "uri": uri, "attributes": {}, **body},
        )

    def run(n: int, name: str, reads: list[str], writes: list[str], **body: Any) -> None:
        created = (start + timedelta(minutes=n)).isoformat()
        key = add(
            "run",
            {"experiment": experiment, "name": name, "status": "SUCCESS", "createTime": created}
            | body,
        )
        step = {"run": key, "executable": code, "name": name, "kind": name, "status": "SUCCESS"}
        add("execution", step | {"inputArtifacts": reads, "outputArtifacts": writes})

    digits = artifact("digits", "dataset")
    cnn = artifact("cnn", "model")
    approved = artifact("approval", "event", attributes={"cause": "model approved"})
    service = artifact("endpoint", "service")
    run(0, "train", [digits], [cnn])
    run(1, "deploy", [approved, cnn], [service], event=approved)
    run(2, "smoke-test", [service], [artifact("smoke", "report")])
    run(3, "compare", [cnn], [artifact("leaderboard", "report")])
    stored = httpx.post(f"{ui_server.url}/api/v1/batch", json={"operations": ops}, timeout=60)
    assert stored.status_code == 200, stored.text
    page.goto(f"/experiments/{experiment}/trace")
    headers = page.locator(".gnode.run-header")
    headers.filter(has_text="compare").wait_for()
    deploy = headers.filter(has_text="deploy")
    assert "changed" in (deploy.get_attribute("class") or "")
    marks = deploy.inner_text()
    assert "another model: cnn" in marks
    # The trigger is not an input that changed, and a model is no dataset.
    assert "dataset" not in marks
    assert "approv" not in marks
    smoke = headers.filter(has_text="smoke-test").inner_text()
    assert "another input (service): endpoint" in smoke and "model" not in smoke
    assert "another model: cnn" in headers.filter(has_text="compare").inner_text()


def test_models_read_by_one_step_are_one_grouped_edge_into_it(
    page: Any, ui_server: ServerProcess
) -> None:
    experiment = many_runs(ui_server.url, 30, other_data=5, new_code=6, compare=True)
    trace = httpx.get(f"{ui_server.url}/api/v1/experiments/{experiment}/trace?limit=31").json()
    ids = {a["name"]: a["id"] for a in trace["artifacts"]}
    edges = page.locator(".react-flow__edge")
    # The trace: the 30 models compared by the last run's one step are one edge into its output.
    page.goto(f"/experiments/{experiment}/trace?runs=31&select={ids['mnist']}")
    page.locator(".gnode.run-header").first.wait_for()
    into = page.locator(".bundle-count[data-direction=in]")
    into.wait_for(timeout=5_000)
    assert into.inner_text() == "30 × model"
    assert visible_in_graph(page, into), "the count is on screen where the trace opens"
    assert edges.count() <= 2, "the models' edges into the leaderboard are drawn as one"
    # A tick from each model to the bar, one arrowhead: on the leaderboard.
    fan_in = page.locator(".bundle[data-direction=in]")
    assert (fan_in.locator(".bundle-line").get_attribute("d") or "").count("M ") == 2 + 30
    assert (fan_in.locator(".bundle-heads").get_attribute("d") or "").count("M ") == 1
    # Selecting mnist lights what depends on it: its fan-out and the fan-in of its models.
    assert page.locator(".bundle.highlighted").count() == 2
    shot(page, "19-trace-fan-in")
    # A click on the count draws each edge, another groups them again.
    into.click()
    page.wait_for_function("document.querySelectorAll('.react-flow__edge').length >= 30")
    assert into.get_attribute("aria-expanded") == "true"
    into.click()
    page.wait_for_function("document.querySelectorAll('.react-flow__edge').length <= 2")
    # The lineage: the compare step reads 30 models; one edge into it, opened by its bar too.
    page.goto(f"/artifacts/{ids['leaderboard']}/lineage?direction=upstream&depth=1")
    page.locator(".gnode.root").wait_for()
    into.wait_for(timeout=5_000)
    assert into.inner_text() == "30 × model"
    page.wait_for_function("document.querySelectorAll('.react-flow__edge').length === 1")
    page.locator(".bundle[data-direction=in] .bundle-hit").dispatch_event("click")
    page.wait_for_function("document.querySelectorAll('.react-flow__edge').length === 31")
    shot(page, "20-lineage-fan-in")


def overview_marks(page: Any) -> dict[str, int]:
    """What the overview's canvas shows, once it shows anything: its painted pixels, and the
    bands of rows they are in."""
    handle = page.wait_for_function(
        """() => {
            const c = document.querySelector('.overview canvas');
            if (!c) return null;
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let painted = 0, bands = 0, before = false;
            for (let y = 0; y < c.height; y++) {
                let row = 0;
                for (let x = 0; x < c.width; x++) if (d[(y * c.width + x) * 4 + 3] > 64) row++;
                painted += row;
                if (row > 0 && !before) bands++;
                before = row > 0;
            }
            return painted > 0 && { painted, bands, width: c.width, height: c.height };
        }"""
    )
    return handle.json_value()  # type: ignore[no-any-return]


def test_the_overview_of_a_wide_trace_shows_its_nodes(page: Any, ui_server: ServerProcess) -> None:
    experiment = many_runs(ui_server.url, 90, other_data=5, new_code=6)
    page.goto(f"/experiments/{experiment}/trace?runs=90")
    headers = page.locator(".gnode.run-header")
    headers.filter(has_text="sweep-0089").wait_for()
    # The newest 60 runs are drawn first; the graph of all 90 replaces them, overview and all.
    page.get_by_text("loading older runs").wait_for(state="detached")
    overview = page.get_by_role("img", name=re.compile("overview of the whole graph"))
    overview.wait_for()
    marks = overview_marks(page)
    # The run heads, the datasets and the models: three rows of marks, not a hairline.
    assert marks["bands"] >= 3, marks
    assert marks["painted"] > marks["width"] * marks["height"] / 10, marks
    box = overview.bounding_box()
    assert box["height"] >= 28 and box["width"] >= 200, box
    shot(page, "21-trace-overview")
    # A click at its left end shows the oldest run.
    page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
    oldest = headers.filter(has_text="sweep-0000")
    for _ in range(50):
        if visible_in_graph(page, oldest):
            break
        page.wait_for_timeout(100)
    assert visible_in_graph(page, oldest)


def pipeline_run(url: str, branches: int) -> str:
    """A run of a pipeline: prepare writes a dataset, `branches` train steps each read it and
    write a model, an evaluate step reads all the models and writes a report."""
    ops: list[dict[str, Any]] = []

    def add(entity: str, body: dict[str, Any]) -> str:
        key = str(uuid.uuid4())
        ops.append({"op": "create", "entity": entity, "id": key, "body": body})
        return key

    experiment = add("experiment", {"name": f"pipeline-{uuid.uuid4().hex[:6]}"})
    code = add("executable", {"name": "pipeline", "version": "1", "uri": "git://pipeline.py"})
    run = add("run", {"experiment": experiment, "name": "nightly", "status": "SUCCESS"})

    def step(name: str, reads: list[str], writes: list[str]) -> None:
        add(
            "execution",
            {
                "run": run,
                "executable": code,
                "name": name,
                "kind": name.split("-")[0],
                "status": "SUCCESS",
                "inputArtifacts": reads,
                "outputArtifacts": writes,
            },
        )

    def artifact(name: str, kind: str) -> str:
        body = {"name": name, "version": "1", "kind": kind, "uri": f"s3://{run}/{name}"}
        return add("artifact", body | {"attributes": {}})

    raw = artifact("raw-digits", "dataset")
    data = artifact("digits", "dataset")
    step("prepare", [raw], [data])
    models = [artifact(f"model-{n}", "model") for n in range(branches)]
    for n, model in enumerate(models):
        step(f"train-{n}", [data], [model])
    step("evaluate", models, [artifact("report", "report")])
    stored = httpx.post(f"{url}/api/v1/batch", json={"operations": ops}, timeout=60)
    assert stored.status_code == 200, stored.text
    return run


def content_in_pane(page: Any) -> dict[str, float]:
    """Where the drawn nodes reach, against the graph's pane (px; positive: inside it)."""
    return page.evaluate(  # type: ignore[no-any-return]
        """() => {
            const pane = document.querySelector('.graph').getBoundingClientRect();
            const boxes = [...document.querySelectorAll('.react-flow__node')]
                .map((n) => n.getBoundingClientRect());
            return {
                top: Math.min(...boxes.map((b) => b.top)) - pane.top,
                bottom: pane.bottom - Math.max(...boxes.map((b) => b.bottom)),
                left: Math.min(...boxes.map((b) => b.left)) - pane.left,
                right: pane.right - Math.max(...boxes.map((b) => b.right)),
                window: window.innerHeight - pane.bottom,
            };
        }"""
    )


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("branches", [3, 40])
def test_a_run_dag_opens_on_its_content(
    browser: Any, ui_server: ServerProcess, size: tuple[int, int], scheme: str, branches: int
) -> None:
    run = pipeline_run(ui_server.url, branches)
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]},
        base_url=ui_server.url,
        color_scheme=scheme,
    )
    page = context.new_page()
    page.goto(f"/runs/{run}/dag")
    first = page.locator(".react-flow__node", has=page.locator('.node-label:text-is("prepare")'))
    first.wait_for()
    page.wait_for_timeout(300)
    shot(page, f"28-run-dag-{branches}-{scheme}-{size[0]}")
    where = content_in_pane(page)
    # The pane ends in the window, and the graph fills it: no empty band above or beside a
    # graph cut off below or on the other side.
    assert where["window"] >= 0, where
    if where["bottom"] < 0 or where["top"] < 0:
        assert where["top"] <= 40, where
    else:  # it fits the height: centred
        assert abs(where["top"] - where["bottom"]) <= 40, where
    if where["right"] < 0 or where["left"] < 0:
        assert where["left"] <= 40, where
    else:
        assert abs(where["left"] - where["right"]) <= 40, where
    # At a readable zoom, with the pipeline's start in view.
    assert on_screen_font_px(page, ".gnode .node-label") >= 10
    assert visible_in_graph(page, first), "the DAG opens on its first step"
    context.close()


def one_dataset_read_by(url: str, steps: int) -> str:
    """A dataset ``corpus`` read by ``steps`` training steps of one run, each writing its own
    model (``train-NN``, ``model-NN``, numbered to the width of the last): its id."""
    ops: list[dict[str, Any]] = []

    def add(entity: str, body: dict[str, Any]) -> str:
        key = str(uuid.uuid4())
        ops.append({"op": "create", "entity": entity, "id": key, "body": body})
        return key

    experiment = add("experiment", {"name": f"fan-{uuid.uuid4().hex[:6]}"})
    code = add("executable", {"name": "train", "version": "1", "uri": "git://train.py"})
    run = add("run", {"experiment": experiment, "name": "fan", "status": "SUCCESS"})
    data = add(
        "artifact",
        {"name": "corpus", "version": "1", "kind": "dataset", "uri": f"s3://{run}/corpus"},
    )
    width = len(str(steps - 1))
    for n in range(steps):
        model = add(
            "artifact",
            {
                "name": f"model-{n:0{width}d}",
                "version": "1",
                "kind": "model",
                "uri": f"s3://{run}/{n}",
            },
        )
        step = {"run": run, "executable": code, "name": f"train-{n:0{width}d}", "kind": "train"}
        add(
            "execution",
            step | {"status": "SUCCESS", "inputArtifacts": [data], "outputArtifacts": [model]},
        )
    stored = httpx.post(f"{url}/api/v1/batch", json={"operations": ops}, timeout=60)
    assert stored.status_code == 200, stored.text
    return data


def test_a_lineage_search_moves_to_each_match(page: Any, ui_server: ServerProcess) -> None:
    # One dataset read by 60 training steps, each writing its own model: a column of 60.
    data = one_dataset_read_by(ui_server.url, 60)
    page.goto(f"/artifacts/{data}/lineage?direction=downstream&depth=2")
    page.locator(".gnode.root").wait_for()
    page.get_by_role("button", name="60 × step").click()  # each edge, not the grouped one
    box = page.get_by_label("search in the graph")
    count = page.get_by_test_id("match-count")

    def shown() -> Any:
        """The match the view moved to, once it is on screen."""
        centred = page.locator(".gnode.centred")
        centred.wait_for()
        page.wait_for_timeout(300)  # the move is animated
        for _ in range(40):
            if visible_in_graph(page, centred):
                return centred
            page.wait_for_timeout(50)
        raise AssertionError(f"the match {centred.inner_text()!r} is not on screen")

    # model-00..model-59 in a column far taller than the pane: most are off screen.
    def place(match: Any) -> tuple[float, float]:
        """Where the match lies in the graph (not on screen): its row, then its column."""
        x, y = match.evaluate(
            "(n) => { const m = new DOMMatrixReadOnly("
            "getComputedStyle(n.closest('.react-flow__node')).transform); return [m.e, m.f]; }"
        )
        return y, x

    box.fill("model-5")
    count.get_by_text("1 of 10").wait_for()
    first = shown()
    seen, places = [first.locator(".node-label").inner_text()], [place(first)]
    next_match = page.get_by_role("button", name="next match")
    for n in range(2, 11):
        next_match.click()
        count.get_by_text(f"{n} of 10").wait_for()
        match = shown()
        seen.append(match.locator(".node-label").inner_text())
        places.append(place(match))
    assert sorted(seen) == [f"model-{n}" for n in range(50, 60)], seen
    assert places == sorted(places), "next goes down the graph, as it is read"
    next_match.click()  # round to the first
    count.get_by_text("1 of 10").wait_for()
    assert shown().locator(".node-label").inner_text() == seen[0]
    page.get_by_role("button", name="previous match").click()
    count.get_by_text("10 of 10").wait_for()
    assert shown().locator(".node-label").inner_text() == seen[-1]
    # Enter in the box steps on, Shift+Enter back.
    box.press("Enter")
    count.get_by_text("1 of 10").wait_for()
    box.press("Shift+Enter")
    count.get_by_text("10 of 10").wait_for()
    shown()
    assert on_screen_font_px(page, ".gnode.centred .node-label") >= 10
    shot(page, "29-lineage-search")


def luminance(colour: str) -> float:
    """The relative luminance of a computed "rgb(r, g, b)" colour."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(v) / 255 for v in colour[colour.index("(") + 1 : -1].split(",")[:3])
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


@pytest.mark.parametrize("page", ["light", "dark"], indirect=True)
def test_the_graph_controls_follow_the_light_or_dark_scheme(
    page: Any, case: CaseStudy, request: pytest.FixtureRequest
) -> None:
    scheme = request.node.callspec.params["page"]
    views = {
        "dag": f"/runs/{case.runs[1]['id']}/dag",
        "lineage": f"/artifacts/{case.ids['run2.validation']}/lineage?depth=5",
        "trace": f"/experiments/{case.experiment['id']}/trace",
    }
    for view, address in views.items():
        page.goto(address)
        buttons = page.locator(".react-flow__controls-button")
        buttons.first.wait_for()
        page_bg = luminance(page.evaluate("getComputedStyle(document.body).backgroundColor"))
        for i in range(buttons.count()):
            button = buttons.nth(i)
            style = (
                "b => { const s = getComputedStyle(b);"
                " return [s.backgroundColor, s.color,"
                " s.borderBottomWidth === '0px' ? s.backgroundColor : s.borderBottomColor]; }"
            )
            colours = button.evaluate(style)
            button.hover()
            page.wait_for_timeout(50)
            hovered = button.evaluate(style)
            # Dark on a dark page and light on a light one, hovered too; the icon readable on it.
            for bg, fg, border in (colours, hovered[:2] + [colours[2]]):
                for colour in (bg, border):
                    assert (luminance(colour) < 0.1) == (page_bg < 0.1), (view, scheme, i, colour)
                hi, lo = sorted((luminance(bg), luminance(fg)), reverse=True)
                assert (hi + 0.05) / (lo + 0.05) >= 4.5, (view, scheme, i, bg, fg)
        shot(page, f"30-graph-controls-{view}-{scheme}")


def overlapping_nodes(page: Any, selector: str) -> list[str]:
    """The graph nodes that the element at selector covers (their labels)."""
    return page.evaluate(  # type: ignore[no-any-return]
        """(sel) => {
            const a = document.querySelector(sel).getBoundingClientRect();
            return [...document.querySelectorAll('.react-flow__node')].filter((n) => {
                const b = n.getBoundingClientRect();
                return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
            }).map((n) => n.textContent);
        }""",
        selector,
    )


def test_a_click_on_the_root_of_a_large_fan_out_brings_in_more_in_place(
    page: Any, ui_server: ServerProcess
) -> None:
    experiment = many_runs(ui_server.url, 300, other_data=10, new_code=20)
    trace = httpx.get(f"{ui_server.url}/api/v1/experiments/{experiment}/trace?limit=1").json()
    mnist = next(a["id"] for a in trace["artifacts"] if a["name"] == "mnist")
    page.goto(f"/artifacts/{mnist}/lineage?direction=downstream&depth=2")
    shown = page.get_by_text(re.compile(r"\b150 of at least [\d,]+ nodes shown"))
    shown.wait_for(timeout=60_000)
    root = page.locator(".gnode.root")
    # The count of the grouped edge sits beside the nodes, on its trunk, covering none.
    count = page.locator(".bundle-count[data-direction=out]")
    assert re.fullmatch(r"\d+ × step", count.inner_text()), count.inner_text()
    assert overlapping_nodes(page, ".bundle-count[data-direction=out]") == []
    shot(page, "31-lineage-fan-out-count")
    # The root is marked "+N more": a click on it brings them in, as the legend says, and it
    # stays where it was on screen while the graph grows around it.
    left_out = number(r"\+([\d,]+) more", root.locator(".node-note").inner_text())
    # Where it is in the graph's pane: the line above the pane may wrap as its counts grow.
    before = in_pane(page, root)
    root.click()
    page.get_by_text(re.compile(r"\b300 of at least [\d,]+ nodes shown")).wait_for()
    assert number(r"\+([\d,]+) more", root.locator(".node-note").inner_text()) < left_out
    for _ in range(40):  # the view follows the new layout a frame after it is drawn
        after = in_pane(page, root)
        if abs(after["x"] - before["x"]) < 2 and abs(after["y"] - before["y"]) < 2:
            break
        page.wait_for_timeout(50)
    assert abs(after["x"] - before["x"]) < 2 and abs(after["y"] - before["y"]) < 2, (before, after)
    assert overlapping_nodes(page, ".bundle-count[data-direction=out]") == []
    # And again: each click brings in more.
    root.click()
    page.wait_for_function(
        "() => { const m = document.body.textContent"
        ".match(/([\\d,]+) of [a-z ]*[\\d,]+ nodes shown/);"
        " return m && Number(m[1].replace(/,/g, '')) > 300; }"
    )
    assert visible_in_graph(page, root)
    shot(page, "32-lineage-root-expanded")


def cut_text(page: Any, selector: str) -> list[str]:
    """The text of the elements under selector that their box cuts (clipped or clamped)."""
    return page.evaluate(  # type: ignore[no-any-return]
        """(sel) => [...document.querySelectorAll(sel)].flatMap((root) =>
            [root, ...root.querySelectorAll('*')].filter((e) =>
                e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1
            ).map((e) => e.textContent))""",
        selector,
    )


@pytest.mark.parametrize("page", ["light", "dark"], indirect=True)
def test_a_nodes_key_value_stays_whole_where_its_line_is_cut(page: Any, case: CaseStudy) -> None:
    # Upstream of the accuracy, one step: the model it measures is marked "+1 more" as well.
    page.goto(f"/artifacts/{case.ids['run2.metrics']}/lineage?direction=upstream&depth=1")
    model = page.locator(".gnode.kind-model")
    model.locator(".node-note").wait_for()
    value = casestudy.ACCURACIES[1]
    # The line is too long for the node: its words are cut, never the number.
    assert model.locator(".node-value").inner_text(timeout=2_000) == str(value)
    assert cut_text(page, ".gnode.kind-model .node-value, .gnode.kind-model .node-note") == []
    title = model.locator(".node-body").get_attribute("title")
    head = f"{casestudy.MODEL} · v1"  # its version beside its name
    assert title == f"{head}\nmodel · {casestudy.METRIC} {value} · +1 more", title
    dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    shot(page, f"34-lineage-key-value-{'dark' if dark else 'light'}")


@pytest.mark.parametrize("page", ["light", "dark"], indirect=True)
def test_the_steps_and_models_of_many_runs_are_told_apart(
    page: Any, ui_server: ServerProcess
) -> None:
    # Four runs of one executable on one dataset: every step is "train", every model "cnn".
    experiment = many_runs(ui_server.url, 4, other_data=4, new_code=4)
    trace = httpx.get(f"{ui_server.url}/api/v1/experiments/{experiment}/trace?limit=1").json()
    mnist = next(a["id"] for a in trace["artifacts"] if a["name"] == "mnist")
    runs = [f"sweep-{n:04d}-learning-rate-{0.001 * (1 + n):.3f}" for n in range(4)]
    page.goto(f"/artifacts/{mnist}/lineage?direction=downstream&depth=2")
    # Its models are equal to those of other tests' sweeps: merged, they lead to their steps too.
    steps = page.locator(".gnode.execution", has=page.locator('.node-label:text-is("train")'))
    models = page.locator(".gnode.kind-model")
    page.wait_for_function(
        "[...document.querySelectorAll('.gnode.execution')].filter((n) =>"
        " n.querySelector('.node-label').textContent === 'train'"
        " && n.querySelector('.node-tag')).length === 4",
        timeout=10_000,
    )
    # Each step says its run beside its name, each model its version: no two read the same.
    assert steps.locator(".node-label").all_inner_texts() == ["train"] * 4
    assert sorted(steps.locator(".node-tag").all_text_contents()) == runs
    assert sorted(models.locator(".node-tag").all_inner_texts()) == ["v0", "v1", "v2", "v3"]
    # A run's name longer than its node is cut where it runs out, after its number; the name
    # of the step is never cut, and the tooltip says both in full.
    inside = steps.locator(".node-tag").evaluate_all(
        "(ts) => ts.map((t) => t.getBoundingClientRect().right"
        " <= t.closest('.gnode').getBoundingClientRect().right)"
    )
    assert inside == [True] * 4, "a run's name runs out of its node"
    assert all(
        t.evaluate("(t) => t.clientWidth")
        >= t.evaluate(
            "(t) => { const r = document.createRange(); r.setStart(t.firstChild, 0);"
            " r.setEnd(t.firstChild, 10); return r.getBoundingClientRect().width; }"
        )
        for t in steps.locator(".node-tag").all()
    ), "the run's number is shown"
    assert cut_text(page, ".gnode.execution .node-label, .gnode.kind-model .node-tag") == []
    titles = sorted(steps.locator(".node-body").evaluate_all("(ns) => ns.map((n) => n.title)"))
    assert [t.split("\n")[0] for t in titles] == [f"train · {run}" for run in runs], titles
    dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    shot(page, f"35-lineage-steps-of-many-runs-{'dark' if dark else 'light'}")
    # The trace: each model says its version too.
    page.goto(f"/experiments/{experiment}/trace")
    page.locator(".gnode.kind-model .node-tag").first.wait_for(timeout=10_000)
    assert sorted(models.locator(".node-tag").all_inner_texts()) == ["v0", "v1", "v2", "v3"]


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_the_head_of_the_run_that_broke_says_in_full_what_changed(
    browser: Any, ui_server: ServerProcess, case: CaseStudy, size: tuple[int, int]
) -> None:
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]}, base_url=ui_server.url
    )
    page = context.new_page()
    page.goto(f"/experiments/{case.experiment['id']}/trace")
    broke = page.locator(".gnode.run-header", has_text="train-letters")
    broke.wait_for()
    # Its status, the dataset it read instead and its other parameters, each read, not cut.
    text = broke.inner_text()
    assert "FAILED" in text, text
    assert "another dataset: emnist-letters" in text.replace("\n", " ").replace("- ", "-")
    assert "parameters:" in text
    assert cut_text(page, ".gnode.run-header .node-body") == []
    # The heads stay above the trace: none covers the first row under it.
    heads = page.locator(".gnode.run-header").evaluate_all(
        "(ns) => Math.max(...ns.map((n) => n.getBoundingClientRect().bottom))"
    )
    rows = page.locator(".gnode.artifact").evaluate_all(
        "(ns) => Math.min(...ns.map((n) => n.getBoundingClientRect().top))"
    )
    assert heads < rows, (heads, rows)
    shot(page, f"33-trace-head-of-the-run-that-broke-{size[0]}")
    context.close()


def test_a_lineage_search_finds_nodes_not_loaded_yet(page: Any, ui_server: ServerProcess) -> None:
    # One dataset read by 200 training steps, each writing its own model: 401 nodes, of which
    # the view loads the 150 nearest (the newest steps) first.
    data = one_dataset_read_by(ui_server.url, 200)
    page.goto(f"/artifacts/{data}/lineage?direction=downstream&depth=2")
    page.get_by_text(re.compile(r"\b150 of at least [\d,]+ nodes shown")).wait_for()
    loaded = set(page.locator(".gnode .node-label").all_inner_texts())
    far = next(f"model-{n:03d}" for n in range(200) if f"model-{n:03d}" not in loaded)
    # A model that is not loaded: the search asks the server, which sends it and its way.
    box = page.get_by_label("search in the graph")
    count = page.get_by_test_id("match-count")
    box.fill(far)
    count.get_by_text("1 of 1").wait_for()
    centred = page.locator(".gnode.centred")
    centred.wait_for()
    assert centred.locator(".node-label").inner_text() == far
    page.wait_for_timeout(400)  # the move is animated
    assert visible_in_graph(page, centred)
    shot(page, "34-lineage-search-not-loaded")
    # More matches than a budget holds: the nearest of them, and how many there are.
    box.fill("model-")
    count.get_by_text(re.compile(r"of \d+ · 200 in the lineage, the nearest shown")).wait_for()
    shown = number(r"1 of (\d+)", count.inner_text())
    assert 50 <= shown < 200, count.inner_text()
    # The address keeps the search; a reload finds the same.
    page.reload()
    count.get_by_text(re.compile(r"1 of \d+ · 200 in the lineage")).wait_for()
