"""The charts of many runs in a real headless Chromium: twenty runs told apart in every chart,
parameter axes that fit their values, and value axes whose labels are whole."""

from __future__ import annotations

import itertools
import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from conftest import ServerProcess
from ui.conftest import shot

pytestmark = pytest.mark.slow

RUNS = 20
EPOCHS = 10
# Light and dark page and card backgrounds (web/src/styles.css).
SURFACES = ["#ffffff", "#f7f8fa", "#161d27", "#0f141b"]


def learning_rate(n: int) -> float:
    """1e-4 .. 1e-1, evenly on a log scale."""
    return float(f"{10 ** (-4 + 3 * n / (RUNS - 1)):.3g}")


@pytest.fixture(scope="module")
def sweep(ui_server: ServerProcess) -> list[str]:
    """Twenty runs of a learning-rate sweep, each logging a gradient norm of about 1e-4 and an
    accuracy per epoch; their ids in order."""
    ops: list[dict[str, Any]] = []

    def add(entity: str, body: dict[str, Any]) -> str:
        key = str(uuid.uuid4())
        ops.append({"op": "create", "entity": entity, "id": key, "body": body})
        return key

    experiment = add("experiment", {"name": f"lr-sweep-{uuid.uuid4().hex[:6]}"})
    start = datetime(2026, 6, 1, tzinfo=UTC)
    runs = [
        add(
            "run",
            {
                "experiment": experiment,
                "name": f"sweep-{n:02d}",
                "status": "SUCCESS",
                "createTime": (start + timedelta(minutes=n)).isoformat(),
                "configuration": {
                    "learning_rate": learning_rate(n),
                    "batch_size": 32 * (1 + n % 4),
                },
            },
        )
        for n in range(RUNS)
    ]
    stored = httpx.post(f"{ui_server.url}/api/v1/batch", json={"operations": ops}, timeout=60)
    assert stored.status_code == 200, stored.text
    steps = list(range(EPOCHS))
    for n, run in enumerate(runs):
        series = [
            {"key": "accuracy", "steps": steps, "values": [0.5 + n / 50 + e / 100 for e in steps]},
            {"key": "grad_norm", "steps": steps, "values": [1e-4 * (1 + e / 5) for e in steps]},
        ]
        logged = httpx.post(
            f"{ui_server.url}/api/v1/runs/{run}/metrics", json={"series": series}, timeout=30
        )
        assert logged.status_code in (200, 201), logged.text
    return runs


def _linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _rgb(colour: str) -> tuple[float, float, float]:
    colour = colour.strip()
    if colour.startswith("#"):
        r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    else:  # rgb(r, g, b)
        r, g, b = (int(v) / 255 for v in colour[colour.index("(") + 1 : -1].split(",")[:3])
    return _linear(r), _linear(g), _linear(b)


def contrast(a: str, b: str) -> float:
    def lum(c: str) -> float:
        r, g, b_ = _rgb(c)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def lab_distance(a: str, b: str) -> float:
    """The CIE76 colour difference."""

    def lab(c: str) -> tuple[float, float, float]:
        r, g, b_ = _rgb(c)
        x = (0.4124 * r + 0.3576 * g + 0.1805 * b_) / 0.95047
        y = 0.2126 * r + 0.7152 * g + 0.0722 * b_
        z = (0.0193 * r + 0.1192 * g + 0.9505 * b_) / 1.08883

        def f(v: float) -> float:
            return v ** (1 / 3) if v > 0.008856 else 7.787 * v + 16 / 116

        return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))

    return math.dist(lab(a), lab(b))


def assert_told_apart(styles: list[tuple[str, str]]) -> None:
    """Each run's (colour, line) is its own; runs of one line differ clearly in colour."""
    assert len(set(styles)) == len(styles), styles
    for (c1, l1), (c2, l2) in itertools.combinations(styles, 2):
        assert lab_distance(c1, c2) >= (20 if l1 == l2 else 12), (c1, l1, c2, l2)
    for colour, _ in styles:
        for surface in SURFACES:
            assert contrast(colour, surface) >= 3, (colour, surface)


@pytest.mark.parametrize("page", ["light", "dark"], indirect=True)
def test_twenty_compared_runs_each_have_their_own_colour_and_line(
    page: Any, sweep: list[str], request: pytest.FixtureRequest
) -> None:
    page.goto("/compare/runs?ids=" + ",".join(sweep))
    page.get_by_role("heading", name=f"Compare {RUNS} runs").wait_for()
    chart = page.get_by_test_id("compare-chart").first
    chart.locator("canvas").wait_for()
    assert chart.get_attribute("data-series") == str(RUNS)
    keys = chart.locator(".chart-key .chart-swatch")
    legend = [
        (k.get_attribute("data-color") or "", k.get_attribute("data-line") or "")
        for k in keys.all()
    ]
    assert len(legend) == RUNS
    assert_told_apart(legend)
    # The parallel coordinates chart draws each run as its legend does.
    lines = page.get_by_test_id("parallel-chart").locator("path[data-run]")
    drawn = lines.evaluate_all(
        "ps => ps.map(p => [p.getAttribute('stroke'), p.getAttribute('stroke-dasharray') || ''])"
    )
    assert [colour for colour, _ in drawn] == [colour for colour, _ in legend]
    assert len({tuple(d) for d in drawn}) == RUNS
    shot(page, f"25-compare-20-runs-{request.node.callspec.params['page']}")


def nice(value: float) -> bool:
    """1, 2, 2.5 or 5 times a power of ten."""
    mantissa = abs(value) / 10 ** math.floor(math.log10(abs(value)))
    return any(math.isclose(mantissa, m, rel_tol=1e-9) for m in (1, 2, 2.5, 5, 10))


def round_ticks(values: list[float]) -> bool:
    """Evenly a round step apart, each a whole number of steps."""
    steps = {round(a - b, 9) for a, b in itertools.pairwise(values)}
    if len(steps) != 1:
        return False
    step = abs(steps.pop())
    return nice(step) and all(math.isclose(v / step, round(v / step)) for v in values)


@pytest.mark.parametrize("page", ["light", "dark"], indirect=True)
def test_parallel_axes_fit_their_values_and_keep_their_labels_readable(
    page: Any, sweep: list[str], request: pytest.FixtureRequest
) -> None:
    page.goto("/compare/runs?ids=" + ",".join(sweep))
    chart = page.get_by_test_id("parallel-chart")
    chart.locator("path[data-run]").first.wait_for(state="attached")
    lr = chart.locator("[data-axis=learning_rate]")
    # 1e-4 .. 1e-1: a log axis, a tick per decade, the runs spread evenly along it.
    assert lr.get_attribute("data-scale") == "log"
    ticks = [
        float(v) for v in lr.locator(".tick").evaluate_all("ts => ts.map(t => t.dataset.value)")
    ]
    assert ticks == [0.1, 0.01, 0.001, 0.0001], ticks
    assert lr.locator(".tick").all_text_contents() == ["1e-1", "1e-2", "1e-3", "1e-4"]
    axis = chart.locator("[data-axis]").evaluate_all("gs => gs.map(g => g.dataset.axis)")
    at = axis.index("learning_rate")
    ys = chart.locator("path[data-run]").evaluate_all(
        "(ps, at) => ps.map(p => Number(p.getAttribute('d').split(' ')[at].split(',')[1]))", at
    )
    gaps = [a - b for a, b in itertools.pairwise(ys)]
    assert min(gaps) > 0.6 * max(gaps), gaps  # evenly spread, none crushed at the bottom
    # A linear axis has round ticks.
    batch = chart.locator("[data-axis=batch_size]")
    assert batch.get_attribute("data-scale") == "linear"
    values = [
        float(v) for v in batch.locator(".tick").evaluate_all("ts => ts.map(t => t.dataset.value)")
    ]
    assert len(values) >= 3 and round_ticks(values), values
    # Labels are drawn over the lines, on a halo of the chart's background.
    order = chart.evaluate(
        """(fig) => {
            const all = [...fig.querySelectorAll('path[data-run], text')];
            const lastLine = all.map(e => e.tagName).lastIndexOf('path');
            return all.findIndex(e => e.tagName === 'text') > lastLine;
        }"""
    )
    assert order, "a run's line is drawn over a label"
    for text in (chart.locator(".tick").first, chart.locator(".pc-label").first):
        style = text.evaluate(
            "(t) => { const s = getComputedStyle(t);"
            " return [s.paintOrder, s.strokeWidth, s.stroke]; }"
        )
        assert style[0].startswith("stroke") and float(style[1].rstrip("px")) >= 3, style
    chart.scroll_into_view_if_needed()
    shot(page, f"26-parallel-{request.node.callspec.params['page']}")


# Every text a canvas draws, with where its ends are: uPlot draws its axes' labels on a canvas.
RECORD_CANVAS_TEXT = """
window.__drawn = [];
const fill = CanvasRenderingContext2D.prototype.fillText;
CanvasRenderingContext2D.prototype.fillText = function (text, x, y, ...rest) {
    const width = this.measureText(text).width;
    const align = this.textAlign;
    const left = align === 'right' || align === 'end' ? x - width
        : align === 'center' ? x - width / 2 : x;
    window.__drawn.push({ text: String(text), left, right: left + width,
        canvas: this.canvas.width });
    return fill.call(this, text, x, y, ...rest);
};
"""


@pytest.mark.parametrize("page", ["light", "dark"], indirect=True)
def test_a_metric_axis_keeps_its_labels_whole(
    page: Any, sweep: list[str], request: pytest.FixtureRequest
) -> None:
    page.add_init_script(RECORD_CANVAS_TEXT)
    page.goto(f"/runs/{sweep[0]}")
    charts = page.get_by_test_id("run-metrics").get_by_test_id("metric-chart")
    chart = charts.filter(has_text="grad_norm")
    chart.locator("canvas").wait_for()
    page.wait_for_function("window.__drawn.some(d => /e-4$/.test(d.text))")
    drawn = page.evaluate("window.__drawn")
    labels = [d for d in drawn if "e-4" in d["text"]]
    # Short (1e-4, 1.2e-4 rather than 1.000e-4, 1.200e-4), and all of each on the canvas.
    assert all(".000" not in d["text"] and not d["text"].endswith("0e-4") for d in labels), labels
    assert all(d["left"] >= 0 and d["right"] <= d["canvas"] for d in drawn), [
        d for d in drawn if d["left"] < 0
    ]
    chart.scroll_into_view_if_needed()
    shot(page, f"27-metric-axis-{request.node.callspec.params['page']}")


# Each read of a chart's width, with the number of charts drawn by then.
RECORD_WIDTH_READS = """
window.__widthReads = [];
const width = Object.getOwnPropertyDescriptor(Element.prototype, "clientWidth");
Object.defineProperty(Element.prototype, "clientWidth", {
    get() {
        if (this.classList.contains("chart-plot"))
            window.__widthReads.push(document.querySelectorAll(".chart-plot canvas").length);
        return width.get.call(this);
    },
});
"""


def test_a_page_of_charts_reads_every_width_before_drawing_any(page: Any, sweep: list[str]) -> None:
    page.add_init_script(RECORD_WIDTH_READS)
    page.goto(f"/runs/{sweep[0]}")
    charts = page.get_by_test_id("run-metrics").get_by_test_id("metric-chart")
    charts.filter(has_text="grad_norm").locator("canvas").wait_for()
    charts.filter(has_text="accuracy").locator("canvas").wait_for()
    reads = page.evaluate("window.__widthReads")
    # A width read after another chart was drawn lays the page out again, once per chart.
    assert reads[: charts.count()] == [0] * charts.count(), reads


def test_the_comparison_asks_for_no_bands_as_it_draws_lines(page: Any, sweep: list[str]) -> None:
    with page.expect_request(lambda r: "/api/v1/compare/runs?" in r.url) as asked:
        page.goto("/compare/runs?metrics=accuracy&ids=" + ",".join(sweep))
    # Each point's bucket's least and greatest value are half of the answer and never drawn.
    assert "bands=false" in asked.value.url, asked.value.url
    page.get_by_test_id("compare-chart").locator("canvas").wait_for()


# Each text a canvas draws with its alignment: uPlot centres the x axis's labels under their ticks.
RECORD_CANVAS_ALIGN = """
window.__drawn = [];
const fill = CanvasRenderingContext2D.prototype.fillText;
CanvasRenderingContext2D.prototype.fillText = function (text, x, y, ...rest) {
    window.__drawn.push({ text: String(text), align: this.textAlign });
    return fill.call(this, text, x, y, ...rest);
};
"""


@pytest.mark.parametrize("page", ["light", "dark"], indirect=True)
def test_a_step_axis_of_a_few_points_ticks_on_whole_steps(
    page: Any, ui_server: ServerProcess, request: pytest.FixtureRequest
) -> None:
    experiment = httpx.post(
        f"{ui_server.url}/api/v1/experiments", json={"name": f"short-{uuid.uuid4().hex[:6]}"}
    ).json()["id"]
    run = httpx.post(
        f"{ui_server.url}/api/v1/runs",
        json={"experiment": experiment, "name": "three-epochs", "status": "SUCCESS"},
    ).json()["id"]
    logged = httpx.post(
        f"{ui_server.url}/api/v1/runs/{run}/metrics",
        json={"series": [{"key": "loss", "steps": [0, 1, 2], "values": [0.9, 0.5, 0.3]}]},
    )
    assert logged.status_code in (200, 201), logged.text
    page.add_init_script(RECORD_CANVAS_ALIGN)
    page.goto(f"/runs/{run}")
    chart = page.get_by_test_id("run-metrics").get_by_test_id("metric-chart")
    chart.locator("canvas").wait_for()
    page.wait_for_function("window.__drawn.some(d => d.text === 'step')")
    drawn = page.evaluate("window.__drawn")
    ticks = [d["text"] for d in drawn if d["align"] == "center" and d["text"] != "step"]
    # Steps 0, 1 and 2 and nothing between them: there is no step 0.25.
    assert len(ticks) >= 2 and all(t.isdigit() for t in ticks), ticks
    chart.scroll_into_view_if_needed()
    shot(page, f"29-step-axis-{request.node.callspec.params['page']}")


@pytest.mark.parametrize("page", ["light"], indirect=True)
def test_a_time_since_start_axis_ticks_on_round_durations(
    page: Any, ui_server: ServerProcess
) -> None:
    experiment = httpx.post(
        f"{ui_server.url}/api/v1/experiments", json={"name": f"long-{uuid.uuid4().hex[:6]}"}
    ).json()["id"]
    start = datetime(2026, 6, 1, tzinfo=UTC)
    runs = []
    for n in range(2):
        run = httpx.post(
            f"{ui_server.url}/api/v1/runs",
            json={
                "experiment": experiment,
                "name": f"half-hour-{n}",
                "status": "SUCCESS",
                "createTime": start.isoformat(),
            },
        ).json()["id"]
        # A point every 100 s for 2,000 s: uPlot's own increments would tick every 200 s.
        at = [int(start.timestamp() * 1000) + 100_000 * k for k in range(21)]
        series = {
            "key": "loss",
            "steps": list(range(21)),
            "values": [1 / (k + 1) for k in range(21)],
        }
        logged = httpx.post(
            f"{ui_server.url}/api/v1/runs/{run}/metrics",
            json={"series": [{**series, "timestamps": at}]},
        )
        assert logged.status_code in (200, 201), logged.text
        runs.append(run)
    page.add_init_script(RECORD_CANVAS_ALIGN)
    page.goto("/compare/runs?x=relative&ids=" + ",".join(runs))
    page.get_by_test_id("compare-chart").first.locator("canvas").wait_for()
    page.wait_for_function('window.__drawn.some(d => d.text === "time since the run\'s start")')
    drawn = page.evaluate("window.__drawn")
    label = "time since the run's start"
    ticks = [d["text"] for d in drawn if d["align"] == "center" and d["text"] != label]
    # Whole minutes ("5 min 00 s"), not "3 min 20 s".
    assert len(ticks) >= 2 and all(t == "0.0 s" or t.endswith(" 00 s") for t in ticks), ticks
