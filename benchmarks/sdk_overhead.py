"""What tracking costs: time per tracked step in each buffering mode, file hashing
throughput, and the parse of a large answer with the garbage collector on and off.

    python benchmarks/sdk_overhead.py [--steps 50] [--megabytes 256] [--url URL]
    python benchmarks/sdk_overhead.py --parse-only

Prints one line per figure. Embedded SQLite in a temporary directory unless --url is given.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import httpx  # noqa: E402

import modeltrail as mt  # noqa: E402
from modeltrail.sdk.collect import files  # noqa: E402
from modeltrail.sdk.connection import parsed  # noqa: E402


def trace_like(runs: int = 4_000) -> bytes:
    """An answer shaped like a large graph answer: about 10 MB for 4,000 runs."""
    artifacts = [
        {
            "id": f"{i:032x}",
            "type": "artifact",
            "name": f"part-{i}",
            "kind": "dataset",
            "version": "1",
            "uri": f"s3://bucket/part-{i}.csv",
            "fingerprint": f"{i:064x}",
            "createTime": "2026-01-01T00:00:00Z",
            "attributes": {"rows": i, "columns": ["a", "b", "c"]},
            "annotations": {"team": "vision"},
            "runs": [f"{r:032x}" for r in range(i % 7)],
        }
        for i in range(runs * 4)
    ]
    edges = [{"source": f"{i:032x}", "target": f"{i + 1:032x}"} for i in range(runs * 7)]
    return json.dumps({"artifacts": artifacts, "edges": edges}).encode()


def parse_cost(rounds: int = 11) -> None:
    """The SDK's parse of a large answer, the collector on (as the SDK leaves it) and off
    (as a program may hold it around a read), taking turns; medians."""
    response = httpx.Response(200, content=trace_like())
    times: dict[str, list[float]] = {"on": [], "off": []}
    was = gc.isenabled()
    for r in range(rounds):
        for state in ("on", "off") if r % 2 == 0 else ("off", "on"):
            gc.enable() if state == "on" else gc.disable()
            started = time.perf_counter()
            parsed(response)
            times[state].append(time.perf_counter() - started)
    gc.enable() if was else gc.disable()
    on, off = (statistics.median(times[s]) * 1000 for s in ("on", "off"))
    print(
        f"parse of a {len(response.content) / 1e6:.1f} MB answer: {on:.0f} ms with the "
        f"collector on, {off:.0f} ms with it off ({on / off:.2f}x; medians of {rounds})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--megabytes", type=int, default=256)
    parser.add_argument("--url", default=None)
    parser.add_argument("--parse-only", action="store_true", help="only the parse figure")
    args = parser.parse_args()
    parse_cost()
    if args.parse_only:
        return
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        where = "server" if args.url else "embedded SQLite"
        for mode in ("off", "step", "run"):
            trail = mt.connect(args.url or f"sqlite:///{Path(tmp) / 'bench.db'}", buffer=mode)
            with trail.run(experiment="bench", pipeline="bench") as run:
                started = time.perf_counter()
                previous = None
                for i in range(args.steps):
                    with run.step("step", config={"i": i}) as step:
                        if previous is not None:
                            step.input(previous)
                        previous = step.output(mt.dataset(f"s3://bucket/part-{i}.csv"))
                        step.log_metric("rows", i, of=previous)
            elapsed = time.perf_counter() - started  # the run's end sends what it kept
            trail.close()
            # Each step stores an execution, a dataset and a metric, and links four edges.
            print(
                f"tracked step (input, output, metric), buffer={mode}: "
                f"{elapsed / args.steps * 1000:.1f} ms, {3 * args.steps / elapsed:,.0f} "
                f"entities/s ({args.steps} steps, {where})"
            )

        data = Path(tmp) / "big.bin"
        with open(data, "wb") as f:
            for _ in range(args.megabytes):
                f.write(os.urandom(1 << 20))
        started = time.perf_counter()
        files.hash_file(data, progress=False)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        files.hash_file(data, progress=False)
        warm = time.perf_counter() - started
        print(
            f"file hash: {args.megabytes / cold:.0f} MB/s streamed ({args.megabytes} MB), "
            f"{warm * 1000:.1f} ms from the cache"
        )


if __name__ == "__main__":
    main()
