"""``python -m benchmarks compare --scale small|100k|1m``: the side-by-side comparison."""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.report import table
from benchmarks.workload import SCALES, generate

ROOT = Path(__file__).resolve().parents[1]
MODELTRAIL = ["embedded", "sqlite", "postgresql"]
PEERS = ["mlmd", "mlflow-1", "mlflow-default"]


def peer(name: str, scale: str, workdir: Path, python: str) -> dict[str, Any]:
    out = workdir / f"{name}.json"
    module = "benchmarks.peers.mlmd" if name == "mlmd" else "benchmarks.peers.mlflow"
    args = [python, "-m", module, "--scale", scale, "--workdir", str(workdir), "--out", str(out)]
    if name.startswith("mlflow"):
        args += ["--workers", "1" if name == "mlflow-1" else "default"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0 or not out.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"unavailable": f"{name} could not run here: {tail[0][:200]}"}
    return json.loads(out.read_text())


def compare(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    systems = args.systems.split(",")
    results: dict[str, Any] = {}
    w = generate(args.scale)
    # The workload (a million dicts at 1M) lives in this process for the whole run; left to the
    # cyclic garbage collector, every collection during an embedded query would walk it too,
    # a cost no server pays. Freeze it out of the collector's view.
    gc.collect()
    gc.freeze()
    print(
        f"workload {args.scale}: {w.entities:,} entities in {len(w.runs):,} runs", file=sys.stderr
    )
    for name in systems:
        start = time.perf_counter()
        if name in MODELTRAIL:
            from benchmarks.modeltrail_driver import run_mode

            results[name] = run_mode(name, w, workdir, args.postgres)
        else:
            results[name] = peer(name, args.scale, workdir, args.peer_python)
        print(f"  {name}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
        if args.json_out:  # keep what is measured so far
            Path(args.json_out).write_text(json.dumps(results, indent=1, default=str))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compare", help="run the comparison and print the table")
    c.add_argument("--scale", choices=list(SCALES), default="small")
    c.add_argument(
        "--systems",
        default=",".join(MODELTRAIL + PEERS),
        help="comma-separated: " + ", ".join(MODELTRAIL + PEERS),
    )
    c.add_argument(
        "--peer-python",
        default=os.environ.get("MODELTRAIL_BENCH_PEER_PYTHON", sys.executable),
        help="the Python that has the bench extra's peers installed (default: this one)",
    )
    c.add_argument(
        "--postgres",
        default=os.environ.get(
            "MODELTRAIL_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="an administrative PostgreSQL URL; a scratch database is created and dropped",
    )
    c.add_argument("--workdir", default="bench-work")
    c.add_argument("--json", dest="json_out", help="also write the raw results here")
    p = sub.add_parser("plans", help="print the query plans of the key queries on both dialects")
    p.add_argument("--scale", choices=list(SCALES), default="small")
    p.add_argument(
        "--postgres",
        default=os.environ.get(
            "MODELTRAIL_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    p.add_argument("--workdir", default="bench-work")
    a = sub.add_parser(
        "alternate",
        help="time every read on SQLite and PostgreSQL over HTTP, the servers taking turns",
    )
    a.add_argument("--scale", choices=list(SCALES), default="small")
    a.add_argument("--rounds", type=int, default=3)
    a.add_argument(
        "--postgres",
        default=os.environ.get(
            "MODELTRAIL_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    a.add_argument("--workdir", default="bench-work")
    a.add_argument("--json", dest="json_out", help="also write the raw results here")
    r = sub.add_parser("report", help="print the table of saved results (later files win)")
    r.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "report":
        merged: dict[str, Any] = {}
        for f in args.files:
            merged.update(json.loads(Path(f).read_text()))
        print(table(merged))
        return 0
    if args.command == "alternate":
        from benchmarks import alternate

        found = alternate.alternate(args.scale, args.rounds, Path(args.workdir), args.postgres)
        print(alternate.table(found))
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(found, indent=1))
        elif Path(args.workdir).name == "bench-work":
            shutil.rmtree(args.workdir, ignore_errors=True)
        return 0
    if args.command == "plans":
        from benchmarks import plans

        print(plans.main(args.scale, Path(args.workdir), args.postgres))
        return 0
    results = compare(args)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"\nscale {args.scale} on {machine}\n")
    print(table(results))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=1, default=str))
    if Path(args.workdir).name == "bench-work" and not args.json_out:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
