"""A step's page and what the run, artifact, history and compare pages say about steps, versions
and the registry, in a real headless Chromium on the case study and a small tuning
experiment."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

import casestudy
from casestudy import CaseStudy
from conftest import ServerProcess
from ui import tuning
from ui.conftest import shot

pytestmark = pytest.mark.slow


def _ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture(scope="module")
def runs(ui_server: ServerProcess) -> tuning.Tuning:
    return tuning.build(ui_server.url)


@pytest.fixture(scope="module")
def logged(ui_server: ServerProcess, case: CaseStudy) -> CaseStudy:
    """The case study with a loss series logged by run 1's train step itself."""
    run, step = case.runs[0]["id"], case.executions[0]["train"]["id"]
    series = {"key": "loss", "execution": step, "steps": [0, 1, 2, 3], "values": [2, 1, 0.5, 0.3]}
    _ok(httpx.post(f"{ui_server.url}/api/v1/runs/{run}/metrics", json={"series": [series]}))
    return case


def test_step_page_says_what_ran_what_it_read_wrote_and_measured(
    page: Any, logged: CaseStudy
) -> None:
    case = logged
    run, steps = case.runs[1], case.executions[1]
    # The run page's "first failed step" opens the step's own page.
    page.goto(f"/runs/{run['id']}")
    page.get_by_test_id("run-facts").locator("[data-fact='first failed step']").get_by_role(
        "link", name="validate"
    ).click()
    page.wait_for_url(re.compile(rf"/executions/{steps['validate']['id']}$"))
    page.get_by_role("heading", name=re.compile("^validate")).wait_for()
    crumbs = page.get_by_role("navigation", name="breadcrumbs")
    expect(crumbs).to_have_text(
        re.compile(rf"experiments\s*›\s*{casestudy.EXPERIMENT}\s*›\s*{run['name']}\s*›\s*validate")
    )
    assert page.title() == f"validate · {run['name']} · step · modeltrail"
    facts = page.get_by_test_id("step-facts")
    assert facts.locator("[data-fact=status]").inner_text() == "FAILED"
    assert facts.locator("[data-fact=duration]").inner_text() == "1 min 00 s"
    expect(facts.locator("[data-fact=executable]")).to_have_text(
        f"validate.py v{casestudy.EXECUTABLE_VERSION}"
    )
    inputs = page.get_by_test_id("step-inputs")
    expect(inputs.get_by_role("link")).to_have_text([casestudy.METRIC])
    assert "v1" in inputs.locator("li").inner_text()
    # The validated accuracy is a metric: its value is beside its name.
    expect(inputs.locator("li")).to_contain_text(f"= {casestudy.ACCURACIES[1]}")
    expect(page.get_by_test_id("step-outputs").get_by_role("link")).to_have_text(
        [casestudy.VALIDATION]
    )
    page.get_by_role("button", name="copy id").wait_for()

    # The evaluate step wrote the accuracy: its value is on the step's page.
    page.goto(f"/executions/{steps['evaluate']['id']}")
    written = page.get_by_test_id("step-metrics").locator(
        f"[data-metric-artifact={casestudy.METRIC}]"
    )
    expect(written).to_contain_text(f"= {casestudy.ACCURACIES[1]}")

    # Run 1's train step: its configuration, its executable and the series it logged itself.
    train = case.executions[0]["train"]["id"]
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(f"/executions/{train}")
    params = page.get_by_test_id("step-parameters")
    expect(params.locator("tr[data-key=learning-rate] td")).to_have_text(
        str(casestudy.LEARNING_RATES[0])
    )
    exe = page.get_by_test_id("step-executable")
    expect(exe.locator("tr[data-key=sourceHash] td")).to_have_text(casestudy.SOURCE_HASHES["train"])
    metrics = page.get_by_test_id("step-metrics")
    expect(metrics.locator("tr[data-metric=loss] td").first).to_have_text("0.3")
    chart = metrics.get_by_test_id("metric-chart")
    chart.locator("canvas").wait_for()
    assert chart.get_attribute("data-current") == "3,0.3"
    assert f"execution={train}" in (
        metrics.get_by_role("link", name="loss").get_attribute("href") or ""
    )
    expect(page.get_by_test_id("reused-from")).to_contain_text("did its own work")
    # Only the step's own series are read, not the run's merged ones.
    series = [u for u in asked if re.search(r"/metrics/[^/?]+\?", u)]
    assert series and all(f"execution={train}" in u for u in series), series
    shot(page, "30-step-page")

    # The run page lists its steps, each a link to its page.
    page.goto(f"/runs/{case.runs[0]['id']}")
    table = page.get_by_role("table", name="steps")
    expect(table.locator("tbody th")).to_have_text(list(casestudy.STEPS))
    table.get_by_role("link", name="train").click()
    page.wait_for_url(re.compile(rf"/executions/{train}$"))


def test_step_page_says_whether_the_work_was_done_before(
    page: Any, ui_server: ServerProcess, runs: tuning.Tuning
) -> None:
    # The first three tuning runs trained on the same data with the same script: the same work.
    with httpx.Client(base_url=f"{ui_server.url}/api/v1") as api:
        trains = {
            name: _ok(api.get("/executions", params={"filter": f"run:eq:{runs.runs[name]}"}))[
                "items"
            ][0]
            for name in ("lr-0.1", "lr-0.01", "lr-0.001")
        }
        page.goto(f"/executions/{trains['lr-0.01']['id']}")
        same = page.get_by_test_id("same-work")
        expect(same).to_contain_text("also done by train of lr-0.001")
        expect(same.get_by_role("link", name="1 other step")).to_be_visible()
        # A step that took its outputs from another says from which.
        reused = _ok(
            api.post(
                "/executions",
                json={
                    "run": runs.runs["lr-0.001"],
                    "executable": trains["lr-0.1"]["executable"],
                    "name": "train-again",
                    "kind": "train",
                    "status": "SUCCESS",
                    "inputArtifacts": [runs.ids["data.v1"]],
                    "outputArtifacts": [runs.ids["lr-0.1.model"]],
                    "reusedFrom": trains["lr-0.1"]["id"],
                },
            )
        )
    page.goto(f"/executions/{reused['id']}")
    page.get_by_test_id("reused-from").get_by_role("link", name="train").click()
    page.wait_for_url(re.compile(rf"/executions/{trains['lr-0.1']['id']}$"))


def test_steps_elsewhere_link_to_the_step_page(page: Any, case: CaseStudy) -> None:
    step = case.executions[1]["validate"]["id"]
    # The DAG's details panel of a step opens its page.
    page.goto(f"/runs/{case.runs[1]['id']}/dag?select={step}")
    page.get_by_test_id("execution-details").get_by_role(
        "link", name="open the step’s page"
    ).click()
    page.wait_for_url(re.compile(rf"/executions/{step}$"))
    # The run history's "first failed step" does too.
    page.goto(f"/experiments/{case.experiment['id']}/history")
    link = page.get_by_role("table", name="run history").get_by_role("link", name="validate")
    assert link.get_attribute("href", timeout=15_000).endswith(f"/executions/{step}")
    # An unknown step says so once.
    page.goto("/executions/00000000-0000-0000-0000-000000000000")
    expect(page.get_by_role("alert")).to_have_count(1)
    expect(page.get_by_role("alert")).to_contain_text("Not found")


def test_artifact_page_names_the_model_versions_it_is(
    page: Any, ui_server: ServerProcess, case: CaseStudy
) -> None:
    model = "digits-classifier"
    with httpx.Client(base_url=f"{ui_server.url}/api/v1") as api:
        _ok(api.post("/models", json={"name": model}))
        for key in ("run1.model", "run2.model"):
            _ok(api.post(f"/models/{model}/versions", json={"artifact": case.ids[key]}))
        for alias, version in (("production", 1), ("champion", 1), ("candidate", 2)):
            _ok(api.put(f"/models/{model}/aliases/{alias}", json={"version": version}))
    page.goto(f"/artifacts/{case.ids['run1.model']}")
    registered = page.get_by_test_id("registered-as")
    expect(registered.get_by_role("link", name=f"{model} v1")).to_be_visible()
    expect(registered.locator("[data-alias]")).to_have_text(["champion", "production"])
    shot(page, "31-artifact-registered")
    registered.get_by_role("link", name=f"{model} v1").click()
    page.wait_for_url(re.compile(rf"/models/{model}#v1$"))
    # A version that no alias points at, and an artifact that is no model's version.
    page.goto(f"/artifacts/{case.ids['run2.model']}")
    expect(page.get_by_test_id("registered-as").locator("[data-alias]")).to_have_text(["candidate"])
    page.goto(f"/artifacts/{case.ids['run2.data']}")
    page.get_by_test_id("provenance").get_by_test_id("produced-by").get_by_role(
        "link", name="prepare"
    ).wait_for()
    assert page.get_by_test_id("registered-as").count() == 0


def test_run_page_compares_with_the_run_before_and_versions_its_inputs(
    page: Any, runs: tuning.Tuning
) -> None:
    last, before = runs.runs["lr-0.05-new-data"], runs.runs["lr-0.001"]
    page.goto(f"/runs/{last}")
    fact = page.get_by_test_id("run-facts").locator("[data-fact='run before']")
    expect(fact.get_by_role("link", name="lr-0.001")).to_have_attribute(
        "href", re.compile(rf"/runs/{before}$")
    )
    # The inputs say which version was read: this run read digits v2, the others v1.
    inputs = page.get_by_test_id("run-inputs")
    expect(inputs.locator("[data-artifact=digits] .version")).to_contain_text("v2")
    fingerprint = httpx.get(
        f"{page.url.split('/runs/')[0]}/api/v1/artifacts/{runs.ids['data.v2']}"
    ).json()["fingerprint"]
    expect(inputs.locator("[data-artifact=digits] .version")).to_contain_text(fingerprint[:8])
    expect(
        page.get_by_test_id("run-outputs").locator("[data-artifact=classifier]")
    ).to_contain_text("v1")
    shot(page, "32-run-before")
    fact.get_by_role("link", name="compare").click()
    page.wait_for_url(re.compile(rf"/compare/runs\?ids={before},{last}$"))
    page.get_by_role("heading", name="Compare 2 runs").wait_for()
    # The first run of the experiment has none before it.
    page.goto(f"/runs/{runs.runs['lr-0.1']}")
    expect(page.get_by_test_id("run-facts").locator("[data-fact='run before']")).to_have_text(
        "none: the first run"
    )
    page.goto(f"/runs/{runs.runs['lr-0.01']}")
    expect(page.get_by_test_id("run-inputs").locator("[data-artifact=digits]")).to_contain_text(
        "v1"
    )


def _experiment_with_runs(url: str, name: str, ages: list[timedelta]) -> str:
    now = datetime.now(UTC)
    with httpx.Client(base_url=f"{url}/api/v1") as api:
        experiment = _ok(api.post("/experiments", json={"name": name}))["id"]
        for i, age in enumerate(ages):
            body = {
                "experiment": experiment,
                "name": f"{name}-{i}",
                "createTime": (now - age).isoformat(),
                "status": "SUCCESS",
            }
            _ok(api.post("/runs", json=body))
    return str(experiment)


def test_run_history_says_when_each_run_started_in_a_way_that_tells_them_apart(
    page: Any, ui_server: ServerProcess
) -> None:
    # Runs of the last two weeks: each its own relative time, the date on hover.
    days = [2, 3, 5, 8, 10, 12]
    recent = _experiment_with_runs(
        ui_server.url, "recent", [timedelta(days=d, hours=1) for d in days]
    )
    page.goto(f"/experiments/{recent}/history")
    started = page.get_by_role("table", name="run history").locator("tbody td:nth-child(2) time")
    expect(started).to_have_text([f"{d} days ago" for d in days])
    assert str(datetime.now(UTC).year) in (started.first.get_attribute("title") or "")
    # Runs of five to eight weeks ago: "N weeks ago" would be said of many rows at once, so
    # the rows show their dates (and the relative time on hover).
    old = _experiment_with_runs(
        ui_server.url, "older", [timedelta(days=35 + 2 * i, hours=3) for i in range(12)]
    )
    page.goto(f"/experiments/{old}/history")
    started = page.get_by_role("table", name="run history").locator("tbody td:nth-child(2) time")
    expect(started).to_have_count(12)
    texts = started.all_inner_texts()
    assert len(set(texts)) == 12 and all("ago" not in t for t in texts), texts
    assert re.search(r"\d+ weeks ago", started.first.get_attribute("title") or "")
    shot(page, "33-history-dates")
    # The runs table does the same with its times.
    page.goto(f"/runs?filter=experiment:eq:{old}")
    cells = page.get_by_role("table", name="Runs").locator("tbody td:nth-child(3) time")
    expect(cells).to_have_count(12)
    assert all("ago" not in t for t in cells.all_inner_texts())


def test_compare_runs_lists_a_runs_own_model_as_written_only(page: Any, case: CaseStudy) -> None:
    ids = ",".join(r["id"] for r in case.runs)
    page.goto(f"/compare/runs?ids={ids}")
    artifacts = page.get_by_test_id("compare-artifacts")
    artifacts.get_by_role("button", name=re.compile("Show the")).click()
    # Each run's evaluate step read the model its train step wrote: written, not read.
    model = artifacts.locator(f"tr[data-artifact={casestudy.MODEL}]")
    expect(model).to_have_count(1)
    expect(model.locator("th")).to_contain_text("written")
    raw = artifacts.locator(f"tr[data-artifact={casestudy.RAW_NAMES[0]}]")
    expect(raw.locator("th")).to_contain_text("read")
    expect(artifacts.locator(f"tr[data-artifact={casestudy.TEST_DATA}] th")).to_contain_text("read")
    shot(page, "34-compare-artifacts")
