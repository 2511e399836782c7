"""The comparison table: operations down, systems across, ratios against the peers."""

from __future__ import annotations

from typing import Any

ROWS = [
    ("ingest_1", "ingest, 1 client [entities/s]"),
    ("ingest_8", "ingest, 8 HTTP clients [entities/s]"),
    ("create", "single create [ms]"),
    ("read", "single read [ms]"),
    ("list_first", "list kind+attribute filter, sorted: first page [ms]"),
    ("list_deep", "... deep page [ms]"),
    ("up_20", "upstream lineage, 20 hops [ms]"),
    ("up_100", "upstream lineage, 100 hops [ms]"),
    ("impact", "downstream impact of a dataset read by many runs [ms]"),
    ("dag", "run DAG [ms]"),
    ("trace", "experiment trace [ms]"),
    ("diff", "lineage diff [ms]"),
    ("rss_ingest", "peak RSS during ingest [MiB]"),
    ("rss_query", "peak RSS during queries [MiB]"),
]
COLUMNS = [
    ("embedded", "modeltrail embedded SQLite"),
    ("sqlite", "modeltrail HTTP SQLite"),
    ("postgresql", "modeltrail HTTP PostgreSQL"),
    ("mlmd", "ML Metadata 1.17 (in-process SQLite)"),
    ("mlflow-1", "MLflow server, 1 worker"),
    ("mlflow-default", "MLflow server, default workers"),
]
# Which modeltrail column a peer is compared with: the same way of being reached.
PAIRS = {"mlmd": "embedded", "mlflow-1": "sqlite", "mlflow-default": "sqlite"}


def _value(cell: Any) -> float | None:
    if isinstance(cell, int | float):
        return float(cell)
    if isinstance(cell, dict) and "na" not in cell:
        return cell.get("rate", cell.get("median"))
    return None


def cell_text(op: str, cell: Any, notes: dict[str, str], marks: dict[str, str]) -> str:
    if cell is None:
        return "—"
    if isinstance(cell, dict) and "na" in cell:
        return "n/a " + marks.setdefault(cell["na"], f"[{len(marks) + 1}]")
    mark = ""
    if op in notes:
        mark = " " + marks.setdefault(notes[op], f"[{len(marks) + 1}]")
    if isinstance(cell, int | float):
        return f"{cell:,.0f}{mark}"
    if "rate" in cell:
        return f"{cell['rate']:,.0f}{mark}"
    return f"{cell['median']:.2f} / {cell['p95']:.2f}{mark}"


def ratio(op: str, mine: Any, theirs: Any) -> str:
    a, b = _value(mine), _value(theirs)
    if a is None or b is None or b == 0 or a == 0:
        return "—"
    if op.startswith("ingest"):
        return f"{a / b:.1f}× rate"
    return f"{a / b:.2f}"


def table(results: dict[str, dict[str, Any]]) -> str:
    """A Markdown table; cells are median / p95 in ms, rates in entities/s."""
    marks: dict[str, str] = {}
    columns = [(k, t) for k, t in COLUMNS if k in results]
    ratio_cols = [(p, m) for p, m in PAIRS.items() if p in results and m in results]
    header = ["operation", *(t for _, t in columns), *(f"mt {m} / {p}" for p, m in ratio_cols)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for op, label in ROWS:
        row = [label]
        for key, _ in columns:
            r = results[key]
            if "unavailable" in r:
                row.append("n/a " + marks.setdefault(r["unavailable"], f"[{len(marks) + 1}]"))
            else:
                row.append(cell_text(op, r.get(op), r.get("notes", {}), marks))
        for peer, mine in ratio_cols:
            row.append(ratio(op, results[mine].get(op), results[peer].get(op)))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines += [
        f"{mark} {text}" for text, mark in sorted(marks.items(), key=lambda kv: int(kv[1][1:-1]))
    ]
    lines.append("")
    lines.append(
        "Cells: median / p95 in ms (rates: entities/s over the whole phase). Ratio columns: "
        "modeltrail / peer on the median (below 1 = modeltrail faster); for ingest, "
        "modeltrail's rate / the peer's (above 1 = modeltrail faster)."
    )
    return "\n".join(lines)
