"""The UI's bugs found in review, each held by a test in a real Chromium against a real server."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

import casestudy
from casestudy import CaseStudy
from conftest import ServerProcess
from ui.conftest import shot

pytestmark = pytest.mark.slow


def _batch(server: ServerProcess, ops: list[dict[str, Any]]) -> None:
    stored = httpx.post(f"{server.url}/api/v1/batch", json={"operations": ops}, timeout=60)
    assert stored.status_code == 200, stored.text


def _count(page: Any) -> str:
    page.wait_for_selector("table.data:not(.stale) tbody tr")
    return str(page.get_by_test_id("count").inner_text())


def test_paging_survives_back_and_reload(page: Any, ui_server: ServerProcess) -> None:
    experiment = str(uuid.uuid4())
    start = datetime(2025, 1, 1, tzinfo=UTC)
    ops: list[dict[str, Any]] = [
        {"op": "create", "entity": "experiment", "id": experiment, "body": {"name": "paged"}}
    ]
    ops += [
        {
            "op": "create",
            "entity": "run",
            "id": str(uuid.uuid4()),
            "body": {
                "experiment": experiment,
                "name": f"paged-{n:02}",
                "createTime": (start + timedelta(minutes=n)).isoformat(),
            },
        }
        for n in range(5)
    ]
    _batch(ui_server, ops)
    page.goto(f"/runs?limit=2&sort=createTime&filter={quote('experiment:eq:' + experiment)}")
    page.get_by_test_id("count").filter(has_text="1–2 of 5 runs").wait_for()
    # Two quick clicks on a slow network: the second waits for the page the first asked for,
    # never reusing the cursor of the page before it.
    network = page.context.new_cdp_session(page)
    slow = {"offline": False, "latency": 400, "downloadThroughput": -1, "uploadThroughput": -1}
    network.send("Network.emulateNetworkConditions", slow)
    page.get_by_role("button", name="Next →").click()
    page.get_by_role("button", name="Next →").click()
    page.get_by_test_id("count").filter(has_text="5–5 of 5 runs").wait_for()
    assert "offset=4" in page.url
    page.wait_for_selector("table.data:not(.stale)")
    assert page.locator("table.data tbody td:first-child").all_inner_texts() == ["paged-04"]
    network.send("Network.emulateNetworkConditions", {**slow, "latency": 0})

    page.go_back()
    page.get_by_test_id("count").filter(has_text="3–4 of 5 runs").wait_for()
    page.reload()
    page.get_by_test_id("count").filter(has_text="3–4 of 5 runs").wait_for()
    assert page.locator("table.data tbody td:first-child").all_inner_texts() == [
        "paged-02",
        "paged-03",
    ]
    # Previous still works after the reload: the earlier pages' cursors are kept with the entry.
    page.get_by_role("button", name="← Previous").click()
    page.get_by_test_id("count").filter(has_text="1–2 of 5 runs").wait_for()
    assert "offset" not in page.url and "cursor" not in page.url


def test_a_missing_entity_is_said_once(page: Any) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    for path in (
        f"/runs/{missing}",
        f"/experiments/{missing}/trace",
        f"/experiments/{missing}/history",
    ):
        page.goto(path)
        page.get_by_role("alert").first.wait_for()
        page.wait_for_load_state("networkidle")
        assert page.get_by_role("alert").count() == 1, path
        assert page.get_by_text("Not found").count() == 1, path


def test_an_unknown_field_is_said_once(page: Any) -> None:
    page.goto("/artifacts?filter=" + quote("nosuchfield.x:eq:1"))
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text().count("unknown field") == 1


def test_favicon_is_an_icon(page: Any, ui_server: ServerProcess) -> None:
    response = httpx.get(ui_server.url + "/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/")
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file, not index.html
    page.goto("/experiments")
    # The address the browser asks for: the link resolved against the page's <base href>.
    href = page.locator("link[rel=icon][type='image/svg+xml']").evaluate("link => link.href")
    assert href == ui_server.url + "/favicon.svg"
    svg = httpx.get(href)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")


def test_compare_fits_1280_with_long_values(page: Any, ui_server: ServerProcess) -> None:
    ids = []
    for n in (1, 2):
        body = {
            "name": "long-values",
            "kind": "dataset",
            "uri": "s3://bucket/" + "segment" * 30 + f"/part-{n}.parquet",
            "attributes": {"k" * 150: "x" * 300 + str(n)},
            "annotations": {"note": "z" * 200},
        }
        created = httpx.post(f"{ui_server.url}/api/v1/artifacts", json=body)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    page.goto(f"/compare?a={ids[1]}&b={ids[0]}")
    page.locator("tr.differs", has_text="uri").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the page is {width} px wide"
    # The whole value is readable, not cut off: its end is on screen.
    end = page.get_by_text(re.compile(r"part-2\.parquet$"))
    box = end.bounding_box()
    assert box and box["x"] + box["width"] <= 1280
    shot(page, "bug-compare-1280")


def test_depth_box_asks_once_typing_stops(page: Any, case: CaseStudy) -> None:
    page.goto(f"/artifacts/{case.ids['run2.validation']}/lineage?depth=2")
    page.wait_for_selector(".react-flow__node")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/lineage?" in r.url else None)
    box = page.get_by_label("depth", exact=True)
    box.select_text()
    with page.expect_request(lambda r: "/lineage?" in r.url and "depth=12" in r.url):
        page.keyboard.type("12", delay=80)
    page.wait_for_timeout(1000)  # no other request follows
    depths = [re.search(r"depth=(\d+)", u).group(1) for u in asked]  # type: ignore[union-attr]
    assert depths == ["12"], depths


def test_row_is_marked_only_while_rows_have_focus(page: Any, case: CaseStudy) -> None:
    page.goto(f"/executions?filter={quote('run:eq:' + case.runs[0]['id'])}")
    page.wait_for_selector("table.data:not(.stale) tbody tr:nth-child(2)")
    background = "(e) => getComputedStyle(e).backgroundColor"
    first, second = page.locator("tbody tr").nth(0), page.locator("tbody tr").nth(1)
    page.mouse.move(0, 0)
    assert first.evaluate(background) == second.evaluate(background)
    page.locator("tbody").focus()
    assert first.evaluate(background) != second.evaluate(background)


def test_rows_open_by_their_name_link_only(page: Any, case: CaseStudy) -> None:
    page.goto("/experiments")
    page.wait_for_selector("table.data:not(.stale) tbody tr")
    # The top navigation is the only row of links to the tables.
    assert page.locator("a[href='/runs']").count() == 1
    link = page.get_by_role("link", name=casestudy.EXPERIMENT)
    assert re.fullmatch(r"/experiments/[0-9a-f-]{36}/runs", link.get_attribute("href", timeout=0))
    # A click on the row's other text selects it instead of navigating.
    page.locator("tbody tr td").nth(2).click()
    page.wait_for_timeout(300)
    assert page.url.endswith("/experiments")
    link.click()
    page.wait_for_url(re.compile(r"/experiments/[0-9a-f-]{36}/runs$"))


def test_history_is_paged_and_counts_causes(page: Any, ui_server: ServerProcess) -> None:
    experiment = str(uuid.uuid4())
    start = datetime(2025, 6, 1, tzinfo=UTC)
    ops: list[dict[str, Any]] = [
        {"op": "create", "entity": "experiment", "id": experiment, "body": {"name": "busy"}}
    ]
    for n in range(120):
        event = str(uuid.uuid4())
        cause = "schedule" if n % 3 else "data change"
        ops.append(
            {
                "op": "create",
                "entity": "artifact",
                "id": event,
                "body": {"name": f"t-{n}", "kind": "event", "attributes": {"cause": cause}},
            }
        )
        ops.append(
            {
                "op": "create",
                "entity": "run",
                "id": str(uuid.uuid4()),
                "body": {
                    "experiment": experiment,
                    "name": f"busy-{n:03}",
                    "event": event,
                    "status": "SUCCESS",
                    "createTime": (start + timedelta(hours=n)).isoformat(),
                },
            }
        )
    _batch(ui_server, ops)
    page.goto(f"/experiments/{experiment}/history")
    table = page.get_by_role("table", name="run history")
    table.locator("tbody tr").first.wait_for()
    assert table.locator("tbody tr").count() == 50
    page.get_by_test_id("history-count").filter(has_text="1–50 of 120 runs").wait_for()
    causes = page.get_by_role("group", name="runs by cause")
    assert "schedule 80" in causes.inner_text() and "data change 40" in causes.inner_text()
    page.get_by_role("button", name="Next →").click()
    page.get_by_test_id("history-count").filter(has_text="51–100 of 120 runs").wait_for()
    page.reload()
    page.get_by_test_id("history-count").filter(has_text="51–100 of 120 runs").wait_for()
    causes.get_by_role("button", name=re.compile("data change")).click()
    page.wait_for_url(re.compile(r"cause=data"))
    assert table.locator("tbody tr").count() == 40
    assert "page=" not in page.url
    shot(page, "bug-history-paged")


def test_first_failed_step_links_to_the_step(page: Any, case: CaseStudy) -> None:
    page.goto(f"/experiments/{case.experiment['id']}/history")
    link = page.get_by_role("table", name="run history").get_by_role("link", name="validate")
    link.wait_for()
    assert link.get_attribute("href").endswith(
        f"/executions/{case.executions[1]['validate']['id']}"
    )
    link.click()
    page.get_by_test_id("step-facts").wait_for()


def _create(ops: list[dict[str, Any]], entity: str, body: dict[str, Any]) -> str:
    key = str(uuid.uuid4())
    ops.append({"op": "create", "entity": entity, "id": key, "body": body})
    return key


def _train(
    ops: list[dict[str, Any]],
    run: str,
    executable: str,
    *,
    inputs: list[str] | None = None,
    outputs: list[str],
) -> str:
    """A successful ``train`` step of ``run`` reading ``inputs`` and writing ``outputs``."""
    body: dict[str, Any] = {
        "run": run,
        "executable": executable,
        "name": "train",
        "kind": "train",
        "status": "SUCCESS",
        "outputArtifacts": outputs,
    }
    if inputs:
        body["inputArtifacts"] = inputs
    return _create(ops, "execution", body)


def test_a_node_shows_a_size_in_bytes_and_rows_only_for_rows(
    page: Any, ui_server: ServerProcess
) -> None:
    ops: list[dict[str, Any]] = []
    experiment = _create(ops, "experiment", {"name": "sizes"})
    run = _create(ops, "run", {"experiment": experiment, "name": "sizes-1", "status": "SUCCESS"})
    train = _create(ops, "executable", {"name": "train", "version": "1", "uri": "git://t.py"})

    def artifact(name: str, kind: str, attributes: dict[str, Any]) -> str:
        return _create(
            ops,
            "artifact",
            {
                "name": name,
                "kind": kind,
                "uri": f"s3://{experiment}/{name}",
                "attributes": attributes,
            },
        )

    letters = artifact("emnist-letters", "dataset", {"size": 274_816})
    counted = artifact("emnist-counted", "dataset", {"rows": 124_800})
    model = artifact("handwriting-mlp", "model", {"size": 102_952})
    _train(ops, run, train, inputs=[letters, counted], outputs=[model])
    _batch(ui_server, ops)

    def sub(name: str) -> str:
        node = page.locator(".gnode", has=page.locator(f'.node-label:text-is("{name}")'))
        node.first.wait_for()
        # Its parts are laid out side by side, each read on a line of its own.
        return " ".join(node.first.locator(".node-sub").inner_text().split())

    for path in (f"/runs/{run}/dag", f"/artifacts/{letters}/lineage?direction=downstream"):
        page.goto(path)
        assert sub("emnist-letters").startswith("dataset · 268 KiB"), path
        assert sub("handwriting-mlp").startswith("model · 101 KiB"), path
        assert "rows" not in sub("emnist-letters") + sub("handwriting-mlp"), path
    page.goto(f"/runs/{run}/dag")
    assert sub("emnist-counted") == "dataset · 124,800 rows"


def test_history_since_the_last_deployment_dates_the_alias_move(
    page: Any, ui_server: ServerProcess
) -> None:
    ops: list[dict[str, Any]] = []
    experiment = _create(ops, "experiment", {"name": "deployed"})
    made = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    run = _create(
        ops,
        "run",
        {
            "experiment": experiment,
            "name": "made-v1",
            "status": "SUCCESS",
            "createTime": made.isoformat(),
        },
    )
    train = _create(ops, "executable", {"name": "train", "version": "1", "uri": "git://t.py"})
    model = _create(
        ops,
        "artifact",
        {"name": "hw-model", "kind": "model", "uri": f"s3://{run}", "attributes": {}},
    )
    _train(ops, run, train, outputs=[model])
    _batch(ui_server, ops)
    name = f"hw-{experiment[:8]}"
    api = f"{ui_server.url}/api/v1"
    for method, path, body in (
        ("POST", "/models", {"name": name}),
        ("POST", f"/models/{name}/versions", {"artifact": model}),
        ("PUT", f"/models/{name}/aliases/production", {"version": 1, "reason": "ship it"}),
    ):
        answer = httpx.request(method, api + path, json=body)
        assert answer.status_code in (200, 201), answer.text
    history = httpx.get(f"{api}/experiments/{experiment}/history?sinceLastDeploy=true").json()
    moved = history["lastDeployment"]["time"]
    assert not moved.startswith("2026-11-03")

    page.goto(f"/experiments/{experiment}/history?sinceLastDeploy=true")
    said = page.get_by_text(re.compile("since “production”"))
    said.wait_for()
    text = said.inner_text()
    day = page.evaluate(
        "(t) => new Date(t).toLocaleString(undefined, {dateStyle: 'medium'})", moved
    )
    made_day = page.evaluate(
        "(t) => new Date(t).toLocaleString(undefined, {dateStyle: 'medium'})", made.isoformat()
    )
    assert f"“production” of {name} moved to v1 (made by run made-v1) on {day}" in text, text
    assert made_day not in text, text


def test_an_unknown_experiment_s_runs_are_only_not_found(page: Any) -> None:
    page.goto("/experiments/00000000-0000-0000-0000-000000000000/runs")
    page.get_by_role("alert").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("alert").count() == 1
    assert page.get_by_text("Not found").count() == 1
    assert page.get_by_text("No runs").count() == 0
    main = page.locator("section.view")
    assert main.get_by_role("link", name="trace").count() == 0
    assert main.get_by_role("link", name="history").count() == 0
    assert main.get_by_role("searchbox").count() + main.locator("table").count() == 0
