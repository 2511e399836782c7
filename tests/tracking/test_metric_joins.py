"""A list of runs filtered, searched and sorted on metrics reads them through an outer join
with the series summaries; the answer, page by page, is the one the per-run subqueries give:
NaN latest values, runs without the metric, runs with only ``metrics`` artifacts, ties and
the infinities included. On both databases."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from modeltrail.domain.filters import Filter, Op, Sort
from modeltrail.domain.query import parse_query
from modeltrail.services.entities.run import RUN_FIELDS
from modeltrail.services.metadata import Metadata
from modeltrail.store.fields import Fields
from modeltrail.store.listing import list_rows
from modeltrail.store.tables import RunRow

API = "/api/v1"

# name -> points of "loss" (step order), and the value of a "loss" metrics artifact, if any.
RUNS: dict[str, tuple[list[Any] | None, list[float]]] = {
    "nan-latest": ([0.2, "NaN"], []),
    "nan-latest-with-artifact": ([0.7, "NaN"], [0.35]),
    "all-nan": (["NaN"], []),
    "tie-a": ([0.9, 0.5], []),
    "tie-b": ([0.1, 0.5], []),
    "tie-c": ([0.5], []),
    "inf": ([0.3, "Infinity"], []),
    "minus-inf": (["-Infinity", 0.4], []),
    "artifacts-only": (None, [0.8, 0.6]),
    "nothing": (None, []),
    "other-key": (None, []),
}


def _post(client: TestClient, path: str, body: dict[str, Any], status: int = 201) -> Any:
    r = client.post(f"{API}/{path}", json=body)
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture
def runs(client: TestClient) -> None:
    experiment = _post(client, "experiments", {"name": "joins"})["id"]
    exe = _post(client, "executables", {"name": "train"})["id"]
    for name, (points, artifacts) in RUNS.items():
        run = _post(client, "runs", {"experiment": experiment, "name": name})["id"]
        if points is not None:
            body = {
                "series": [{"key": "loss", "steps": list(range(len(points))), "values": points}]
            }
            _post(client, f"runs/{run}/metrics", body, 200)
        if name == "other-key":
            body = {"points": [{"key": "acc", "value": 0.5}]}
            _post(client, f"runs/{run}/metrics", body, 200)
        outputs = [
            _post(
                client, "artifacts", {"name": "loss", "kind": "metrics", "attributes": {"value": v}}
            )["id"]
            for v in artifacts
        ]
        if outputs:
            _post(
                client,
                "executions",
                {"run": run, "executable": exe, "name": "t", "kind": "train",
                 "outputArtifacts": outputs},
            )  # fmt: skip


def _pages(
    metadata: Metadata,
    fields: Fields,
    *,
    sort: Sort,
    filters: list[Filter] = (),  # type: ignore[assignment]
    q: str | None = None,
    limit: int = 2,
) -> list[list[str]]:
    """Every page of ``limit`` runs, following the cursors."""
    pages: list[list[str]] = []
    cursor = None
    for _ in range(len(RUNS) + 1):
        with metadata.db.session() as session:
            result = list_rows(
                session,
                select(RunRow),
                model=RunRow,
                fields=fields,
                filters=list(filters),
                sort=sort,
                limit=limit,
                cursor=cursor,
                count=True,
                expression=parse_query(q),
            )
        pages.append([row.name for row in result.rows])
        cursor = result.next_cursor
        if cursor is None:
            return pages
    raise AssertionError(f"the cursors never end: {pages}")


PER_RUN = replace(RUN_FIELDS, joined={})

SORTS = [
    Sort(("metrics", "loss")),
    Sort(("metrics", "loss"), descending=True),
    Sort(("metrics", "loss", "min")),
    Sort(("metrics", "loss", "max"), descending=True),
    Sort(("name",)),
]
# (filters, q): each alone, and together.
CONDITIONS: list[tuple[list[Filter], str | None]] = [
    ([], None),
    ([Filter(("metrics", "loss"), Op.GT, "0.3", "metrics.loss:gt:0.3")], None),
    ([Filter(("metrics", "loss"), Op.NE, "0.5", "metrics.loss:ne:0.5")], "metrics.loss is null"),
    (
        [Filter(("metrics", "loss", "max"), Op.IN, ("0.5", "0.9"), "metrics.loss.max:in:0.5,0.9")],
        "not metrics.loss < 0.5 or metrics.loss.min = 0.1",
    ),
    ([], "metrics.loss >= 0.5 and metrics.acc is null"),
]


@pytest.mark.parametrize("sort", SORTS, ids=str)
def test_joined_metric_columns_answer_as_the_per_run_subqueries(
    metadata: Metadata, runs: None, sort: Sort
) -> None:
    for filters, q in CONDITIONS:
        joined = _pages(metadata, RUN_FIELDS, sort=sort, filters=filters, q=q)
        per_run = _pages(metadata, PER_RUN, sort=sort, filters=filters, q=q)
        assert joined == per_run, (filters, q)


def test_the_cases_sort_as_documented(metadata: Metadata, runs: None) -> None:
    """The order itself, so that the comparison above compares something: NaN and no value
    are null (first ascending, last descending, by id among themselves), a NaN latest value
    falls back to the run's artifacts, ties go by id."""
    pages = _pages(metadata, RUN_FIELDS, sort=Sort(("metrics", "loss"), descending=True))
    names = [n for page in pages for n in page]
    assert names[:2] == ["inf", "artifacts-only"]
    assert set(names[2:5]) == {"tie-a", "tie-b", "tie-c"}
    assert names[5:7] == ["minus-inf", "nan-latest-with-artifact"]
    assert set(names[7:]) == {"nan-latest", "all-nan", "nothing", "other-key"}
    assert all(len(page) == 2 for page in pages[:-1])


@pytest.mark.parametrize("descending", [False, True])
def test_a_page_may_end_on_an_infinity(metadata: Metadata, runs: None, descending: bool) -> None:
    """A page of one run ends on every value, the infinities too: the cursor after one
    continues after it, not from the runs without a value."""
    sort = Sort(("metrics", "loss", "min"), descending=descending)
    names = [n for page in _pages(metadata, RUN_FIELDS, sort=sort, limit=1) for n in page]
    assert sorted(names) == sorted(RUNS)
    # Three runs have no least loss: all-nan, nothing and other-key.
    assert names.index("minus-inf") == (len(RUNS) - 3 - 1 if descending else 3)
