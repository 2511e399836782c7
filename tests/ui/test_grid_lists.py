"""The runs grid's address and search box, and the lists' filter chips, in a real headless
Chromium: `columns=` with `auto` among other columns and in any case, the keys the search box
completes in the order of their numbers, and chips that name what they filter on when no row
does."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from conftest import ServerProcess
from ui import tuning

pytestmark = pytest.mark.slow

HEADS = "table.data.grid thead th"


@pytest.fixture(scope="module")
def runs(ui_server: ServerProcess) -> tuning.Tuning:
    return tuning.build(ui_server.url)


def _grid(page: Any, experiment: str, query: str = "") -> list[str]:
    page.goto(f"/experiments/{experiment}/runs{query}")
    page.get_by_test_id("count").filter(has_text="of 4 runs").wait_for()
    expect(page.locator("table.data.grid tbody tr")).to_have_count(4)
    return [h.strip() for h in page.locator(HEADS).all_inner_texts()]


def test_auto_among_the_columns_and_in_any_case(page: Any, runs: tuning.Tuning) -> None:
    chooser = page.locator("details.chooser summary")
    chosen_for_you = _grid(page, runs.experiment)
    summary = chooser.inner_text()
    assert not any("host" in h for h in chosen_for_you)

    for word in ("AUTO", "Auto", " auto "):
        assert _grid(page, runs.experiment, f"?columns={word}") == chosen_for_you, word
        expect(chooser).to_have_text(summary)
        expect(page.locator(".runs-grid .hint", has_text="Columns chosen for you")).to_be_visible()

    # auto and a tag: the chosen columns, then the tag (once, wherever auto is written)
    for columns in ("auto,annotations.host", "annotations.host,AUTO", "auto,annotations.host,auto"):
        heads = _grid(page, runs.experiment, f"?columns={columns}")
        assert heads[: len(chosen_for_you)] == chosen_for_you, columns
        assert len(heads) == len(chosen_for_you) + 1 and "host" in heads[-1], heads
        expect(page.locator("table.data.grid tbody tr").first).to_contain_text("gpu-")
        expect(page.locator(".problem")).to_have_count(0)

    # the chooser ticks what is shown, and unticking the tag leaves the chosen columns
    chooser.click()
    tag = page.locator("details.chooser fieldset", has_text="Tags").get_by_label("host")
    expect(tag).to_be_checked()
    tag.uncheck()
    expect(page.locator(HEADS)).to_have_count(len(chosen_for_you))


@pytest.fixture(scope="module")
def numbered(ui_server: ServerProcess) -> str:
    """An experiment whose parameter keys differ only by a number."""
    with httpx.Client(base_url=ui_server.url, timeout=30) as client:
        experiment = client.post("/api/v1/experiments", json={"name": "numbered"}).json()["id"]
        for i in range(2):
            client.post(
                "/api/v1/runs",
                json={
                    "experiment": experiment,
                    "name": f"numbered-{i}",
                    "configuration": {f"param_{k}": k + i for k in (10, 2, 1, 21)},
                },
            ).raise_for_status()
    return experiment


def test_the_search_box_completes_keys_in_the_order_of_their_numbers(
    page: Any, numbered: str
) -> None:
    page.goto(f"/experiments/{numbered}/runs")
    search = page.get_by_label("search runs")
    search.click()
    search.press_sequentially("param_")
    options = page.locator(".completions [role=option]")
    expect(options).to_have_text(
        [f"configuration.param_{k}" for k in (1, 2, 10, 21)], timeout=10_000
    )
    # the chooser lists them in the same order
    page.locator("details.chooser summary").click()
    rows = page.locator("details.chooser fieldset", has_text="Parameters").locator(".chooser-row")
    expect(rows).to_have_text(["param_1", "param_2", "param_10", "param_21"])


def test_a_chip_names_what_it_filters_on_when_no_row_matches(
    page: Any, ui_server: ServerProcess
) -> None:
    with httpx.Client(base_url=ui_server.url, timeout=30) as client:
        empty = client.post("/api/v1/experiments", json={"name": "nothing-yet"}).json()["id"]
        busy = client.post("/api/v1/experiments", json={"name": "busy"}).json()["id"]
        exe = client.post("/api/v1/executables", json={"name": "fit.py"}).json()["id"]
        run = client.post("/api/v1/runs", json={"experiment": busy, "name": "r0"}).json()["id"]
        step = client.post(
            "/api/v1/executions",
            json={"run": run, "executable": exe, "name": "fit-step", "kind": "train"},
        ).json()["id"]
    chip = page.locator(".filter .chip code")

    page.goto(f"/runs?filter=experiment:eq:{empty}")
    expect(page.get_by_test_id("count")).to_contain_text("0 of")
    expect(chip).to_have_text("experiment:eq:nothing-yet")
    assert empty in chip.get_attribute("title")

    page.goto(f"/runs?filter=experiment:in:{empty},{busy.upper()}")
    expect(chip).to_have_text("experiment:in:nothing-yet,busy")

    # an execution that wrote nothing: its outputs' chip still says which step
    page.goto(f"/artifacts?filter=producedBy:eq:{step}")
    expect(page.get_by_test_id("count")).to_contain_text("0 of")
    expect(chip).to_have_text("producedBy:eq:fit-step")


def test_compared_runs_list_numbered_parameters_by_their_numbers(
    page: Any, numbered: str, ui_server: ServerProcess
) -> None:
    with httpx.Client(base_url=ui_server.url, timeout=30) as client:
        ids = [
            r["id"]
            for r in client.get("/api/v1/runs", params={"experiment": numbered}).json()["items"]
        ]
    page.goto(f"/compare/runs?ids={','.join(ids)}")
    rows = page.get_by_test_id("compare-parameters").locator("tbody tr[data-key]")
    expect(rows).to_have_count(4)
    keys = [k.strip() for k in rows.locator("th").all_inner_texts()]
    assert keys == ["param_1", "param_2", "param_10", "param_21"]
    axes = page.get_by_test_id("parallel-coordinates").locator("text.pc-label")
    expect(axes.first).to_be_visible()
    assert axes.all_text_contents()[:4] == ["param_1", "param_2", "param_10", "param_21"]
