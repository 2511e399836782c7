"""Metric series side by side with MLflow: logging points over HTTP, reading a long series.

    python benchmarks/metric_series.py [--points 500000] [--keys 10] [--read-points 100000]
                                       [--mlflow-points 100000] [--workdir DIR] [--json FILE]
    python benchmarks/metric_series.py --sender [--sender-points 1000000,10000000]
                                       [--mlflow-sender-points 50000,100000] [--no-mlflow]

Both servers run here, on SQLite files in the working directory, and are driven as their own
clients drive them:

- modeltrail: ``modeltrail server``; the SDK's buffered ``step.log_metrics({...}, step=i)``,
  which sends points in bulk to ``POST /api/v1/runs/{id}/metrics``; the series read back whole
  (to the answer's last byte, and again with the client's JSON parse) and downsampled to 1,000
  buckets with ``GET /api/v1/runs/{id}/metrics/{key}``.
- MLflow: ``mlflow server`` with its default workers and with one; ``MlflowClient.log_batch``
  with 1,000 metrics a call (MLflow's limit per batch) and ``get_metric_history``.

Points are logged as a training loop logs them: ``--keys`` metrics at each step. Each figure is
the median of ``--rounds`` reads. The memory figures are the peak resident size of the client
process and of the modeltrail server while the points were logged.

``--sender`` measures the client alone as a training loop sees it: each count of points is
logged by a fresh process (``run.log_metrics``, ``--keys`` a step), which prints how fast its
loop ran, how long until every point was sent, and how much its peak resident size grew over
what it was before the first point (``ru_maxrss``). MLflow's client is measured the same way
with its background logging (``mlflow.log_metrics(..., synchronous=False)``, then
``mlflow.flush_async_logging()``), on fewer points: its rate makes millions take hours. The
growth per million points between the two counts is the slope: a bounded client's is about 0.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402

import modeltrail as mt  # noqa: E402
from benchmarks.peers.mlflow import Server as MlflowServer  # noqa: E402
from benchmarks.servers import Server, modeltrail  # noqa: E402

MLFLOW_BATCH = 1000


def modeltrail_server(workdir: Path) -> Server:
    db = workdir / "modeltrail-series.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return modeltrail(f"sqlite:///{db}", workdir, name="modeltrail-series")


class PeakRss:
    """The greatest resident size of a process, sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def median_ms(fn: Any, rounds: int) -> float:
    fn()  # warm: the first read pays for connections and caches
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def values_at(step: int, keys: int) -> dict[str, float]:
    return {f"metric_{k}": ((step * 7919 + k) % 1000) / 1000 for k in range(keys)}


# ---------------------------------------------------------------- modeltrail


def modeltrail_figures(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    server = modeltrail_server(workdir)
    try:
        trail = mt.connect(server.url, on_unreachable="raise")
        steps = args.points // args.keys
        client_rss = PeakRss(os.getpid())
        server_rss = PeakRss(server.proc.pid)
        start = time.perf_counter()
        with trail.run(experiment="series-benchmark") as run, run.step("train") as step:
            for i in range(steps):
                step.log_metrics(values_at(i, args.keys), step=i)
        elapsed = time.perf_counter() - start
        trail.close()
        logged = steps * args.keys
        out: dict[str, Any] = {
            "points": logged,
            "seconds": round(elapsed, 3),
            "points_per_second": round(logged / elapsed),
            "client_peak_rss_mb": round(client_rss.stop() / 2**20, 1),
            "server_peak_rss_mb": round(server_rss.stop() / 2**20, 1),
        }
        # A series of --read-points points, appended in one go as a long run would have it.
        n = args.read_points
        http = httpx.Client(base_url=server.url + "/api/v1", timeout=120)
        body = {
            "series": [
                {"key": "long", "steps": list(range(n)),
                 "values": [((i * 7919) % 1000) / 1000 for i in range(n)]}
            ]
        }  # fmt: skip
        answer = http.post(f"/runs/{run.id}/metrics", json=body)
        answer.raise_for_status()

        def whole() -> None:
            r = http.get(f"/runs/{run.id}/metrics/long")
            r.raise_for_status()
            assert r.content.endswith(b"}")

        def whole_parsed() -> None:
            r = http.get(f"/runs/{run.id}/metrics/long")
            r.raise_for_status()
            assert len(r.json()["values"]) == n

        def downsampled() -> None:
            r = http.get(f"/runs/{run.id}/metrics/long", params={"points": 1000})
            r.raise_for_status()
            assert r.json()["buckets"] == 1000

        out["read_points"] = n
        out["read_whole_ms"] = round(median_ms(whole, args.rounds), 1)
        out["read_whole_parsed_ms"] = round(median_ms(whole_parsed, args.rounds), 1)
        out["read_1000_buckets_ms"] = round(median_ms(downsampled, args.rounds), 1)
        http.close()
        return out
    finally:
        server.stop()


# ---------------------------------------------------------------- MLflow


def mlflow_figures(args: argparse.Namespace, workdir: Path, workers: str) -> dict[str, Any]:
    try:
        from mlflow.entities import Metric
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        return {"unavailable": f"mlflow is not installed here ({exc})"}
    server = MlflowServer(workdir, workers)
    try:
        client = MlflowClient(tracking_uri=server.base)
        experiment = client.create_experiment(f"series-{workers}-{time.time_ns()}")
        run = client.create_run(experiment).info.run_id
        steps = args.mlflow_points // args.keys
        now = int(time.time() * 1000)
        metrics = [
            Metric(key, value, now + i, i)
            for i in range(steps)
            for key, value in values_at(i, args.keys).items()
        ]
        start = time.perf_counter()
        for at in range(0, len(metrics), MLFLOW_BATCH):
            client.log_batch(run, metrics=metrics[at : at + MLFLOW_BATCH])
        elapsed = time.perf_counter() - start
        out: dict[str, Any] = {
            "points": len(metrics),
            "seconds": round(elapsed, 3),
            "points_per_second": round(len(metrics) / elapsed),
        }
        n = args.mlflow_read_points or args.read_points
        long = [Metric("long", ((i * 7919) % 1000) / 1000, now + i, i) for i in range(n)]
        for at in range(0, n, MLFLOW_BATCH):
            client.log_batch(run, metrics=long[at : at + MLFLOW_BATCH])

        def whole() -> None:
            assert len(client.get_metric_history(run, "long")) == n

        out["read_whole_parsed_ms"] = None  # the client's parse is part of its read

        out["read_points"] = n
        out["read_whole_ms"] = round(median_ms(whole, max(1, args.rounds // 3)), 1)
        out["read_1000_buckets_ms"] = None  # MLflow reads a history whole
        return out
    finally:
        server.stop()


# ---------------------------------------------------------------- the client's sender


def _peak_rss() -> int:
    """The process's peak resident size so far, in bytes (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def sender_child(args: argparse.Namespace) -> None:
    """Log ``--points`` points to the server at ``--url`` and print the figures as JSON."""
    steps = args.points // args.keys
    rows = [values_at(i, args.keys) for i in range(1000)]  # made once: the loop only logs
    if args.sender_child == "modeltrail":
        trail = mt.connect(args.url, on_unreachable="raise")
        run = trail.run(experiment="sender-benchmark").__enter__()
        log = run.log_metrics
        end = trail.close
    else:
        import mlflow

        mlflow.set_tracking_uri(args.url)
        mlflow.start_run()

        def log(values: dict[str, float], *, step: int) -> None:
            mlflow.log_metrics(values, step=step, synchronous=False)

        end = mlflow.flush_async_logging
    before = _peak_rss()
    start = time.perf_counter()
    for i in range(steps):
        log(rows[i % 1000], step=i)
    looped = time.perf_counter() - start
    end()
    sent = time.perf_counter() - start
    points = steps * args.keys
    print(
        json.dumps(
            {
                "points": points,
                "loop_points_per_second": round(points / looped),
                "sent_points_per_second": round(points / sent),
                "rss_growth_mb": round((_peak_rss() - before) / 2**20, 1),
            }
        )
    )
    sys.stdout.flush()
    os._exit(0)  # MLflow's run and threads are left as they are: the figures are out


def sender_figures(args: argparse.Namespace, workdir: Path) -> dict[str, list[dict[str, Any]]]:
    def child(client: str, url: str, points: int) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, __file__, "--sender-child", client, "--url", url,
             "--points", str(points), "--keys", str(args.keys)],
            capture_output=True, text=True, cwd=workdir,
            env=dict(os.environ, PYTHONPATH=str(ROOT / "src")),
        )  # fmt: skip
        if done.returncode != 0:
            return {"points": points, "error": (done.stderr or done.stdout)[-300:]}
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    counts = [int(n) for n in args.sender_points.split(",")]
    results: dict[str, list[dict[str, Any]]] = {}
    server = modeltrail_server(workdir)
    try:
        results["modeltrail"] = [child("modeltrail", server.url, n) for n in counts]
    finally:
        server.stop()
    if not args.no_mlflow:
        try:
            import mlflow  # noqa: F401
        except ImportError as exc:
            results["mlflow"] = [{"unavailable": f"mlflow is not installed here ({exc})"}]
            return results
        peer = MlflowServer(workdir, "default")
        try:
            counts = [int(n) for n in args.mlflow_sender_points.split(",")]
            results["mlflow (async logging)"] = [child("mlflow", peer.base, n) for n in counts]
        finally:
            peer.stop()
    return results


def sender_report(results: dict[str, list[dict[str, Any]]]) -> str:
    lines = [
        f"{'client':<24}{'points':>12}{'loop points/s':>16}{'sent points/s':>16}"
        f"{'RSS growth MB':>16}"
    ]
    for name, rows in results.items():
        for row in rows:
            if "loop_points_per_second" not in row:
                lines.append(f"{name:<24}{row.get('points', ''):>12}  {row}")
                continue
            lines.append(
                f"{name:<24}{row['points']:>12,}{row['loop_points_per_second']:>16,}"
                f"{row['sent_points_per_second']:>16,}{row['rss_growth_mb']:>16}"
            )
        done = [r for r in rows if "rss_growth_mb" in r]
        if len(done) >= 2:
            a, b = done[0], done[-1]
            slope = (b["rss_growth_mb"] - a["rss_growth_mb"]) / ((b["points"] - a["points"]) / 1e6)
            lines.append(f"{name:<24}RSS growth per extra million points: {slope:.1f} MB")
    return "\n".join(lines)


# ---------------------------------------------------------------- report


def report(results: dict[str, dict[str, Any]]) -> str:
    rows = [
        ("logging, points/s", "points_per_second"),
        ("points logged", "points"),
        ("points in the series read", "read_points"),
        ("read the series whole, ms", "read_whole_ms"),
        ("... and parse its JSON in the client, ms", "read_whole_parsed_ms"),
        ("read it in 1,000 buckets, ms", "read_1000_buckets_ms"),
        ("client peak RSS while logging, MB", "client_peak_rss_mb"),
        ("server peak RSS while logging, MB", "server_peak_rss_mb"),
    ]
    names = list(results)
    width = max(len(r[0]) for r in rows) + 2
    lines = ["".ljust(width) + "".join(n.rjust(26) for n in names)]
    for label, field in rows:
        cells = []
        for name in names:
            value = results[name].get(field, "n/a")
            cells.append(("n/a" if value is None else str(value)).rjust(26))
        lines.append(label.ljust(width) + "".join(cells))
    ours = results["modeltrail"].get("points_per_second")
    for name in names[1:]:
        theirs = results[name].get("points_per_second")
        if ours and theirs:
            lines.append(f"modeltrail logs {ours / theirs:.1f}x the points per second of {name}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=500_000)
    parser.add_argument("--mlflow-points", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--read-points", type=int, default=100_000)
    parser.add_argument(
        "--mlflow-read-points",
        type=int,
        default=None,
        help="the length of MLflow's series read (default: --read-points); its log_batch "
        "is slow enough to make the full length take minutes",
    )
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--sender", action="store_true", help="the client's memory and rate")
    parser.add_argument("--sender-points", default="1000000,10000000")
    parser.add_argument("--mlflow-sender-points", default="50000,100000")
    parser.add_argument("--sender-child", choices=["modeltrail", "mlflow"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sender_child:
        sender_child(args)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="series-bench-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    if args.sender:
        figures = sender_figures(args, workdir)
        print(sender_report(figures))
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
        return
    results = {"modeltrail": modeltrail_figures(args, workdir)}
    if not args.no_mlflow:
        for workers in ("default", "1"):
            results[f"mlflow ({workers} workers)" if workers != "1" else "mlflow (1 worker)"] = (
                mlflow_figures(args, workdir, workers)
            )
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
