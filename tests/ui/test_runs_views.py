"""The run page, the runs grid and the comparison of runs in a real headless Chromium, on a
small tuning experiment (four runs logging a loss and an accuracy per epoch) and the case
study."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

import casestudy
from conftest import ServerProcess
from ui import tuning
from ui.conftest import HeldRequests, shot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(ui_server: ServerProcess) -> tuning.Tuning:
    return tuning.build(ui_server.url)


@pytest.fixture(scope="module")
def case(ui_server: ServerProcess) -> casestudy.CaseStudy:
    return casestudy.build(ui_server.url)


def grid_names(page: Any) -> list[str]:
    page.wait_for_selector("table.data.grid:not(.stale) tbody tr")
    return page.locator("table.data.grid tbody td.name").all_inner_texts()  # type: ignore[no-any-return]


def test_run_page_shows_what_the_run_was_and_measured(page: Any, runs: tuning.Tuning) -> None:
    run = runs.runs["lr-0.01"]
    # The steps (the run's inputs and outputs) answer last, as they may on a busy server.
    held = HeldRequests(page, f"**/api/v1/runs/{run}/dag")
    page.goto(f"/runs/{run}")
    page.get_by_role("heading", name="lr-0.01").wait_for()
    facts = page.get_by_test_id("run-facts")
    assert facts.locator("[data-fact=duration]").inner_text() == "30 min 00 s"
    assert facts.locator("[data-fact=status]").inner_text() == "SUCCESS"
    params = page.get_by_test_id("run-parameters")
    assert params.locator("tr[data-key=lr] td").inner_text() == "0.01"
    assert params.locator("tr[data-key=optimizer] td").inner_text() == "adam"
    tags = page.get_by_test_id("run-tags")
    assert tags.locator("tbody th").all_inner_texts()[:3] == ["command", "git.commit", "host"]
    assert "--lr 0.01" in tags.locator("tr[data-key=command] td").inner_text()
    metrics = page.get_by_test_id("run-metrics")
    latest = metrics.locator("tr[data-metric=accuracy] td").first.inner_text()
    assert latest == str(tuning.accuracy_at(0.95, tuning.EPOCHS - 1))
    charts = metrics.get_by_test_id("metric-chart")
    charts.nth(1).locator("canvas").wait_for()
    assert charts.count() == 2
    accuracy = charts.filter(has_text="accuracy")
    # the latest point is drawn and marked, on a step axis
    assert accuracy.get_attribute("data-last-x") == str(tuning.EPOCHS - 1)
    assert accuracy.get_attribute("data-current") == f"{tuning.EPOCHS - 1},{latest}"
    # Inputs and outputs are there once the steps have answered, not before.
    held.wait_for(f"/runs/{run}/dag")
    assert page.get_by_test_id("run-inputs").get_by_role("link").count() == 0
    held.stop()
    expect(page.get_by_test_id("run-inputs").get_by_role("link")).to_have_text(
        ["digits"], timeout=15_000
    )
    outputs = page.get_by_test_id("run-outputs").get_by_role("link")
    expect(outputs).to_have_text(["classifier"], timeout=15_000)
    shot(page, "20-run-page")
    outputs.click()
    page.wait_for_url(re.compile(runs.ids["lr-0.01.model"]))
    page.go_back()
    page.get_by_role("link", name="DAG").click()
    page.wait_for_url(re.compile(rf"/runs/{run}/dag$"))
    expect(page.locator(".react-flow__node")).to_have_count(3, timeout=15_000)


def test_a_view_asks_for_its_code_and_data_without_waiting(page: Any, runs: tuning.Tuning) -> None:
    # The session check and the run itself are held: the view's chunk, the run's steps and its
    # metrics are asked for meanwhile, each once, and the page is drawn once they answer.
    run = runs.runs["lr-0.01"]
    held = HeldRequests(page, "**/api/v1/whoami", f"**/api/v1/runs/{run}")
    page.goto(f"/runs/{run}", wait_until="commit")
    held.wait_for("/assets/RunPage-", f"/runs/{run}/dag", f"/runs/{run}/metrics")
    assert page.get_by_test_id("run-facts").count() == 0
    held.release()
    page.get_by_test_id("run-metrics").get_by_test_id("metric-chart").nth(1).wait_for()
    assert [held.count(f"/runs/{run}{end}") for end in ("", "/dag", "/metrics")] == [1, 1, 1]


def test_the_run_page_asks_for_its_charts_with_its_metrics(page: Any, runs: tuning.Tuning) -> None:
    run = runs.runs["lr-0.01"]
    # The charts' series come with the metrics, asked while the run itself is held: no
    # round trip more once the metrics have named them.
    held = HeldRequests(page, f"**/api/v1/runs/{run}")
    page.goto(f"/runs/{run}", wait_until="commit")
    held.wait_for(f"/runs/{run}/metrics?charts=")
    assert page.get_by_test_id("run-metrics").count() == 0
    held.release()
    charts = page.get_by_test_id("run-metrics").get_by_test_id("metric-chart")
    charts.nth(1).locator("canvas").wait_for()
    assert held.count(f"/runs/{run}/metrics") == 1
    assert held.count(f"/runs/{run}/metrics/accuracy") == 0
    assert held.count(f"/runs/{run}/metrics/loss") == 0
    assert int(charts.nth(0).get_attribute("data-points") or 0) > 0


def test_the_runs_grid_takes_the_page_asked_for_before_it_was_drawn(
    page: Any, runs: tuning.Tuning
) -> None:
    held = HeldRequests(page, "**/api/v1/whoami")
    page.goto(
        f"/experiments/{runs.experiment}/runs?sort=-metrics.accuracy&limit=3", wait_until="commit"
    )
    held.wait_for(
        "/assets/RunsGrid-", "columns=auto", "count=true", f"/api/v1/experiments/{runs.experiment}"
    )
    held.release()
    assert grid_names(page) == ["lr-0.05-new-data", "lr-0.01", "lr-0.1"]
    # the page and the count asked for at once are the ones shown: not asked for again
    assert held.count("/runs") == 2


def test_old_dag_address_opens_the_dag_tab(page: Any, case: casestudy.CaseStudy) -> None:
    run, step = case.runs[1]["id"], case.ids["run2.model"]
    page.goto(f"/runs/{run}?select={step}")
    page.wait_for_url(re.compile(rf"/runs/{run}/dag\?select={step}$"))
    page.get_by_test_id("artifact-details").get_by_text(casestudy.MODEL).first.wait_for()
    page.goto(f"/runs/{run}")
    page.get_by_test_id("run-facts").get_by_text(casestudy.CAUSES[1]).wait_for()
    assert "1 failed" in page.get_by_test_id("run-facts").locator("[data-fact=steps]").inner_text()


def test_runs_grid_sorts_on_a_metric_searches_pages_and_compares(
    page: Any, runs: tuning.Tuning
) -> None:
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(f"/experiments/{runs.experiment}/runs")
    page.get_by_role("heading", name="Runs of tuning").wait_for()
    grid_names(page)
    page.get_by_test_id("count").filter(has_text="of 4 runs").wait_for()
    # the keys read many runs: asked only once the search or the column chooser is used, never
    # beside the page's own requests
    assert not [u for u in asked if "/runs/keys" in u]
    heads = page.locator("table.data.grid thead th[data-column]").evaluate_all(
        "els => els.map(e => e.dataset.column)"
    )
    assert "metrics.accuracy" in heads and "configuration.lr" in heads
    assert "configuration.epochs" not in heads  # the same in every run: not proposed
    by_accuracy = sorted(tuning.RUNS, key=lambda r: r[3])
    page.locator("th[data-column='metrics.accuracy'] button").click()
    page.wait_for_url(re.compile(r"sort=metrics.accuracy"))
    assert grid_names(page) == [r[0] for r in by_accuracy]
    page.locator("th[data-column='metrics.accuracy'] button").click()
    page.wait_for_url(re.compile(r"sort=-metrics.accuracy"))
    assert grid_names(page) == [r[0] for r in reversed(by_accuracy)]
    shot(page, "21-runs-grid")
    # the server sorts on the duration too
    page.locator("th[data-column=duration] button").click()
    page.wait_for_url(re.compile(r"sort=duration"))
    assert grid_names(page) == [r[0] for r in sorted(tuning.RUNS, key=lambda r: r[4])]
    page.locator("th[data-column=duration] button").click()
    page.wait_for_url(re.compile(r"sort=-duration"))
    assert grid_names(page) == [r[0] for r in sorted(tuning.RUNS, key=lambda r: -r[4])]

    # the search completes real keys
    search = page.get_by_label("search runs")
    search.fill("accur")
    options = page.get_by_role("listbox", name="keys").get_by_role("option")
    expect(options).to_have_text(["metrics.accuracy"])
    assert [u for u in asked if "/runs/keys" in u]
    search.press("Tab")
    assert search.input_value() == "metrics.accuracy "
    search.press("End")
    search.type('> 0.9 and configuration.optimizer = "adam"')
    search.press("Escape")
    search.press("Enter")
    page.wait_for_url(re.compile(r"q=metrics.accuracy"))
    page.get_by_test_id("count").filter(has_text="of 2 runs").wait_for()
    assert sorted(grid_names(page)) == ["lr-0.01", "lr-0.05-new-data"]

    # a chosen column
    page.get_by_text("Columns (").click()
    page.get_by_role("checkbox", name="host").check()
    page.wait_for_url(re.compile(r"columns=.*annotations.host"))
    page.locator("th[data-column='annotations.host']").wait_for()

    # the cursor is in the address: reload and Back keep the page
    page.goto(f"/experiments/{runs.experiment}/runs?sort=name&limit=3")
    assert grid_names(page) == ["lr-0.001", "lr-0.01", "lr-0.05-new-data"]
    page.get_by_role("button", name="Next →").click()
    page.wait_for_url(re.compile(r"cursor="))
    page.get_by_test_id("count").filter(has_text="4–4 of 4").wait_for()
    assert grid_names(page) == ["lr-0.1"]
    page.reload()
    page.get_by_test_id("count").filter(has_text="4–4 of 4").wait_for()
    page.go_back()
    page.get_by_test_id("count").filter(has_text="1–3 of 4").wait_for()
    page.go_forward()
    page.get_by_test_id("count").filter(has_text="4–4 of 4").wait_for()
    page.get_by_role("button", name="← Previous").click()
    page.get_by_test_id("count").filter(has_text="1–3 of 4").wait_for()

    page.get_by_role("checkbox", name="select lr-0.001").check()
    page.get_by_role("checkbox", name="select lr-0.01").check()
    # the ticked runs survive a reload and paging
    page.wait_for_url(re.compile(r"selected="))
    page.reload()
    grid_names(page)
    assert page.get_by_role("checkbox", name="select lr-0.001").is_checked()
    assert page.get_by_role("checkbox", name="select lr-0.01").is_checked()
    page.get_by_text("2 selected").wait_for()
    page.get_by_role("button", name="Next →").click()
    page.get_by_test_id("count").filter(has_text="4–4 of 4").wait_for()
    page.get_by_text("2 selected").wait_for()
    page.get_by_role("button", name="Compare selected").click()
    page.wait_for_url(re.compile(r"/compare/runs\?ids="))
    page.get_by_role("heading", name="Compare 2 runs").wait_for()


@pytest.mark.parametrize("page", ["light", "dark"], indirect=True)
def test_compare_runs_marks_differences_and_overlays_series(
    page: Any, runs: tuning.Tuning, request: pytest.FixtureRequest
) -> None:
    page.goto("/compare/runs?ids=" + ",".join(runs.runs.values()))
    page.get_by_role("heading", name="Compare 4 runs").wait_for()
    params = page.get_by_test_id("compare-parameters")
    assert params.locator("tr[data-key=lr]").get_attribute("class") == "differs"
    assert params.locator("tr[data-key=epochs]").count() == 0
    params.get_by_role("button", name="Show the 1 equal").click()
    assert params.locator("tr[data-key=epochs]").get_attribute("class") == "same"
    charts = page.get_by_test_id("compare-chart")
    charts.nth(1).locator("canvas").wait_for()
    assert charts.count() == 2 and charts.first.get_attribute("data-series") == "4"
    assert charts.first.get_attribute("data-last-x") == str(tuning.EPOCHS - 1)
    # a tooltip names the step and each run's value under the cursor
    charts.first.scroll_into_view_if_needed()
    box = charts.first.locator(".u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    tip = charts.first.get_by_role("tooltip")
    tip.wait_for()
    assert "step 19" in tip.inner_text() and "lr-0.05-new-data: 0.9" in tip.inner_text()
    # log scale, and time on the x axis: since each run's start, or the wall clock
    charts.nth(1).get_by_role("checkbox", name="log").check()
    axes = page.get_by_role("group", name="x axis")
    axes.get_by_role("button", name="time since start").click()
    page.wait_for_url(re.compile(r"x=relative"))
    # the runs started an hour apart; their points are laid over each other from their start
    longest = max(minutes for *_, minutes in tuning.RUNS) * 3 * (tuning.EPOCHS - 1)
    last_x = "document.querySelector('[data-testid=compare-chart]')?.dataset.lastX"
    page.wait_for_function(f"() => {last_x} === '{longest}'")
    assert page.get_by_text("accuracy by time since start").is_visible()
    axes.get_by_role("button", name="wall clock").click()
    page.wait_for_url(re.compile(r"x=time"))
    page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=compare-chart]')?.dataset.lastX) > 1e12"
    )
    lines = page.get_by_test_id("parallel-chart").locator("path[data-run]")
    assert lines.count() == 4
    artifacts = page.get_by_test_id("compare-artifacts")
    assert artifacts.locator("tr[data-artifact=digits]").get_attribute("class") == "differs"
    # every table heads its runs alike, in their order, the full name as the tooltip
    names = list(runs.runs)
    for table in ("compare-parameters", "compare-metrics", "compare-artifacts"):
        heads = page.get_by_test_id(table).locator("table").first.locator("th[data-run]")
        assert heads.evaluate_all("hs => hs.map(h => h.title)") == names, table
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    shot(page, f"22-compare-runs-{request.node.callspec.params['page']}")


def test_compare_shows_a_diverged_metric_as_nan_or_infinity(
    page: Any, ui_server: ServerProcess
) -> None:
    api = f"{ui_server.url}/api/v1"
    experiment = httpx.post(f"{api}/experiments", json={"name": "diverged"}).json()["id"]
    logged = {
        "nan": [0.5, "NaN"],
        "up": ["-Infinity", 0.5, "Infinity"],
        "down": [0.5, "-Infinity"],
        "low": [0.3],
        "high": [0.7],
    }
    ids = []
    for lr, (name, values) in enumerate(logged.items()):
        body = {"experiment": experiment, "name": name, "configuration": {"lr": lr}}
        run = httpx.post(f"{api}/runs", json=body).json()["id"]
        series = {"key": "loss", "steps": list(range(len(values))), "values": values}
        assert httpx.post(f"{api}/runs/{run}/metrics", json={"series": [series]}).is_success
        ids.append(run)
    page.goto("/compare/runs?ids=" + ",".join(ids))
    cells = page.get_by_test_id("compare-metrics").locator("tr[data-metric=loss] td.num")
    expect(cells).to_have_text(["NaN", "∞", "−∞", "0.3▼", "0.7▲"])
    assert cells.nth(1).get_attribute("title") == "least −∞ · greatest ∞"
    # The metric's axis stays a scale of the runs' numbers; the others have no point on it.
    metric_axis = page.get_by_test_id("parallel-chart").locator("g").last
    ticks = metric_axis.locator("text.tick").evaluate_all("ts => ts.map(t => t.textContent)")
    assert ticks == ["0.7", "0.6", "0.5", "0.4", "0.3"]


def test_the_run_page_reads_a_key_of_dots_as_that_key(page: Any, ui_server: ServerProcess) -> None:
    # "." and ".." are dot segments a browser resolves in an address ("..": the run's
    # parent): the link and the chart of each series must still ask for that series.
    api = f"{ui_server.url}/api/v1"
    experiment = httpx.post(f"{api}/experiments", json={"name": "dots"}).json()["id"]
    run = httpx.post(f"{api}/runs", json={"experiment": experiment, "name": "dots"}).json()["id"]
    keys = ["..", ".", "../etc", "a.b"]
    series = [{"key": k, "steps": [0, 1], "values": [float(i), 0.5]} for i, k in enumerate(keys)]
    assert httpx.post(f"{api}/runs/{run}/metrics", json={"series": series}).is_success
    page.goto(f"/runs/{run}")
    metrics = page.get_by_test_id("run-metrics")
    for i, key in enumerate(keys):
        link = (
            metrics.locator("table.metric-table tbody tr")
            .filter(has=page.get_by_role("rowheader", name=key, exact=True))
            .get_by_role("link")
        )
        answer = link.evaluate("async (a) => (await fetch(a.href)).json()")
        assert (answer.get("key"), answer.get("values")) == (key, [float(i), 0.5]), answer
    charts = metrics.get_by_test_id("metric-chart")
    expect(charts).to_have_count(len(keys))
    for i in range(len(keys)):
        charts.nth(i).locator("canvas").wait_for()
        assert charts.nth(i).get_attribute("data-last-x") == "1"


def test_the_trace_marks_the_parameters_a_run_changed(page: Any, runs: tuning.Tuning) -> None:
    page.goto(f"/experiments/{runs.experiment}/trace")
    headers = page.locator(".gnode.run-header")
    headers.filter(has_text="lr-0.05-new-data").wait_for()
    first = headers.filter(has_text="lr-0.1")
    assert "parameters:" not in first.inner_text()  # nothing before it to compare with
    second = headers.filter(has_text="lr-0.01").inner_text()
    assert "parameters: lr=0.01, optimizer=adam" in second
    last = headers.filter(has_text="lr-0.05-new-data").inner_text()
    assert "another dataset: digits" in last and "parameters: lr=0.05" in last
    assert "changed" in (headers.filter(has_text="lr-0.001").get_attribute("class") or "")


def test_chart_styles_all_apply(page: Any, runs: tuning.Tuning) -> None:
    # Charts are drawn by uPlot (canvas) and one SVG chart (parallel coordinates): every chart
    # rule of the style sheets styles something on the page that has both.
    page.goto("/compare/runs?ids=" + ",".join(runs.runs.values()))
    page.get_by_test_id("compare-chart").nth(1).locator("canvas").wait_for()
    page.get_by_test_id("parallel-chart").locator("path[data-run]").first.wait_for()
    unused = page.evaluate(
        """() => [...document.styleSheets].flatMap((sheet) => [...sheet.cssRules])
            .map((rule) => rule.selectorText ?? "")
            .flatMap((text) => text.split(",").map((s) => s.trim()))
            .filter((s) => s.startsWith(".chart ") || s.startsWith(".chart."))
            .filter((s) => !document.querySelector(s.replace(/:hover|:focus-visible/g, "")))"""
    )
    assert unused == []


def test_compare_fits_a_wide_screen(browser: Any, ui_server: ServerProcess, runs: Any) -> None:
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, base_url=ui_server.url)
    page = context.new_page()
    page.goto("/compare/runs?ids=" + ",".join(runs.runs.values()))
    page.get_by_test_id("compare-chart").nth(1).locator("canvas").wait_for()
    charts = page.get_by_test_id("compare-chart")
    first, second = charts.first.bounding_box(), charts.nth(1).bounding_box()
    assert first["y"] == second["y"] and first["width"] > 700  # side by side, wide
    shot(page, "23-compare-runs-1920")
    context.close()


def test_an_artifact_chart_holds_its_version_among_many(
    page: Any, ui_server: ServerProcess
) -> None:
    # 260 versions of one artifact: more than a chart draws (200), the one shown among the oldest
    start = datetime(2026, 5, 1, tzinfo=UTC)
    ids = [str(uuid.uuid4()) for _ in range(260)]
    ops = [
        {
            "op": "create",
            "entity": "artifact",
            "id": ids[i],
            "body": {
                "name": "nightly-score",
                "kind": "dataset",
                "version": str(i + 1),
                "createTime": (start + timedelta(hours=i)).isoformat(),
                "attributes": {"score": round(0.5 + i / 1000, 3)},
            },
        }
        for i in range(260)
    ]
    stored = httpx.post(f"{ui_server.url}/api/v1/batch", json={"operations": ops}, timeout=60)
    assert stored.status_code == 200, stored.text

    def chart() -> Any:
        c = page.get_by_test_id("line-chart").filter(has_text="score of every")
        c.locator("canvas").wait_for()
        return c

    ms = lambda i: str(int((start + timedelta(hours=i)).timestamp() * 1000))  # noqa: E731
    page.goto(f"/artifacts/{ids[10]}")
    old = chart()
    assert old.get_attribute("data-current") == f"{ms(10)},0.51"
    assert old.get_attribute("data-last-x") == ms(10)  # the window ends at the version shown
    assert old.get_attribute("data-points") == "11"
    page.goto(f"/artifacts/{ids[-1]}")
    newest = chart()
    assert newest.get_attribute("data-current") == f"{ms(259)},0.759"
    assert newest.get_attribute("data-points") == "200"
