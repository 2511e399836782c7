"""What the ``openlineage`` plugin costs the write path: the same writes against a server with
the plugin off, on and sending to a live receiver (a second modeltrail server), and on and
pointed at a dead endpoint (nothing listens).

Two workloads, each timed per operation, one operation on each server in turn (the order
rotating), so that drift on a shared machine falls on all three alike:

- ``run``: two single writes, ``POST /runs`` then ``PATCH`` it to SUCCESS (two events);
- ``tracked``: the SDK tracking a run of three steps, each reading the previous step's output
  and writing a dataset (the SDK's batches; eight events).

Then, for the live server, how long the last event took to reach the receiver after the last
write (the queue's lag), and the plugin's counters.

    python -m benchmarks.openlineage_out [--rounds 4] [--runs 50] [--tracked 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.servers import Server, free_port, modeltrail

KEY = "bench-openlineage-key-0123456789"


def server(name: str, workdir: Path, env: dict[str, str], *args: str) -> Server:
    """A server on a SQLite file of its own, named ``name``."""
    return modeltrail(f"sqlite:///{workdir / name}.db", workdir, *args, name=name, env=env)


class Writer:
    """One server's client: an experiment for the single writes, the SDK for tracked runs."""

    def __init__(self, url: str) -> None:
        import modeltrail as mt

        self.http = httpx.Client(base_url=url)
        made = self.http.post("/api/v1/experiments", json={"name": f"e{time.time_ns()}"})
        self.experiment = made.json()["id"]
        self.trail = mt.connect(url)
        self.n = 0

    def run(self) -> float:
        """Create a run and finish it: two single writes."""
        self.n += 1
        t0 = time.perf_counter()
        run = self.http.post(
            "/api/v1/runs", json={"experiment": self.experiment, "name": f"r{self.n}"}
        )
        done = self.http.patch(f"/api/v1/runs/{run.json()['id']}", json={"status": "SUCCESS"})
        took = time.perf_counter() - t0
        assert run.status_code == 201 and done.status_code == 200
        return took

    def tracked(self) -> float:
        """The SDK tracking a run of three steps, each reading the one before's output."""
        import modeltrail as mt

        self.n += 1
        t0 = time.perf_counter()
        with self.trail.run(experiment="bench", pipeline="bench", name=f"t{self.n}") as run:
            previous = None
            for s in range(3):
                with run.step(f"step{s}", kind="transform") as step:
                    if previous is not None:
                        step.input(previous)
                    previous = step.output(mt.artifact("dataset", f"part-{self.n}-{s}"))
        return time.perf_counter() - t0

    def close(self) -> None:
        self.http.close()
        self.trail.close()


def status(url: str) -> dict[str, Any]:
    items = httpx.get(url + "/api/v1/plugins").json()["items"]
    return items[0]["status"] if items else {}


def count(least: int) -> Any:
    """An argparse type: an integer of at least ``least``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is below the least, {least}")
        return value

    return parse


def ms(values: list[float], q: int) -> float:
    """The median (``q`` 50) or the ``q``-th percentile of ``values`` (seconds) in
    milliseconds, as ``benchmarks.measure.timed`` takes them: one sample is its own."""
    if q == 50:
        return statistics.median(values) * 1000
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, int(len(ranked) * q / 100))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=count(1), default=4)
    parser.add_argument("--runs", type=count(0), default=50, help="runs written per round")
    parser.add_argument("--tracked", type=count(0), default=10, help="SDK runs per round")
    args = parser.parse_args()
    if args.runs == args.tracked == 0:
        parser.error("--runs and --tracked are both 0: nothing to time")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        os.chdir(workdir)  # the SDK's spool, were a server down
        receiver = server("receiver", workdir, {"MODELTRAIL_OPENLINEAGE_API_KEY": KEY})
        plugin = {"MODELTRAIL_PLUGIN_OPENLINEAGE_API_KEY": KEY}
        servers = {
            "off": server("off", workdir, {}),
            "live": server(
                "live",
                workdir,
                {**plugin, "MODELTRAIL_PLUGIN_OPENLINEAGE_URL": receiver.url},
                "--plugin",
                "openlineage",
            ),
            "dead": server(
                "dead",
                workdir,
                {**plugin, "MODELTRAIL_PLUGIN_OPENLINEAGE_URL": f"http://127.0.0.1:{free_port()}"},
                "--plugin",
                "openlineage",
            ),
        }
        took: dict[str, dict[str, list[float]]] = {m: {"run": [], "tracked": []} for m in servers}
        writers = {m: Writer(s.url) for m, s in servers.items()}
        try:
            # One operation on each server in turn, the order rotating, so that the machine's
            # drift (other work on it) falls on the three alike.
            modes = list(servers)
            for r in range(args.rounds):
                for i in range(args.runs):
                    k = (r * args.runs + i) % len(modes)
                    for mode in modes[k:] + modes[:k]:
                        took[mode]["run"].append(writers[mode].run())
                for i in range(args.tracked):
                    k = (r * args.tracked + i) % len(modes)
                    for mode in modes[k:] + modes[:k]:
                        took[mode]["tracked"].append(writers[mode].tracked())
            t0 = time.perf_counter()
            expected = args.rounds * (args.runs * 2 + args.tracked * 8)
            while status(servers["live"].url).get("sent", 0) < expected:
                if time.perf_counter() - t0 > 300:
                    break
                time.sleep(0.05)
            lag = time.perf_counter() - t0
            counters = {m: status(servers[m].url) for m in ("live", "dead")}
        finally:
            for writer in writers.values():
                writer.close()
            for s in [*servers.values(), receiver]:
                s.stop()

    print(f"{args.rounds} rounds; per round {args.runs} runs written and {args.tracked} tracked")
    print("| workload | plugin | p50 (ms) | p95 (ms) | mean (ms) | vs off (p50) |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for workload, label in (("run", "create + finish a run"), ("tracked", "SDK run, 3 steps")):
        if not took["off"][workload]:
            continue  # this workload was not asked for
        base = ms(took["off"][workload], 50)
        for mode in servers:
            values = took[mode][workload]
            p50 = ms(values, 50)
            print(
                f"| {label} | {mode} | {p50:.1f} | {ms(values, 95):.1f} | "
                f"{statistics.mean(values) * 1000:.1f} | {p50 / base:.2f}x |"
            )
    shown = {
        m: {k: c.get(k) for k in ("sent", "failed", "retried", "dropped", "queued")}
        for m, c in counters.items()
    }
    sent = counters["live"].get("sent", 0)
    reached = "all" if sent >= expected else f"only {sent} of"
    print(f"live: {reached} {expected} events at the receiver {lag:.1f} s after the last write")
    print(json.dumps(shown))


if __name__ == "__main__":
    main()
