"""The registry and artifact pages in a real Chromium against a real server: models with their
aliases, moving an alias (and being refused one that is protected), an artifact's provenance,
files and previews, breadcrumbs, titles and copy buttons."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect

import casestudy
from casestudy import CaseStudy
from conftest import ServerProcess
from ui.conftest import HeldRequests, shot

pytestmark = pytest.mark.slow

MODEL = "digits-classifier"
ADMIN = "an-admin-token-of-forty-characters-0123456"


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x25\x63\xeb" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _register(url: str, case: CaseStudy, headers: dict[str, str] | None = None) -> None:
    with httpx.Client(base_url=f"{url}/api/v1", headers=headers or {}) as api:
        _ok(api.post("/models", json={"name": MODEL, "description": "Reads handwritten digits."}))
        for key in ("run1.model", "run2.model"):
            _ok(api.post(f"/models/{MODEL}/versions", json={"artifact": case.ids[key]}))
        _ok(api.put(f"/models/{MODEL}/aliases/production", json={"version": 1, "reason": "first"}))
        _ok(
            api.put(f"/models/{MODEL}/aliases/production", json={"version": 2, "reason": "letters"})
        )
        _ok(api.put(f"/models/{MODEL}/aliases/champion", json={"version": 1}))


@pytest.fixture(scope="module")
def registered(ui_server: ServerProcess, case: CaseStudy) -> CaseStudy:
    _register(ui_server.url, case)
    files = f"{ui_server.url}/api/v1/artifacts/{case.ids['run2.model']}/files"
    content = {
        "README.txt": b"A CNN trained on letters.\n",
        "config.json": b'{"layers":[32,64,10],"dropout":0.25}',
        "history.csv": b"epoch,loss,accuracy\n1,0.9,0.61\n2,0.6,0.70\n3,0.4,0.758\n",
        "plots/curve.png": _png(40, 20),
        "model.bin": bytes(range(256)) * 12,
    }
    for path, body in content.items():
        _ok(httpx.put(f"{files}/{path}", content=body))
    return case


def test_models_list_shows_aliases(page: Any, registered: CaseStudy) -> None:
    page.goto("/models")
    row = page.locator(f"tr[data-model='{MODEL}']")
    row.wait_for()
    assert "production → v2" in row.inner_text() and "champion → v1" in row.inner_text()
    assert page.title() == "models · modeltrail"
    row.get_by_role("link", name=MODEL).click()
    page.wait_for_url(re.compile(f"/models/{MODEL}$"))
    page.get_by_role("table", name="versions").wait_for()
    assert page.title() == f"{MODEL} · model · modeltrail"


def test_move_production_to_the_previous_version(
    page: Any, registered: CaseStudy, ui_server: ServerProcess, request: pytest.FixtureRequest
) -> None:
    # Protected, on a server without access control: anyone may move it, and is not told otherwise.
    protection = f"{ui_server.url}/api/v1/models/{MODEL}/aliases/production/protection"
    _ok(httpx.put(protection, json={"protected": True}))
    request.addfinalizer(lambda: _ok(httpx.put(protection, json={"protected": False})))
    page.goto(f"/models/{MODEL}")
    versions = page.get_by_role("table", name="versions")
    v2 = versions.locator("tr[data-version='2']")
    v2.wait_for()
    # Each version with its metrics, its data and the run that made it, as links.
    assert (
        f"accuracy {casestudy.ACCURACIES[1]}" in v2.inner_text() and "production" in v2.inner_text()
    )
    assert v2.get_by_role("link", name=casestudy.RUN_NAMES[1]).get_attribute("href") == (
        f"/runs/{registered.runs[1]['id']}"
    )
    assert v2.get_by_role("link", name=casestudy.TRAINING_DATA).get_attribute("href") == (
        f"/artifacts/{registered.ids['run2.data']}"
    )
    shot(page, "20-model")

    form = page.get_by_role("form", name="move an alias")
    form.get_by_label("alias", exact=True).fill("production")
    form.get_by_text("“production” points at v2 now.").wait_for()
    assert form.get_by_text("It is protected").count() == 0
    form.get_by_label("version").select_option("1")
    form.get_by_label("reason").fill("letters model fails validation")
    form.get_by_role("button", name="Move alias").click()
    page.get_by_text("Moved “production” to v1.").wait_for()
    assert form.get_by_text("It is protected").count() == 0

    aliases = page.get_by_role("table", name="aliases")
    aliases.locator("tr[data-alias='production']", has_text="v1").wait_for()
    # The alias's version is an anchor on this page (not on the <base href> of the UI's root).
    aliases.locator("tr[data-alias='production']").get_by_role("link", name="v1").click()
    page.wait_for_url(re.compile(rf"/models/{MODEL}#v1$"))
    versions.locator("tr[data-version='1']").wait_for()
    newest = page.get_by_role("table", name="alias history").locator("tbody tr").first
    newest.filter(has_text="letters model fails validation").wait_for()
    assert "production" in newest.inner_text() and "v2 → v1" in newest.inner_text()
    # The server runs without sign-in: no one is named, and the page says so in plain words.
    who = newest.locator("td").nth(2)
    assert who.inner_text() == "—", who.inner_text()
    assert "no one was signed in" in (who.locator("span").get_attribute("title") or "")
    assert "production" in versions.locator("tr[data-version='1']").inner_text()
    assert (
        httpx.get(
            f"{page.url.split('/models')[0]}/api/v1/models/{MODEL}/aliases/production"
        ).json()["version"]
        == 1
    )
    # The history of one alias only.
    page.get_by_label("history of alias").select_option("champion")
    page.wait_for_url(re.compile("alias=champion"))
    rows = page.get_by_role("table", name="alias history").locator("tbody tr")
    rows.first.filter(has_text="champion").wait_for()
    assert rows.count() == 1
    shot(page, "21-model-moved")


def test_artifact_page_provenance_files_and_previews(page: Any, registered: CaseStudy) -> None:
    model = registered.ids["run2.model"]
    page.goto(f"/artifacts/{model}")
    produced = page.get_by_test_id("produced-by")
    produced.get_by_role("link", name=casestudy.RUN_NAMES[1]).wait_for()
    step = produced.get_by_role("link", name="train", exact=True)
    assert step.get_attribute("href").endswith(
        f"/executions/{registered.executions[1]['train']['id']}"
    )
    assert page.get_by_test_id("read-by").get_by_role("link", name="evaluate").count() == 1
    crumbs = page.get_by_role("navigation", name="breadcrumbs")
    assert crumbs.inner_text().split() == [
        casestudy.EXPERIMENT,
        "›",
        casestudy.RUN_NAMES[1],
        "›",
        "train",
        "›",
        casestudy.MODEL,
    ]
    assert page.title() == f"{casestudy.MODEL} · model · modeltrail"

    files = page.get_by_role("table", name="files")
    files.locator("tbody tr").nth(4).wait_for()
    assert files.locator("tr[data-path='model.bin'] td.size").inner_text() == "3.0 KiB"
    assert files.locator("tr[data-path='README.txt'] td.size").inner_text() == "26 B"
    # The first small readable file is shown at once.
    page.get_by_test_id("text-preview").filter(has_text="A CNN trained on letters.").wait_for()
    files.get_by_role("button", name="config.json").click()
    page.get_by_test_id("text-preview").filter(has_text='"dropout": 0.25').wait_for()
    files.get_by_role("button", name="history.csv").click()
    head = page.get_by_role("table", name="first rows of history.csv")
    head.wait_for()
    assert head.locator("th").all_inner_texts() == ["epoch", "loss", "accuracy"]
    assert head.locator("tbody tr").count() == 3
    files.get_by_role("button", name="plots/curve.png").click()
    image = page.get_by_role("img", name="preview of plots/curve.png")
    image.wait_for()
    page.wait_for_function("() => document.querySelector('.preview img').naturalWidth === 40")
    # A binary file has no preview but can be downloaded.
    assert files.get_by_role("button", name="model.bin").count() == 0
    with page.expect_download() as download:
        files.locator("tr[data-path='model.bin']").get_by_role("link", name="download").click()
    assert Path(download.value.path()).read_bytes() == bytes(range(256)) * 12
    shot(page, "22-artifact-files")


def test_the_artifact_page_reads_its_preview_with_its_file_list(
    page: Any, registered: CaseStudy
) -> None:
    model = registered.ids["run2.model"]
    # The kind's schema answers last: the file shown at once is read meanwhile, not after it.
    held = HeldRequests(page, "**/api/v1/kinds/*")
    page.goto(f"/artifacts/{model}", wait_until="commit")
    held.wait_for("/api/v1/kinds/", f"/artifacts/{model}/files/README.txt")
    assert page.get_by_test_id("preview").count() == 0
    held.release()
    page.get_by_test_id("text-preview").filter(has_text="A CNN trained on letters").wait_for()
    # Read once: the preview takes the answer asked for with the list.
    assert held.count(f"/artifacts/{model}/files/README.txt") == 1


def test_references_are_shown_by_name(
    page: Any, ui_server: ServerProcess, registered: CaseStudy
) -> None:
    page.goto(f"/artifacts/{registered.ids['run2.validation']}")
    reference = page.locator("[data-attribute=model] a")
    reference.filter(has_text=f"{casestudy.MODEL} (model)").wait_for()
    assert registered.ids["run2.model"][:8] not in reference.inner_text()
    # The lineage diff names the artifacts on either side instead of their ids. Each side's
    # name is asked for on its own: here the other side's answers last.
    a, b = registered.ids["run2.model"], registered.ids["run1.model"]
    diff = httpx.get(f"{ui_server.url}/api/v1/artifacts/{a}/diff", params={"against": b}).json()
    other = diff["differences"][0]["beforeId"]
    held = HeldRequests(page, f"**/api/v1/artifacts/{other}")
    page.goto(f"/compare?a={a}&b={b}")
    sides = page.get_by_test_id("differences").locator("li").first.locator(".sides")
    sides.filter(has_text=casestudy.RAW_NAMES[1]).wait_for()
    held.wait_for(f"/artifacts/{other}")
    assert sides.locator("code").count() == 1, "the other side shows its short id until named"
    held.release()
    expect(sides.locator("code")).to_have_count(0, timeout=15_000)
    assert not re.search(r"\b[0-9a-f]{8}\b", sides.inner_text())
    assert casestudy.RAW_NAMES[0] in sides.inner_text()


def test_copy_id_and_link(page: Any, registered: CaseStudy) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    model = registered.ids["run2.model"]
    page.goto(f"/artifacts/{model}")
    page.get_by_role("button", name="copy id").click()
    page.get_by_role("button", name="copy id").filter(has_text="copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == model
    page.get_by_role("button", name="copy link").click()
    assert page.evaluate("navigator.clipboard.readText()") == page.url


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    tmp: Path = tmp_path_factory.mktemp("guarded-registry")
    proc = ServerProcess(f"sqlite:///{tmp / 'reg.db'}", "--admin-token", ADMIN, cwd=tmp)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    case = casestudy.build(proc.url, headers=admin)
    _register(proc.url, case, admin)
    _ok(
        httpx.put(
            f"{proc.url}/api/v1/models/{MODEL}/aliases/production/protection",
            json={"protected": True},
            headers=admin,
        )
    )
    token = _ok(
        httpx.post(
            f"{proc.url}/api/v1/tokens", json={"name": "wendy", "role": "writer"}, headers=admin
        )
    )["token"]
    yield proc, str(token)
    proc.stop()


def test_a_writer_may_not_move_a_protected_alias(
    browser: Any, guarded: tuple[ServerProcess, str]
) -> None:
    server, token = guarded
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.url)
    context.add_init_script(f"sessionStorage.setItem('modeltrail.token', {token!r})")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"/models/{MODEL}")
    form = page.get_by_role("form", name="move an alias")
    form.get_by_label("alias", exact=True).fill("production")
    form.get_by_text("It is protected: moving it needs a token with the deployer role").wait_for()
    form.get_by_label("version").select_option("1")
    form.get_by_role("button", name="Move alias").click()
    alert = form.get_by_role("alert")
    alert.wait_for()
    assert "403" in alert.inner_text()
    hint = form.get_by_test_id("forbidden-hint").inner_text()
    assert "deployer" in hint and "wendy (role writer)" in hint
    # Nothing moved.
    assert (
        httpx.get(
            f"{server.url}/api/v1/models/{MODEL}/aliases/production",
            headers={"Authorization": f"Bearer {token}"},
        ).json()["version"]
        == 2
    )
    shot(page, "23-model-forbidden")
    context.close()


def test_global_search_by_name_id_and_uri(page: Any, registered: CaseStudy) -> None:
    page.goto("/experiments")
    page.wait_for_selector("table.data tbody tr")
    page.keyboard.press("Control+k")
    box = page.get_by_role("combobox", name="search names, ids and URIs")
    box.fill("digits-classifier")
    results = page.get_by_role("listbox", name="results")
    results.get_by_role("option").filter(has_text="digits-classifier").first.wait_for()
    shot(page, "24-search")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f"/models/{MODEL}$"))
    assert page.get_by_role("dialog", name="search").count() == 0

    # The start of an id finds the run; ⌘K opens the box too.
    page.keyboard.press("Meta+k")
    box.fill(registered.runs[0]["id"][:8])
    results.get_by_role("option").filter(has_text=casestudy.RUN_NAMES[0]).wait_for()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f"/runs/{registered.runs[0]['id']}$"))

    # A URI finds the artifact; its result is a real link; Escape closes the box.
    page.get_by_role("button", name=re.compile("^Search")).click()
    box.fill(casestudy.MODEL_URIS[0])
    link = results.get_by_role("link").filter(has_text=casestudy.MODEL)
    link.first.wait_for()
    assert link.first.get_attribute("href") == f"/artifacts/{registered.ids['run1.model']}"
    page.keyboard.press("Escape")
    page.get_by_role("dialog", name="search").wait_for(state="detached")


def test_compare_against_an_artifact_chosen_by_name(page: Any, registered: CaseStudy) -> None:
    a, b = registered.ids["run2.model"], registered.ids["run1.model"]
    page.goto(f"/compare?a={a}&b={registered.ids['run2.data']}")
    picker = page.get_by_role("combobox", name="compare against")
    picker.fill(casestudy.MODEL_URIS[0].removeprefix("s3://"))
    choice = page.get_by_role("option").filter(has_text=casestudy.MODEL_URIS[0])
    choice.wait_for()
    shot(page, "25-compare-picker")
    choice.click()
    page.wait_for_url(re.compile(f"b={b}"))
    page.get_by_test_id("differences").locator("li").first.wait_for()
    # A pasted id is taken as it is.
    picker.fill(registered.ids["run2.data"])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f"b={registered.ids['run2.data']}"))


def test_titles_breadcrumbs_and_times(page: Any, registered: CaseStudy) -> None:
    page.goto(f"/runs?filter={quote('experiment:eq:' + registered.experiment['id'])}")
    page.wait_for_selector("table.data:not(.stale) tbody tr")
    assert page.title() == "runs · modeltrail"
    # Times are said relatively, the exact time on hover; a run says how long it took.
    row = page.locator("tbody tr", has_text=casestudy.RUN_NAMES[1])
    started = row.locator("time").first
    assert started.get_attribute("datetime") == casestudy.RUN_STARTS[1].strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert re.search(r"ago|in ", started.inner_text())
    assert "2026" in started.get_attribute("title")
    assert "(20 min)" in row.inner_text()

    page.goto(f"/experiments/{registered.experiment['id']}/trace")
    crumbs = page.get_by_role("navigation", name="breadcrumbs")
    crumbs.filter(has_text=casestudy.EXPERIMENT).wait_for()
    assert crumbs.inner_text().split() == ["experiments", "›", casestudy.EXPERIMENT, "›", "trace"]
    page.wait_for_function(f"document.title === 'trace · {casestudy.EXPERIMENT} · modeltrail'")
    page.goto(f"/experiments/{registered.experiment['id']}/history")
    crumbs.filter(has_text=casestudy.EXPERIMENT).wait_for()
    assert crumbs.inner_text().split()[-2:] == ["run", "history"]
    crumbs.get_by_role("link", name=casestudy.EXPERIMENT).click()
    page.wait_for_url(re.compile(f"/experiments/{registered.experiment['id']}/runs$"))
    page.goto(f"/artifacts/{registered.ids['run2.validation']}/lineage")
    page.wait_for_selector(".react-flow__node")
    page.wait_for_function("document.title === 'validation · upstream lineage · modeltrail'")


def test_a_version_s_metrics_read_as_the_runs_grid_shows_them(
    page: Any, ui_server: ServerProcess
) -> None:
    values = {"loss": 12345.6, "recall": 0.1, "drift": 0.00001234, "epochs": 20}
    with httpx.Client(base_url=f"{ui_server.url}/api/v1") as api:
        experiment = _ok(api.post("/experiments", json={"name": "formatting"}))["id"]
        run = _ok(api.post("/runs", json={"experiment": experiment, "name": "measured"}))["id"]
        points = [{"key": k, "value": v} for k, v in values.items()]
        _ok(api.post(f"/runs/{run}/metrics", json={"points": points}))
        model = _ok(
            api.post("/artifacts", json={"name": "measured-model", "version": "1", "kind": "model"})
        )["id"]
        for key, value in values.items():
            attributes = {"reference": model, "schema": "number", "value": value}
            _ok(
                api.post(
                    "/artifacts",
                    json={"name": key, "version": "1", "kind": "metrics", "attributes": attributes},
                )
            )
        _ok(api.post("/models", json={"name": "formatting-check"}))
        _ok(api.post("/models/formatting-check/versions", json={"artifact": model}))
    columns = ",".join(f"metrics.{k}" for k in values)
    page.goto(f"/experiments/{experiment}/runs?columns={columns}")
    row = page.locator("table.data.grid:not(.stale) tbody tr").first
    row.wait_for()
    grid = {k: row.locator(f"td[data-column='metrics.{k}']").inner_text() for k in values}
    assert grid == {"loss": "12346", "recall": "0.1", "drift": "1.234e-5", "epochs": "20"}
    page.goto("/models/formatting-check")
    version = page.get_by_role("table", name="versions").locator("tr[data-version='1']")
    version.wait_for()
    shown = dict(m.split(" ", 1) for m in version.locator(".metric").all_inner_texts() if " " in m)
    assert shown == grid
