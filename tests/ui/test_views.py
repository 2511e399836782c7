"""Every view of the web UI in a real headless Chromium against a real server (the case study)."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest

import casestudy
from casestudy import CaseStudy
from conftest import ServerProcess
from ui.conftest import shot

pytestmark = pytest.mark.slow


def test_server_serves_the_ui_without_shadowing_the_api(ui_server: ServerProcess) -> None:
    for path in ("/", "/runs", f"/runs/{'0' * 8}-0000-0000-0000-{'0' * 12}"):
        response = httpx.get(ui_server.url + path)
        assert response.status_code == 200
        assert '<div id="root">' in response.text
    # Relative to the page's <base href>, which is the root here.
    asset = re.search(r'src="\./(assets/[^"]+\.js)"', httpx.get(ui_server.url + "/").text)
    assert asset, "index.html names its bundle"
    response = httpx.get(f"{ui_server.url}/{asset.group(1)}")
    assert response.status_code == 200 and "immutable" in response.headers["cache-control"]
    for path in ("/api/v1/nothing-here", "/v1/metadata/nothing", "/healthz/x"):
        response = httpx.get(ui_server.url + path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    assert httpx.get(ui_server.url + "/openapi.json").json()["info"]["title"] == "modeltrail"
    assert httpx.get(ui_server.url + "/healthz").json() == {"status": "ok"}
    assert httpx.post(ui_server.url + "/some/page").status_code == 404


def rows(page: Any) -> list[str]:
    page.wait_for_selector("table.data tbody tr")
    page.wait_for_selector("table.data:not(.stale)")
    return page.locator("table.data tbody tr td:first-child").all_inner_texts()  # type: ignore[no-any-return]


def test_tables_filter_sort_page_and_select(page: Any, case: CaseStudy) -> None:
    page.goto("/experiments")
    assert rows(page) == [casestudy.EXPERIMENT]
    shot(page, "01-experiments")

    page.get_by_role("link", name=casestudy.EXPERIMENT).click()
    page.wait_for_url(re.compile(r"/experiments/[0-9a-f-]+/runs"))
    page.get_by_test_id("count").filter(has_text="of 2 runs").wait_for()
    page.wait_for_selector("table.data.grid:not(.stale) tbody td.name")
    names = page.locator("table.data tbody td.name").all_inner_texts()
    assert sorted(names) == sorted(casestudy.RUN_NAMES)
    shot(page, "02-runs")

    page.goto("/artifacts")
    rows(page)
    page.get_by_label("filter", exact=True).fill("kind:eq:dataset")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"filter=kind%3Aeq%3Adataset"))
    page.get_by_test_id("count").filter(has_text="of 6 artifacts").wait_for()
    page.get_by_role("button", name="Name").click()
    page.wait_for_url(re.compile(r"sort=name"))
    names = rows(page)
    assert names == sorted(names) and len(names) == 6
    page.get_by_role("button", name="Name").click()
    page.wait_for_url(re.compile(r"sort=-name"))
    assert rows(page) == sorted(names, reverse=True)
    shot(page, "03-artifacts-filtered-sorted")

    # A bad filter answers a problem; the UI shows it readably.
    page.goto("/artifacts?filter=" + quote("nosuchfield.x.y:zz:1"))
    page.get_by_role("alert").filter(has_text="unknown operator").wait_for()

    # Keyboard: focus the rows, move down, Enter opens the next table filtered by the row.
    page.goto(f"/executions?filter={quote('run:eq:' + case.runs[0]['id'])}&sort=startTime")
    assert rows(page)[0] == casestudy.STEPS[0]
    page.locator("tbody").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/artifacts\?filter=producedBy"))
    assert rows(page) == [casestudy.MODEL]

    # Cursor pagination: two runs, one per page, forwards and back.
    page.goto(
        f"/runs?limit=1&filter={quote('experiment:eq:' + case.experiment['id'])}&sort=createTime"
    )
    assert rows(page) == [casestudy.RUN_NAMES[0]]
    page.get_by_test_id("count").filter(has_text="1–1 of 2 runs").wait_for()
    page.get_by_role("button", name="Next →").click()
    page.wait_for_url(re.compile(r"cursor="))
    page.get_by_test_id("count").filter(has_text="2–2 of 2 runs").wait_for()
    assert rows(page) == [casestudy.RUN_NAMES[1]]
    assert page.get_by_role("button", name="Next →").is_disabled()
    page.get_by_role("button", name="← Previous").click()
    page.get_by_test_id("count").filter(has_text="1–1 of 2 runs").wait_for()
    assert rows(page) == [casestudy.RUN_NAMES[0]]


@pytest.mark.parametrize("size", [(2560, 1440)])
def test_wide_screen(
    browser: Any, ui_server: ServerProcess, case: CaseStudy, size: tuple[int, int]
) -> None:
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]}, base_url=ui_server.url
    )
    page = context.new_page()
    page.goto(f"/experiments/{case.experiment['id']}/trace?select=x")
    page.wait_for_selector(".gnode.run-header")
    panel = page.get_by_role("complementary", name="details").bounding_box()
    graph = page.locator(".graph").bounding_box()
    assert graph["width"] > 1800 and panel["x"] > graph["x"] + graph["width"]
    shot(page, "12-trace-wide")
    page.goto("/artifacts")
    rows(page)
    assert page.locator(".table-wrap").bounding_box()["width"] > 2000
    context.close()


def test_run_dag_with_details(page: Any, case: CaseStudy) -> None:
    page.goto(f"/runs/{case.runs[1]['id']}/dag")
    page.wait_for_selector(".react-flow__node")
    nodes = page.locator(".react-flow__node")
    assert nodes.count() == 4 + 6  # four steps, the artifacts they read and wrote
    assert page.locator(".gnode.execution.status-failed").count() == 1
    assert page.locator(".gnode.execution.status-success").count() == 3
    page.locator(".react-flow__node", has_text="train").first.click()
    details = page.get_by_test_id("execution-details")
    details.get_by_text("epochs").wait_for()
    details.get_by_text(f"{casestudy.TRAINING_DATA} (dataset)").wait_for()
    exe = casestudy.EXECUTABLES["train"]
    version = casestudy.EXECUTABLE_VERSION
    details.get_by_text(f"{exe} {version} ({casestudy.REPOSITORY}#{exe})").wait_for()
    shot(page, "04-run-dag")


def test_trace_highlights_dependents(page: Any, case: CaseStudy) -> None:
    page.goto(f"/experiments/{case.experiment['id']}/trace")
    page.wait_for_selector(".gnode.run-header")
    assert page.locator(".gnode.run-header").count() == 2
    # test-data is logged by both runs with equal content: one node.
    assert page.locator(".react-flow__node", has_text=casestudy.TEST_DATA).count() == 1
    page.locator(".react-flow__node", has_text=casestudy.RAW_NAMES[0]).click()
    page.get_by_test_id("dependents").filter(has_text="5 dependent").wait_for()
    highlighted = page.locator(".gnode.highlighted").all_inner_texts()
    assert any(casestudy.TRAINING_DATA in t for t in highlighted)
    assert any("validation" in t for t in highlighted)
    assert not any(casestudy.RAW_NAMES[1] in t for t in highlighted)
    shot(page, "05-trace")


def test_trace_says_when_older_runs_are_left_out(page: Any, ui_server: ServerProcess) -> None:
    experiment = str(uuid.uuid4())
    ops = [{"op": "create", "entity": "experiment", "id": experiment, "body": {"name": "busy"}}]
    ops += [
        {
            "op": "create",
            "entity": "run",
            "id": str(uuid.uuid4()),
            "body": {"experiment": experiment, "name": f"busy-{n}", "status": "SUCCESS"},
        }
        for n in range(61)
    ]
    stored = httpx.post(f"{ui_server.url}/api/v1/batch", json={"operations": ops})
    assert stored.status_code == 200, stored.text
    page.goto(f"/experiments/{experiment}/trace")
    page.get_by_text("The newest 60 runs; older runs are left out").wait_for()
    headers = page.locator(".gnode.run-header")
    assert headers.count() == 60
    assert headers.filter(has_text=re.compile(r"^busy-0\b")).count() == 0  # the oldest
    page.get_by_role("link", name="older runs").click()
    page.get_by_text("1 older run ·").wait_for()
    assert headers.count() == 1 and "busy-0" in headers.inner_text()
    page.get_by_role("link", name="newest runs").click()
    page.get_by_text("The newest 60 runs").wait_for()
    assert headers.count() == 60


def test_trace_shows_flagged_and_affected(
    page: Any, case: CaseStudy, ui_server: ServerProcess, request: pytest.FixtureRequest
) -> None:
    # Flag the letters for real where the server offers flags; otherwise answer GET /flags (the
    # lineage contract's shape) as such a server would.
    raw = case.ids["run2.raw"]
    flagged = httpx.put(
        f"{ui_server.url}/api/v1/artifacts/{raw}/flag", json={"reason": "mislabelled"}
    )
    if flagged.status_code == 404:
        node = {"id": raw, "type": "artifact", "name": casestudy.RAW_NAMES[1], "kind": "dataset"}
        flags = {
            "items": [
                {
                    "artifact": node,
                    "reason": "mislabelled",
                    "createTime": "2026-03-03T00:00:00Z",
                    "affected": [],
                }
            ]
        }
        page.route("**/api/v1/flags", lambda route: route.fulfill(json=flags))
    else:
        assert flagged.status_code in (200, 201), flagged.text
        request.addfinalizer(lambda: httpx.delete(f"{ui_server.url}/api/v1/artifacts/{raw}/flag"))
    page.goto(f"/experiments/{case.experiment['id']}/trace")
    page.wait_for_selector(".gnode.flagged")
    assert casestudy.RAW_NAMES[1] in page.locator(".gnode.flagged").inner_text()
    affected = " ".join(page.locator(".gnode.affected").all_inner_texts())
    assert casestudy.TRAINING_DATA in affected and casestudy.VALIDATION in affected
    assert page.locator(".gnode.affected").count() == 4  # training-data, cnn, accuracy, validation
    shot(page, "05b-trace-flagged")


def test_run_dag_from_the_dag_endpoint(page: Any, case: CaseStudy) -> None:
    # The contract's answer of GET /runs/{id}/dag, served by a stand-in: the view draws it as is.
    run = case.runs[0]["id"]
    dag = {
        "run": {"id": run, "type": "run", "name": casestudy.RUN_NAMES[0], "status": "RUNNING"},
        "nodes": [
            {
                "id": case.ids["run1.data"],
                "type": "artifact",
                "name": casestudy.TRAINING_DATA,
                "kind": "dataset",
            },
            {
                "id": "00000000-0000-0000-0000-00000000000a",
                "type": "execution",
                "name": "train",
                "kind": "train",
                "status": "RUNNING",
            },
            {
                "id": case.ids["run1.model"],
                "type": "artifact",
                "name": casestudy.MODEL,
                "kind": "model",
            },
        ],
        "edges": [
            {
                "source": case.ids["run1.data"],
                "target": "00000000-0000-0000-0000-00000000000a",
                "type": "input",
            },
            {
                "source": "00000000-0000-0000-0000-00000000000a",
                "target": case.ids["run1.model"],
                "type": "output",
            },
        ],
    }
    page.route(f"**/api/v1/runs/{run}/dag", lambda route: route.fulfill(json=dag))
    page.goto(f"/runs/{run}/dag")
    page.wait_for_selector(".react-flow__node")
    assert page.locator(".react-flow__node").count() == 3
    assert page.locator(".gnode.execution.status-running").count() == 1
    assert page.locator(".react-flow__edge").count() == 2


def test_validation_artifact_with_charts(page: Any, case: CaseStudy) -> None:
    page.goto(f"/artifacts/{case.ids['run2.validation']}")
    page.get_by_text("validation attributes").wait_for()
    assert page.locator(".badge.value-failed").inner_text() == "failed"
    charts = page.get_by_test_id("line-chart")
    charts.first.wait_for()
    assert charts.count() == 2  # the history, and the accuracy of every validation over time
    charts.nth(1).locator("canvas").wait_for()
    # two points each (the history; both validations over time), the current one marked last
    assert [charts.nth(i).get_attribute("data-points") for i in range(2)] == ["2", "2"]
    assert charts.first.get_attribute("data-current") == f"1,{casestudy.ACCURACIES[1]}"
    assert charts.nth(1).get_attribute("data-current").endswith(f",{casestudy.ACCURACIES[1]}")
    # The reference attribute links to the model.
    page.locator("[data-attribute=model] a").click()
    page.wait_for_url(re.compile(case.ids["run2.model"]))
    page.get_by_text("model attributes").wait_for()
    page.go_back()
    page.get_by_text("validation attributes").wait_for()
    shot(page, "06-validation")


def test_lineage_explorer(page: Any, case: CaseStudy) -> None:
    page.goto(f"/artifacts/{case.ids['run2.validation']}/lineage?depth=1")
    page.wait_for_selector(".react-flow__node")
    texts = " ".join(page.locator(".react-flow__node").all_inner_texts())
    assert casestudy.METRIC in texts and casestudy.TRAINING_DATA not in texts
    # Expand on click: each click follows an artifact's lineage one step further.
    for name in (casestudy.METRIC, casestudy.MODEL):
        # By its label: a model's node also names the metric that measures it.
        node = page.locator(".react-flow__node", has=page.locator(f'.node-label:text-is("{name}")'))
        node.first.wait_for()
        if not page.locator(".react-flow__node", has_text=casestudy.TRAINING_DATA).count():
            node.first.click()
    page.locator(".react-flow__node", has_text=casestudy.TRAINING_DATA).wait_for()
    page.get_by_label("search in the graph").fill("test")
    page.wait_for_selector(".gnode.highlighted")
    assert casestudy.TEST_DATA in page.locator(".gnode.highlighted").first.inner_text()
    page.locator(".react-flow__node", has_text=casestudy.MODEL).first.click()
    page.get_by_role("button", name="collapse this branch").click()
    page.locator(".react-flow__node", has_text=casestudy.TRAINING_DATA).wait_for(state="detached")
    shot(page, "07-lineage")
    page.goto(f"/artifacts/{case.ids['run1.data']}/lineage?direction=downstream&depth=5")
    page.locator(".react-flow__node", has_text=casestudy.DEPLOYMENT).wait_for()
    # A node says its key value: a metric its value, a model the metric that measures it.
    metric = page.locator(".gnode.kind-metrics").first.inner_text()
    assert re.search(r"metrics ·\s+= 0\.\d+", metric), metric
    model = page.locator(".gnode.kind-model").first.inner_text()
    assert re.search(r"model · accuracy\s+0\.\d+", model), model
    shot(page, "08-lineage-downstream")


def test_compare_and_why_puts_the_dataset_first(page: Any, case: CaseStudy) -> None:
    page.goto(f"/compare?a={case.ids['run2.model']}")
    page.wait_for_url(re.compile("b=" + case.ids["run1.model"]))  # the previous version
    page.locator("tr.differs", has_text="uri").wait_for()
    first = page.get_by_test_id("differences").locator("li").first
    first.wait_for()
    assert first.get_attribute("data-kind") == "input"  # the diff's category
    text = first.inner_text()
    assert "root cause" in text and all(name in text for name in casestudy.RAW_NAMES)
    shot(page, "09-compare-why")


def test_run_history(page: Any, case: CaseStudy) -> None:
    page.goto(f"/experiments/{case.experiment['id']}/history")
    table = page.get_by_role("table", name="run history")
    table.locator("tbody tr").nth(1).wait_for()
    first = table.locator("tbody tr").first.inner_text()
    assert (
        casestudy.RUN_NAMES[1] in first
        and casestudy.CAUSES[1] in first
        and "FAILED" in first
        and "validate" in first
    )
    page.get_by_label("since the last deployment").check()
    page.wait_for_url(re.compile("sinceLastDeploy=true"))
    page.get_by_text("1 run(s), 1 failed").wait_for()
    shot(page, "10-history")


@pytest.mark.parametrize("page", ["dark"], indirect=True)
def test_dark_mode_and_missing_pages(page: Any, case: CaseStudy) -> None:
    page.goto(f"/runs/{case.runs[0]['id']}/dag")
    page.wait_for_selector(".react-flow__node")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 20, 27)"
    shot(page, "11-run-dag-dark")
    page.goto("/runs/00000000-0000-0000-0000-000000000000")
    page.get_by_role("alert").filter(has_text="Not found").first.wait_for()
    page.goto("/no/such/view")
    page.get_by_role("alert").filter(has_text="No such page").wait_for()
