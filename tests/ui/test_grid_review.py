"""Defects a browser review found in the runs grid and the lists, each checked in a real
headless Chromium at 1280x800 and 1920x1080, light and dark."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from conftest import ServerProcess
from ui import tuning
from ui.conftest import shot

pytestmark = pytest.mark.slow

SIZES = [(1280, 800), (1920, 1080)]
PARAMETERS = 14


@pytest.fixture(scope="module")
def runs(ui_server: ServerProcess) -> tuning.Tuning:
    return tuning.build(ui_server.url)


@pytest.fixture(scope="module")
def wide(ui_server: ServerProcess) -> str:
    """An experiment whose runs differ in many parameters: a grid wider than any window."""
    with httpx.Client(base_url=ui_server.url, timeout=30) as client:
        experiment = client.post("/api/v1/experiments", json={"name": "wide"}).json()["id"]
        for i in range(3):
            run = client.post(
                "/api/v1/runs",
                json={
                    "experiment": experiment,
                    "name": f"a-run-with-a-rather-long-name-{i}",
                    "status": "SUCCESS",
                    "configuration": {
                        f"parameter_{k:02}": f"value-{k}-of-run-{i}" for k in range(PARAMETERS)
                    },
                },
            ).json()["id"]
            series = [{"key": "accuracy", "steps": [0], "values": [1 / 3 + i / 10]}]
            series.append({"key": "zloss", "steps": [0], "values": [math.pi * 10 ** -(i + 4)]})
            answer = client.post(f"/api/v1/runs/{run}/metrics", json={"series": series})
            assert answer.status_code in (200, 201), answer.text
    return experiment


PINNED = """wrap => {
  const box = wrap.getBoundingClientRect();
  const cell = (sel) => {
    const el = wrap.querySelector(sel);
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return { left: r.left, right: r.right, bg: getComputedStyle(el).backgroundColor,
             onTop: el === hit || el.contains(hit) };
  };
  const last = wrap.querySelector("thead th:last-child").getBoundingClientRect();
  return {
    wrapLeft: box.left, wrapRight: box.left + wrap.clientLeft + wrap.clientWidth,
    wrapBottom: box.bottom, scrolled: wrap.scrollLeft, wider: wrap.scrollWidth > wrap.clientWidth,
    check: cell("tbody tr:first-child td.check"), name: cell("tbody tr:first-child td.name"),
    headName: cell("thead th[data-column=name]"), lastRight: last.right,
    surface: getComputedStyle(document.documentElement).getPropertyValue("--surface").trim(),
  };
}"""


def scheme(page: Any) -> str:
    dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    return "dark" if dark else "light"


def _opaque(color: str) -> bool:
    return color.startswith("rgb(") or (color.startswith("rgba(") and color.endswith(", 1)"))


def _luminance(color: str) -> float:
    r, g, b = (int(float(x)) for x in color[color.index("(") + 1 : -1].split(",")[:3])
    return (r + g + b) / 3


@pytest.mark.parametrize("page", ["light", "dark"], indirect=True)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_grid_pins_the_checkbox_and_name_and_scrolls_to_the_last_column(
    page: Any, wide: str, size: tuple[int, int]
) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(f"/experiments/{wide}/runs")
    page.wait_for_selector("table.data.grid:not(.stale) tbody tr td.name")
    wrap = page.locator(".table-wrap")
    before = wrap.evaluate(PINNED)
    assert before["wider"], "the grid must be wider than the window for this test"
    wrap.evaluate("w => { w.scrollLeft = w.scrollWidth; }")
    page.wait_for_timeout(100)
    after = wrap.evaluate(PINNED)
    assert after["scrolled"] > 0
    scheme = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    for cell in ("check", "name", "headName"):
        # the pinned cells stay where they were, drawn over the cells scrolled under them
        assert abs(after[cell]["left"] - before[cell]["left"]) < 1, (cell, before, after)
        assert after[cell]["onTop"], f"{cell} is covered by a scrolled cell"
        assert _opaque(after[cell]["bg"]), f"{cell} has a see-through background"
        # an opaque background of the theme: dark in dark mode, light in light mode
        assert (_luminance(after[cell]["bg"]) < 80) == scheme, (cell, after[cell]["bg"])
    assert after["check"]["right"] <= after["name"]["left"] + 1
    # the last column is reachable entirely, and so is the scroll bar
    assert after["lastRight"] <= after["wrapRight"] + 0.5, after
    assert after["wrapBottom"] <= size[1], after
    shot(page, f"40-grid-pinned-{size[0]}-{'dark' if scheme else 'light'}")


@pytest.mark.parametrize("page", ["light", "dark"], indirect=True)
def test_lists_show_names_as_links_without_a_request_per_row(
    page: Any, runs: tuning.Tuning
) -> None:
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url.split("?")[0]))
    page.goto("/runs?filter=" + f"experiment:eq:{runs.experiment}")
    experiment = page.locator("table.data tbody td[data-column=experiment] a")
    expect(experiment).to_have_text(["tuning"] * len(tuning.RUNS))
    assert experiment.first.get_attribute("title") == runs.experiment
    assert experiment.first.get_attribute("href").endswith(f"/experiments/{runs.experiment}/runs")
    copy = page.locator("table.data tbody td[data-column=experiment] button.copy").first
    assert runs.experiment in copy.get_attribute("title")
    shot(page, f"41-runs-list-names-{scheme(page)}")

    run = runs.runs["lr-0.01"]
    page.goto("/executions?filter=" + f"run:eq:{run}")
    expect(page.locator("table.data tbody td[data-column=run] a")).to_have_text(["lr-0.01"])
    executable = page.locator("table.data tbody td[data-column=executable] a")
    expect(executable).to_have_text(["train.py"])
    assert page.locator("table.data tbody td[data-column=run] a").get_attribute("title") == run
    shot(page, f"41-executions-list-names-{scheme(page)}")
    # the names came with the pages: nothing was read per row
    api = [u for u in asked if "/api/v1/" in u]
    assert not [u for u in api if "/experiments/" in u or "/executables" in u], api
    assert not [u for u in api if u.rstrip("/").endswith(run)], api


@pytest.mark.parametrize("page", ["light", "dark"], indirect=True)
def test_a_bad_search_says_what_is_wrong_at_the_search_box(page: Any, runs: tuning.Tuning) -> None:
    page.goto(f"/experiments/{runs.experiment}/runs")
    page.get_by_test_id("count").filter(has_text="of 4 runs").wait_for()
    chooser = page.locator("details.chooser summary")
    before = chooser.inner_text()
    search = page.get_by_label("search runs")
    search.fill("nosuch = 1")
    search.press("Escape")
    search.press("Enter")
    message = page.get_by_test_id("query-error")
    # the server's own words: which field, why, where
    expect(message).to_contain_text("not valid")
    expect(message).to_contain_text("'nosuch': unknown field")
    expect(message).to_contain_text("at column 1")
    assert search.get_attribute("aria-invalid") == "true"
    count = page.get_by_test_id("count").inner_text()
    assert "?" not in count and "no runs searched" in count
    expect(page.locator(".runs-grid .state")).to_contain_text("the search is not valid")
    # the columns of the last answer stay, and the chooser does not say "0"
    assert chooser.inner_text() == before
    assert page.locator(".runs-grid .problem").count() == 0  # said once, at the box
    shot(page, f"42-grid-bad-search-{scheme(page)}")

    # opened with the bad search: no columns known yet, none claimed
    page.goto(f"/experiments/{runs.experiment}/runs?q=metrics.accuracy%20%3E")
    expect(page.get_by_test_id("query-error")).to_contain_text("expected a value")
    assert "0, auto" not in chooser.inner_text()
    assert "?" not in page.get_by_test_id("count").inner_text()
    # a good search again: the rows and the count are back, the message gone
    search.fill("metrics.accuracy > 0.9")
    search.press("Escape")
    search.press("Enter")
    page.get_by_test_id("count").filter(has_text="of 3 runs").wait_for()
    assert page.get_by_test_id("query-error").count() == 0


@pytest.mark.parametrize("address", ["/compare/runs", "/compare/runs?ids=", "/compare/runs?ids=,"])
def test_compare_runs_without_runs_asks_nothing_and_says_how_to_pick_them(
    page: Any, address: str
) -> None:
    asked: list[str] = []
    refused: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.on("response", lambda r: r.status >= 400 and refused.append(f"{r.status} {r.url}"))
    page.goto(address)
    state = page.locator(".compare-runs .state")
    expect(state).to_contain_text("runs grid")
    expect(state.get_by_role("link", name="experiments")).to_be_visible()
    page.wait_for_timeout(300)
    assert not [u for u in asked if "/api/v1/compare/runs" in u], asked
    assert not refused
    assert page.title().startswith("compare")


@pytest.fixture(scope="module")
def floats(ui_server: ServerProcess) -> dict[str, str]:
    """A run whose metric is a long fraction, in its series and in a metrics artifact."""
    with httpx.Client(base_url=ui_server.url, timeout=30) as client:
        experiment = client.post("/api/v1/experiments", json={"name": "floats"}).json()["id"]
        run = client.post(
            "/api/v1/runs",
            json={"experiment": experiment, "name": "float-run", "status": "SUCCESS"},
        ).json()["id"]
        series = [{"key": "f1", "steps": [0, 1], "values": [0.1 + 0.2, 2 / 3]}]
        client.post(f"/api/v1/runs/{run}/metrics", json={"series": series})
        artifact = client.post(
            "/api/v1/artifacts",
            json={"name": "f1", "kind": "metrics", "attributes": {"value": 2 / 3}},
        ).json()["id"]
        exe = client.post("/api/v1/executables", json={"name": "report.py"}).json()["id"]
        step = client.post(
            "/api/v1/executions",
            json={
                "run": run,
                "executable": exe,
                "name": "report",
                "kind": "report",
                "inputArtifacts": [artifact],
            },
        ).json()["id"]
    return {"experiment": experiment, "run": run, "artifact": artifact, "step": step}


@pytest.mark.parametrize("page", ["light", "dark"], indirect=True)
def test_metric_values_are_short_with_the_full_value_in_the_tooltip(
    page: Any, floats: dict[str, str]
) -> None:
    full, short = str(2 / 3), "0.66667"
    page.goto(f"/experiments/{floats['experiment']}/runs")
    cell = page.locator("table.data.grid tbody td[data-column='metrics.f1'] span")
    expect(cell).to_have_text(short)
    assert cell.get_attribute("title") == full
    shot(page, f"43-grid-metric-{scheme(page)}")

    page.goto(f"/runs/{floats['run']}")
    row = page.get_by_test_id("run-metrics").locator("tr[data-metric=f1] td span")
    expect(row.nth(0)).to_have_text(short)  # latest
    expect(row.nth(1)).to_have_text("0.3")  # least
    assert [row.nth(i).get_attribute("title") for i in (0, 1)] == [full, str(0.1 + 0.2)]
    assert full not in page.locator("main").inner_text()

    page.goto(f"/artifacts/{floats['artifact']}")
    value = page.locator("main").get_by_text(short, exact=True)
    expect(value).to_be_visible()
    assert value.get_attribute("title") == full
    assert full not in page.locator("main").inner_text()
    shot(page, f"43-artifact-metric-{scheme(page)}")

    # a step that read the metric
    page.goto(f"/executions/{floats['step']}")
    read = page.locator("li[data-artifact=f1] .metric-value span")
    expect(read).to_have_text(short)
    assert read.get_attribute("title") == full


SELECTS = """() => {
  const root = getComputedStyle(document.documentElement);
  const body = getComputedStyle(document.body);
  const probe = document.createElement("div");
  probe.style.background = root.getPropertyValue("--surface");
  document.body.append(probe);
  const surface = getComputedStyle(probe).backgroundColor;
  probe.remove();
  return [...document.querySelectorAll("select")].map((s) => {
    const c = getComputedStyle(s);
    return { label: s.getAttribute("aria-label"), bg: c.backgroundColor, color: c.color,
             font: c.fontSize, surface, text: body.color,
             around: getComputedStyle(s.parentElement).fontSize };
  });
}"""


@pytest.mark.parametrize("page", ["light", "dark"], indirect=True)
def test_every_select_is_drawn_in_the_theme(
    page: Any, runs: tuning.Tuning, ui_server: ServerProcess
) -> None:
    with httpx.Client(base_url=f"{ui_server.url}/api/v1") as api:
        if api.get("/models/tuned").status_code == 404:
            assert api.post("/models", json={"name": "tuned"}).status_code == 201
            for name in ("lr-0.1", "lr-0.01"):
                answer = api.post(
                    "/models/tuned/versions", json={"artifact": runs.ids[f"{name}.model"]}
                )
                assert answer.status_code == 201, answer.text
            api.put("/models/tuned/aliases/production", json={"version": 1})
    ids = ",".join(runs.runs[n] for n in ("lr-0.1", "lr-0.01"))
    seen = set()
    for address, wanted in (
        ("/models/tuned", ["history of alias", "version"]),
        (f"/experiments/{runs.experiment}/runs", ["rows per page"]),
        (f"/compare/runs?ids={ids}", ["metric of the last axis"]),
    ):
        page.goto(address)
        for label in wanted:
            page.get_by_label(label, exact=True).wait_for()
        for select in page.evaluate(SELECTS):
            seen.add(select["label"])
            assert select["bg"] == select["surface"], select
            assert select["color"] == select["text"], select
            # the page's type, not the browser's own smaller one
            assert select["font"] == select["around"], select
        if address.startswith("/models"):
            shot(page, f"44-model-selects-{scheme(page)}")
    assert {"version", "history of alias", "rows per page", "metric of the last axis"} <= seen


def test_columns_auto_in_the_address_is_the_automatic_choice(
    page: Any, runs: tuning.Tuning
) -> None:
    chooser = page.locator("details.chooser summary")
    page.goto(f"/experiments/{runs.experiment}/runs")
    page.get_by_test_id("count").filter(has_text="of 4 runs").wait_for()
    expect(chooser).to_contain_text(", auto)")
    chosen_for_you = chooser.inner_text()
    heads = page.locator("table.data.grid thead th").all_inner_texts()

    page.goto(f"/experiments/{runs.experiment}/runs?columns=auto")
    page.get_by_test_id("count").filter(has_text="of 4 runs").wait_for()
    expect(chooser).to_have_text(chosen_for_you)
    assert page.locator("table.data.grid thead th").all_inner_texts() == heads
    expect(page.locator(".runs-grid .hint", has_text="Columns chosen for you")).to_be_visible()


@pytest.fixture(scope="module")
def numbered(ui_server: ServerProcess) -> str:
    """An experiment whose parameter and metric keys differ only by a number."""
    with httpx.Client(base_url=ui_server.url, timeout=30) as client:
        experiment = client.post("/api/v1/experiments", json={"name": "numbered"}).json()["id"]
        run = client.post(
            "/api/v1/runs",
            json={
                "experiment": experiment,
                "name": "numbered-run",
                "status": "SUCCESS",
                "configuration": {f"param_{k}": k for k in (10, 2, 1, 21)},
            },
        ).json()["id"]
        series = [{"key": f"loss_{k}", "steps": [0], "values": [k]} for k in (10, 9, 100)]
        answer = client.post(f"/api/v1/runs/{run}/metrics", json={"series": series})
        assert answer.status_code in (200, 201), answer.text
    return experiment


def test_compare_runs_lists_numbered_metrics_by_their_numbers(page: Any, numbered: str) -> None:
    page.goto("/compare/runs?ids=numbered-run")
    metrics = page.get_by_test_id("compare-metrics").locator("tr[data-metric]")
    # The grid's order, where the server answers them sorted as text (loss_10 before loss_9).
    expect(metrics).to_have_count(3)
    assert metrics.evaluate_all("rs => rs.map(r => r.dataset.metric)") == [
        "loss_9",
        "loss_10",
        "loss_100",
    ]


def test_the_column_chooser_sorts_numbered_keys_by_their_numbers(page: Any, numbered: str) -> None:
    page.goto(f"/experiments/{numbered}/runs")
    page.locator("details.chooser summary").click()
    chooser = page.locator("details.chooser")
    parameters = chooser.locator("fieldset", has_text="Parameters").locator(".chooser-row")
    expect(parameters).to_have_text(["param_1", "param_2", "param_10", "param_21"])
    metrics = chooser.locator("fieldset", has_text="Metrics").locator(
        ".chooser-row > label:first-child"
    )
    expect(metrics).to_have_text(["loss_9", "loss_10", "loss_100"])


def test_filter_chips_show_the_names_the_page_knows_with_the_id_in_the_tooltip(
    page: Any, runs: tuning.Tuning
) -> None:
    page.goto("/runs?filter=" + f"experiment:eq:{runs.experiment}")
    chip = page.locator(".filter .chip code")
    expect(chip).to_have_text("experiment:eq:tuning")
    assert runs.experiment in chip.get_attribute("title")

    run = runs.runs["lr-0.01"]
    page.goto("/executions?filter=" + f"run:eq:{run}")
    expect(chip).to_have_text("run:eq:lr-0.01")
    assert run in chip.get_attribute("title")
    # an id the page knows no name for stays as it was typed
    page.goto("/runs?filter=experiment:eq:no-such-id")
    expect(page.get_by_test_id("count")).to_contain_text("0 of")
    expect(chip).to_have_text("experiment:eq:no-such-id")
