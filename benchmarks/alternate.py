"""PostgreSQL against SQLite over HTTP, read by read, the two servers taking turns.

    python -m benchmarks alternate --scale 100k --rounds 3

The comparison measures one system after the other, minutes apart. On a machine whose speed
drifts from one minute to the next (this one's does, by up to 2x in a slow hour), the ratio of
two of its columns carries that drift. Here both servers are loaded with the same workload
first; then every read of the comparison is timed in rounds, SQLite's server and
PostgreSQL's taking turns (who goes first flips every round), and the ratio is taken within
each round.
"""

from __future__ import annotations

import statistics
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks.measure import timed
from benchmarks.modeltrail_driver import Http, load, reads, store_url
from benchmarks.report import ROWS
from benchmarks.workload import generate

SYSTEMS = ("sqlite", "postgresql")


def alternate(scale: str, rounds: int, workdir: Path, postgres: str) -> dict[str, Any]:
    """Per read: each system's median in every round, and PostgreSQL / SQLite per round."""
    w = generate(scale)
    with ExitStack() as stack:
        targets = {}
        for system in SYSTEMS:
            url = stack.enter_context(store_url(system, workdir, postgres))
            target = targets[system] = Http(url, workdir)
            stack.callback(target.close)
            print(f"loading {system} ...", file=sys.stderr)
            load(target, w)
        operations = {system: reads(target, w)[0] for system, target in targets.items()}
        medians: dict[str, dict[str, list[float]]] = {}
        for r in range(rounds):
            print(f"round {r + 1} of {rounds} ...", file=sys.stderr)
            order = SYSTEMS if r % 2 == 0 else SYSTEMS[::-1]
            for key in operations[SYSTEMS[0]]:
                for system in order:
                    read, samples = operations[system][key]
                    timing = timed(read, samples)
                    medians.setdefault(key, {}).setdefault(system, []).append(timing["median"])
    return {
        key: {
            **by_system,
            "ratio": [
                pg / lite
                for lite, pg in zip(by_system["sqlite"], by_system["postgresql"], strict=True)
            ],
        }
        for key, by_system in medians.items()
    }


def table(results: dict[str, Any]) -> str:
    label = dict(ROWS)
    lines = [
        "| read over HTTP | SQLite | PostgreSQL | PostgreSQL / SQLite |",
        "|---|---|---|---|",
    ]

    def cell(values: list[float], digits: int = 2) -> str:
        median = statistics.median(values)
        return f"{median:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"

    for key, row in results.items():
        lines.append(
            f"| {label[key]} | {cell(row['sqlite'])} | {cell(row['postgresql'])} "
            f"| {cell(row['ratio'])}× |"
        )
    lines.append(
        "\nCells: the median of the rounds' medians (the fastest and the slowest round); "
        "the ratio is taken within each round."
    )
    return "\n".join(lines)
