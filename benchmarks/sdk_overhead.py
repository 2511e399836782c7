"""What tracking costs: time per tracked step in each buffering mode, and file hashing
throughput.

    python benchmarks/sdk_overhead.py [--steps 50] [--megabytes 256] [--url URL]

Prints one line per figure. Embedded SQLite in a temporary directory unless --url is given.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import modeltrail as mt  # noqa: E402
from modeltrail.sdk.collect import files  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--megabytes", type=int, default=256)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
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
